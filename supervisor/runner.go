package supervisor

import (
	"context"
	"runtime/pprof"

	"github.com/troupe-go/troupe/internal/panics"
)

// Runner is anything a [Supervisor] can run: an actor, a server, another
// supervisor.
//
// Run blocks until the work is done. It must return soon after ctx is done:
// the supervisor waits for it only for the child's shutdown timeout, then
// abandons it and reports it in a [ShutdownError]. Returning nil or
// [context.Canceled] is a normal exit; any other error, or a panic, is a
// failure. A Runner may be run again after Run returned, which is how
// restarts happen, so state that must survive a restart (an actor's mailbox)
// belongs to the Runner, not to one call of Run.
type Runner interface {
	Run(ctx context.Context) error
}

// A Retirer is a [Runner] that wants to know when its supervisor will not
// run it again, so that it can release what it keeps between runs. An actor
// is one: its mailbox outlives a Run so that a restart finds the queued
// messages, and when no restart will come, Retire reports them as dead
// letters instead of leaving them stranded.
//
// The supervisor calls Retire, never while the child's Run is executing,
// when the child exited for good (a Temporary child, or a Transient one
// that exited normally), when a Temporary child is stopped by a sibling's
// restart, when [Supervisor.Remove] removed it, and, when the supervisor's
// Run ends, for every child but those abandoned after ignoring their
// shutdown timeout. A child may be retired more than once, and run again
// after Retire: when the supervisor is run again, or, for a Transient
// child, when a sibling's failure restarts its group (as in OTP 25). A Runner that wraps
// another (to count or log its Runs) must pass Retire on, or the wrapped
// actor's queue is stranded after a crash; a [RunnerFunc] does not.
type Retirer interface {
	Retire()
}

// retireRunner tells c's runner that it will not be run again.
func retireRunner(c *child) {
	if r, ok := c.runner.(Retirer); ok {
		r.Retire()
	}
}

// RunnerFunc adapts an ordinary function to a [Runner].
type RunnerFunc func(ctx context.Context) error

// Run calls f(ctx).
func (f RunnerFunc) Run(ctx context.Context) error { return f(ctx) }

// PanicError is the failure of a child whose Run panicked: the panic value
// and the stack of the goroutine that panicked, formatted only when read. Its
// Error is one line (the value and the panicking frame); the supervisor logs
// the stack apart, as the attribute "stack". An actor's *actor.PanicError
// unwraps to this type, so one errors.As target serves both.
type PanicError = panics.Error

// pathLabel is the pprof label carrying a child's path in the tree. It is
// also how a nested supervisor learns where it sits.
const pathLabel = "troupe.path"

// Path returns the path in the supervision tree ("root/workers/email") of the
// child whose Run received ctx, or "" outside a supervisor. The same path is
// set as the pprof label "troupe.path" of the child's goroutine, so a
// goroutine profile shows which child each goroutine belongs to.
func Path(ctx context.Context) string {
	p, _ := pprof.Label(ctx, pathLabel)
	return p
}

// call runs r, turning a panic into a *PanicError.
func call(ctx context.Context, r Runner) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panics.New(v, 0)
		}
	}()
	return r.Run(ctx)
}
