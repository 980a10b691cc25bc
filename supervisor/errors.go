package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"time"
)

// ErrTooManyRestarts is matched (errors.Is) by the error [Supervisor.Run]
// returns when its children needed more restarts within the window than
// [WithIntensity] allows. The same error also wraps the last failure, so
// errors.Is and errors.As reach it (a *[PanicError], say).
var ErrTooManyRestarts = errors.New("supervisor: too many restarts")

// ErrRunning is returned by [Supervisor.Run] when the supervisor is already
// running.
var ErrRunning = errors.New("supervisor: already running")

// ErrStopping is returned by [Supervisor.Add] and [Supervisor.Remove] while
// the supervisor's Run is stopping its children: it no longer changes them.
var ErrStopping = errors.New("supervisor: stopping")

// ErrUnknownChild is returned by [Supervisor.Remove] for a name that no
// child of the supervisor has.
var ErrUnknownChild = errors.New("supervisor: unknown child")

// ErrDuplicateChild is returned by [Supervisor.Add] for a name already taken
// by another child of the same supervisor.
var ErrDuplicateChild = errors.New("supervisor: duplicate child name")

// ShutdownError names the children, anywhere in the tree, that did not return
// within their shutdown timeout after their context was cancelled. Run does
// not wait for them past the timeout: their goroutines are abandoned, still
// running, and they are the one exception to the rule that no goroutine of a
// supervisor outlives its Run. A nested supervisor's stuck children are
// passed up, so the root's error lists every one of them.
//
// [Supervisor.Run] returns it alone after a shutdown, or joined with its
// other error (errors.As finds it either way).
type ShutdownError struct {
	// Stuck lists the abandoned children in the order they were abandoned.
	Stuck []StuckChild
}

// StuckChild is a child that did not stop in time.
type StuckChild struct {
	// Path is the child's path in the tree, such as "root/workers/email".
	Path string
	// Timeout is the shutdown timeout the child exceeded.
	Timeout time.Duration
	// Stack holds the goroutine profile entries (pprof debug=1 format) of
	// the goroutines labelled with the child's path when it was abandoned:
	// where it is stuck.
	Stack string
}

// Error names the abandoned children; their stacks are in [ShutdownError.Stuck].
func (e *ShutdownError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "supervisor: %d children did not stop in time and were abandoned:", len(e.Stuck))
	for i, s := range e.Stuck {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s (after %v)", s.Path, s.Timeout)
	}
	return b.String()
}

// stacks returns the goroutine profile records labelled with path.
func stacks(path string) string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return ""
	}
	label := fmt.Sprintf("%q:%q", pathLabel, path)
	var b strings.Builder
	for rec := range strings.SplitSeq(buf.String(), "\n\n") {
		if strings.Contains(rec, label) {
			b.WriteString(rec)
			b.WriteString("\n\n")
		}
	}
	return b.String()
}
