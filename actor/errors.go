package actor

import (
	"errors"
	"time"

	"github.com/troupe-go/troupe/internal/errfull"
	"github.com/troupe-go/troupe/internal/panics"
)

// Errors returned by an [Actor] and carried by a [DeadLetter]'s Reason.
var (
	// ErrMailboxFull is returned by [Actor.TrySend] when the mailbox has no
	// room, and wrapped, together with the context's error, by [Actor.Send]
	// when its context ends before room appears.
	ErrMailboxFull = errfull.Err

	// ErrStopped is returned by sends to an actor whose Run returned because
	// its context ended, until Run is called again. A Send waiting for room
	// when the actor stops returns it too. It is also the reason of a message
	// that was accepted at the very moment the actor stopped.
	ErrStopped = errors.New("actor: stopped")

	// ErrAlreadyRunning is returned by [Actor.Run] when another Run of the
	// same actor has not returned yet.
	ErrAlreadyRunning = errors.New("actor: already running")

	// ErrWouldDeadlock is returned by [Actor.Send] when it is called from
	// the actor's own handler (with the handler's context) and the mailbox is
	// full: waiting would wait for the caller itself. It wraps
	// [ErrMailboxFull].
	ErrWouldDeadlock = &deadlockError{}

	// ErrPanicked is the reason of a dead letter whose handler panicked on
	// every attempt; the reason also wraps the [*PanicError].
	ErrPanicked = errors.New("actor: handler panicked")

	// ErrDrainTimeout is the reason of a dead letter still queued when the
	// drain timeout after cancellation ran out.
	ErrDrainTimeout = errors.New("actor: not handled within the drain timeout")
)

// StuckGrace is how long, past the drain timeout, the Run of a [Keyed] or
// a [Pool] waits for the handlers that have not returned before it names
// their keys or workers in a [*StuckKeysError] or [*StuckWorkersError].
const StuckGrace = 100 * time.Millisecond

type deadlockError struct{}

func (*deadlockError) Error() string {
	return "actor: send to own full mailbox from its handler would deadlock"
}

func (*deadlockError) Unwrap() error { return ErrMailboxFull }

// PanicError is a handler panic recovered by an actor or a pool worker: the
// value the handler panicked with and the stack of its goroutine, recorded as
// program counters and formatted only when read. Its Error is one line; a
// logger gets the stack apart, as the attribute "stack".
//
// errors.As with a *supervisor.PanicError target matches a PanicError too
// (Unwrap returns that form of the same panic), so one target serves the
// panics of actors and of any other child of a supervisor.
//
// A PanicError is safe for concurrent use and must not be copied.
type PanicError struct {
	// Value is the value the handler panicked with.
	Value any

	p *panics.Error
	// dead is the reason of the dead letter of the message that panicked,
	// if it is reported: made with the PanicError, one allocation less at
	// every restart of a crash loop.
	dead panickedError
}

// newPanicError returns the PanicError of the panic p recorded.
func newPanicError(p *panics.Error) *PanicError {
	e := &PanicError{Value: p.Value, p: p}
	e.dead.errs = [2]error{ErrPanicked, e}
	return e
}

// Error returns one line: "panic: ", the value, and the frame that panicked
// in parentheses, as in
//
//	panic: runtime error: integer divide by zero (at main.divide main.go:12)
func (e *PanicError) Error() string { return e.p.Error() }

// Frame returns the frame that panicked, as "function file:line" with the
// file's base name. When the runtime panicked (a nil map write, a division by
// zero) it is the frame that made it panic.
func (e *PanicError) Frame() string { return e.p.Frame() }

// Stack returns the stack of the goroutine that panicked, one
// "function\n\tfile:line" pair per frame, starting at the frame that
// panicked. It is formatted on the first call (tens of microseconds) and
// cached.
func (e *PanicError) Stack() string { return e.p.Stack() }

// Unwrap returns the same panic as the supervisor package's PanicError,
// whose own Unwrap returns the value when it is an error: errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error { return e.p }

// DeadLetter is a message the actor accepted but will never hand to its
// handler, with the reason why. Every accepted message is either handled or
// reported as a DeadLetter, once.
type DeadLetter struct {
	// Actor is the name of the actor that accepted the message.
	Actor string
	// Msg is the message.
	Msg any
	// Reason says why the message was not handled. It matches one of
	// [ErrPanicked] (and then also wraps the [*PanicError]),
	// [ErrDrainTimeout] or [ErrStopped] with errors.Is.
	Reason error
	// Attempts is how many times the handler was called with the message.
	Attempts int
}
