package actor

import (
	"errors"

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

type deadlockError struct{}

func (*deadlockError) Error() string {
	return "actor: send to own full mailbox from its handler would deadlock"
}

func (*deadlockError) Unwrap() error { return ErrMailboxFull }

// PanicError is a handler panic recovered by the actor: the value it panicked
// with and the stack of the handler goroutine, recorded as program counters
// and formatted only when Error or Stack is called. It is the same type as
// supervisor.PanicError, so one errors.As target matches panics from either.
type PanicError = panics.Error

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
