// Package panics captures a recovered panic as an error whose stack is
// recorded as program counters and formatted only when it is read.
//
// Capturing program counters costs a fraction of a microsecond; formatting the
// stack text (what debug.Stack does eagerly) costs tens of microseconds, so it
// is deferred until [Error.Stack] is called, or a log handler writes the
// attribute [StackAttr] returns. [Error.Error] is one line: the value and the
// panicking frame.
package panics

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
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

	pcs  []uintptr // buf[:n]
	buf  [maxDepth]uintptr
	once sync.Once
	text string

	frameOnce sync.Once
	frame     string

	siteOnce sync.Once
	site     Site
}

// New records the value of a panic and the stack of the calling goroutine.
// It must be called from the deferred function that recovered the panic;
// that function and the runtime's panic frames are left out of the stack, as
// are skip more frames above them.
func New(value any, skip int) *Error {
	// The buffer is part of the Error, so a panic costs one allocation; on
	// the stack it would often make the panicking goroutine's stack grow,
	// which costs more than the allocation.
	e := &Error{Value: value}
	// 3 skips runtime.Callers, New and the deferred function calling New.
	n := runtime.Callers(3+skip, e.buf[:])
	e.pcs = e.buf[:n:n]
	return e
}

// Error returns one line: "panic: ", the panic value and, in parentheses,
// the panicking frame (see [Error.Frame]). A value whose text spans lines is
// quoted. The stack is left to [Error.Stack].
func (e *Error) Error() string {
	v := fmt.Sprint(e.Value)
	if strings.ContainsAny(v, "\r\n") {
		v = strconv.Quote(v)
	}
	if f := e.Frame(); f != "" {
		return "panic: " + v + " (at " + f + ")"
	}
	return "panic: " + v
}

// Frame returns the frame that panicked, as "function file:line" with the
// file's base name, or "" if no frame was recorded. The runtime's own frames
// (a nil map write, a division by zero) are skipped: the frame is the code
// that made the runtime panic.
func (e *Error) Frame() string {
	e.frameOnce.Do(func() {
		frames := runtime.CallersFrames(e.pcs)
		for {
			f, more := frames.Next()
			if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") {
				e.frame = f.Function + " " + filepath.Base(f.File) + ":" + strconv.Itoa(f.Line)
				return
			}
			if !more {
				return
			}
		}
	})
	return e.frame
}

// Site is where a panic happened: the function and line of the frame that
// panicked (the one [Error.Frame] names). It is comparable, for use as a
// map key.
type Site struct {
	Function string
	Line     int
}

// Site returns the site of the panic, or the zero Site if no frame was
// recorded: two panics have the same site when the same statement panicked,
// whatever called it, inlined or not. It formats nothing, so a logger can
// tell a panic seen before without formatting its stack. It is computed on
// the first call and cached: an actor's log and its supervisor's both ask
// for it.
func (e *Error) Site() Site {
	e.siteOnce.Do(func() {
		for _, pc := range e.pcs {
			if s, ok := siteOf(pc); ok {
				e.site = s
				return
			}
		}
	})
	return e.site
}

// sites caches the site of each program counter looked up, and whether it
// is in the runtime's own code: looking a frame up costs more than the rest
// of logging a restart, and a crash loop panics at the same place each
// time. Program counters are code locations, so the cache is bounded by the
// size of the program's code, and in practice by the few places that
// panic.
var sites struct {
	sync.Mutex
	m map[uintptr]pcSite
}

type pcSite struct {
	site    Site
	runtime bool // a frame of the runtime, not a site
}

// siteOf returns the site of the return address pc, and false if pc is in
// the runtime's own code or unknown.
func siteOf(pc uintptr) (Site, bool) {
	sites.Lock()
	c, ok := sites.m[pc]
	sites.Unlock()
	if !ok {
		// pc is a return address: pc-1 is in the call (see runtime.Frame).
		f := runtime.FuncForPC(pc - 1)
		c.runtime = f == nil || strings.HasPrefix(f.Name(), "runtime.")
		if !c.runtime {
			_, line := f.FileLine(pc - 1)
			c.site = Site{Function: f.Name(), Line: line}
		}
		sites.Lock()
		if sites.m == nil {
			sites.m = make(map[uintptr]pcSite)
		}
		sites.m[pc] = c
		sites.Unlock()
	}
	return c.site, !c.runtime
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

// StackAttr returns the attribute "stack" holding the stack of the panic in
// err's tree (an [*Error] found by errors.As), formatted only if a log
// handler writes it, and false if err holds no panic. Logging a panic as
// "error", err and then this attribute writes the one-line error and the
// stack apart.
func StackAttr(err error) (slog.Attr, bool) {
	e := Find(err)
	if e == nil {
		return slog.Attr{}, false
	}
	return slog.Any("stack", stackValue{e}), true
}

// Find returns the [*Error] in err's tree, as errors.As would find it
// through Unwrap, or nil. Unlike errors.As it costs no allocation, which
// matters on a restart's path; it does not call As methods.
func Find(err error) *Error {
	for err != nil {
		switch x := err.(type) {
		case *Error:
			return x
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range x.Unwrap() {
				if e := Find(err); e != nil {
					return e
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// stackValue formats a panic's stack when a log handler asks for it.
type stackValue struct{ e *Error }

func (v stackValue) LogValue() slog.Value { return slog.StringValue(v.e.Stack()) }
