package actor

import (
	"context"
	"fmt"
)

// TrySend puts m in the mailbox if there is room and never waits. It returns
// [ErrMailboxFull] when the mailbox is full and [ErrStopped] when the actor
// has stopped. It does not allocate.
func (a *Actor[M]) TrySend(m M) error {
	a.mu.Lock()
	seq, wake, err := a.put(m)
	a.mu.Unlock()
	a.accepted(seq, wake)
	return err
}

// Send puts m in the mailbox, waiting for room until ctx is done. When ctx
// ends first it returns an error matching both [ErrMailboxFull] and ctx's
// error; when the actor stops (or has stopped) it returns [ErrStopped]. Called
// from the actor's own handler with the handler's context while the mailbox
// is full, it returns [ErrWouldDeadlock] instead of waiting for itself. It does
// not allocate while there is room.
func (a *Actor[M]) Send(ctx context.Context, m M) error {
	if err := a.TrySend(m); err != ErrMailboxFull {
		return err
	}
	if self, _ := ctx.Value(selfKey{}).(*Actor[M]); self == a {
		return ErrWouldDeadlock
	}
	for {
		a.mu.Lock()
		seq, wake, err := a.put(m)
		if err != ErrMailboxFull {
			a.mu.Unlock()
			a.accepted(seq, wake)
			return err
		}
		room, stop := a.mbox.roomChan(), *a.stop.Load()
		a.mu.Unlock()
		select {
		case <-room:
		case <-stop:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrMailboxFull, context.Cause(ctx))
		}
	}
}

// Displace puts m in the mailbox; when the mailbox is full it first removes
// the oldest queued message and returns it with evicted true, for the caller
// to report: the actor does not count it as a dead letter, only as evicted.
// A message the actor has taken from the mailbox to handle is not evicted.
// It is what a drop-oldest policy needs, and never waits.
func (a *Actor[M]) Displace(m M) (old M, evicted bool, err error) {
	a.mu.Lock()
	old, evicted, seq, wake, err := a.displace(m)
	a.mu.Unlock()
	a.accepted(seq, wake)
	return old, evicted, err
}

// displace is Displace with a.mu held; it returns what put does too.
func (a *Actor[M]) displace(m M) (old M, evicted bool, seq uint64, wake bool, err error) {
	if a.state.Load() >= draining {
		return old, false, 0, false, ErrStopped
	}
	if a.mbox.full() {
		old, evicted = a.mbox.pop()
		a.evicted.Add(1)
	}
	wake = a.mbox.push(m)
	return old, evicted, a.mbox.pushed, wake, nil
}

// put puts m in the mailbox if the actor accepts messages and there is
// room. It returns m's sequence number (0 if it was not put) and whether
// the actor must be woken (see mailbox.push), for accepted. a.mu is held.
func (a *Actor[M]) put(m M) (seq uint64, wake bool, err error) {
	if a.state.Load() >= draining {
		return 0, false, ErrStopped
	}
	if a.mbox.full() {
		return 0, false, ErrMailboxFull
	}
	wake = a.mbox.push(m)
	return a.mbox.pushed, wake, nil
}

// accepted does what follows putting the message with sequence number seq
// (0 for none) in the mailbox, once the lock is released: it stamps the wait
// clock, whose reading would otherwise hold the lock for as long as a send
// takes, and wakes the actor if it must.
func (a *Actor[M]) accepted(seq uint64, wake bool) {
	a.wait.stamp(seq)
	if wake {
		a.mbox.wakeUp()
	}
}
