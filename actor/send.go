package actor

import (
	"context"
	"fmt"
)

// TrySend puts m in the mailbox if there is room and never waits. It returns
// [ErrMailboxFull] when the mailbox is full and [ErrStopped] when the actor
// has stopped. It does not allocate.
func (a *Actor[M]) TrySend(m M) error {
	if a.state.Load() >= draining {
		return ErrStopped
	}
	select {
	case a.mbox <- m:
		a.accepted()
		return nil
	default:
		return ErrMailboxFull
	}
}

// Send puts m in the mailbox, waiting for room until ctx is done. When ctx
// ends first it returns an error matching both [ErrMailboxFull] and ctx's
// error; when the actor stops (or has stopped) it returns [ErrStopped]. Called
// from the actor's own handler with the handler's context while the mailbox
// is full, it returns [ErrWouldDeadlock] instead of waiting for itself. It does
// not allocate while there is room.
func (a *Actor[M]) Send(ctx context.Context, m M) error {
	if a.state.Load() >= draining {
		return ErrStopped
	}
	select {
	case a.mbox <- m:
		a.accepted()
		return nil
	default:
	}
	if self, _ := ctx.Value(selfKey{}).(*Actor[M]); self == a {
		return ErrWouldDeadlock
	}
	for {
		stop := *a.stop.Load()
		select {
		case a.mbox <- m:
			a.accepted()
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrMailboxFull, context.Cause(ctx))
		case <-stop:
			if a.state.Load() >= draining {
				return ErrStopped
			}
			// The channel of an earlier Run: a new Run has started since
			// the state was read; wait on its channel.
		}
	}
}

// Displace puts m in the mailbox; when the mailbox is full it first removes
// the oldest queued message and returns it with evicted true, for the caller
// to report: the actor does not count it as a dead letter, only as evicted.
// When another sender takes the freed room first, it returns
// [ErrMailboxFull] and m was not accepted. It is what a drop-oldest policy
// needs, and never waits.
func (a *Actor[M]) Displace(m M) (old M, evicted bool, err error) {
	if a.state.Load() >= draining {
		return old, false, ErrStopped
	}
	select {
	case a.mbox <- m:
		a.accepted()
		return old, false, nil
	default:
	}
	select {
	case old = <-a.mbox:
		evicted = true
		a.evicted.Add(1)
	default:
	}
	select {
	case a.mbox <- m:
		a.accepted()
		return old, evicted, nil
	default:
		return old, evicted, ErrMailboxFull
	}
}

// accepted accounts for a message just put in the mailbox. If the actor
// stopped between the state check and the put, nobody is left to handle the
// message: report it (and anything else that raced in) as a dead letter.
func (a *Actor[M]) accepted() {
	a.wait.sent()
	if a.state.Load() == stopped {
		a.reject(ErrStopped)
	}
}
