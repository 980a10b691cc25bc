// Package panics captures a recovered panic as an error whose stack is
// recorded as program counters and formatted only when it is read.
//
// Capturing program counters costs a fraction of a microsecond; formatting the
// stack text (what debug.Stack does eagerly) costs tens of microseconds, so it
// is deferred until [Error.Stack] or [Error.Error] is called.
package panics

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// maxDepth bounds the number of frames recorded for a panic.
const maxDepth = 64

// Error is a panic recovered from a goroutine, with the stack of the
// goroutine at the point of the panic. It is safe for concurrent use once
// created and must not be copied after first use.
type Error struct {
	// Value is the value the code panicked with.
	Value any

	pcs  []uintptr
	once sync.Once
	text string
}

// New records the value of a panic and the stack of the calling goroutine.
// It must be called from the deferred function that recovered the panic;
// that function and the runtime's panic frames are left out of the stack, as
// are skip more frames above them.
func New(value any, skip int) *Error {
	// The buffer is on the heap: on the stack it would often make the
	// panicking goroutine's stack grow, which costs more than the allocation.
	pcs := make([]uintptr, maxDepth)
	// 3 skips runtime.Callers, New and the deferred function calling New.
	n := runtime.Callers(3+skip, pcs)
	return &Error{Value: value, pcs: pcs[:n:n]}
}

// Error returns the panic value followed by the formatted stack.
func (e *Error) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack())
}

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *Error) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// Stack returns the stack of the panicking goroutine, one "function\n\tfile:line"
// pair per frame, starting at the frame that panicked. It is formatted on the
// first call and cached.
func (e *Error) Stack() string {
	e.once.Do(func() {
		var b strings.Builder
		frames := runtime.CallersFrames(e.pcs)
		for {
			f, more := frames.Next()
			// Leave out the runtime's own panic machinery above the
			// panicking frame.
			if !strings.HasPrefix(f.Function, "runtime.") || b.Len() > 0 {
				fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
			}
			if !more {
				break
			}
		}
		e.text = b.String()
	})
	return e.text
}
