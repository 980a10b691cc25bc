package actor

import (
	"context"
	"fmt"
)

// TrySend puts m in the pool's mailbox if there is room and never waits. It
// returns [ErrMailboxFull] when the mailbox is full and [ErrStopped] when the
// pool has stopped. It does not allocate.
func (p *Pool[M]) TrySend(m M) error {
	if p.state.Load() >= draining {
		return ErrStopped
	}
	select {
	case p.mbox <- m:
		p.accepted()
		return nil
	default:
		return ErrMailboxFull
	}
}

// Send puts m in the pool's mailbox, waiting for room until ctx is done.
// When ctx ends first it returns an error matching both [ErrMailboxFull] and
// ctx's error; when the pool stops (or has stopped) it returns [ErrStopped].
// Called from one of the pool's handlers with the handler's context while the
// mailbox is full, it returns [ErrWouldDeadlock] instead of waiting: if every
// worker did so, none would be left to make room. It does not allocate while
// there is room.
func (p *Pool[M]) Send(ctx context.Context, m M) error {
	if p.state.Load() >= draining {
		return ErrStopped
	}
	select {
	case p.mbox <- m:
		p.accepted()
		return nil
	default:
	}
	if self, _ := ctx.Value(selfKey{}).(*Pool[M]); self == p {
		return ErrWouldDeadlock
	}
	for {
		stop := *p.stop.Load()
		select {
		case p.mbox <- m:
			p.accepted()
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrMailboxFull, context.Cause(ctx))
		case <-stop:
			if p.state.Load() >= draining {
				return ErrStopped
			}
			// The channel of an earlier Run: a new Run has started since
			// the state was read; wait on its channel.
		}
	}
}

// Displace puts m in the pool's mailbox; when the mailbox is full it first
// removes the oldest queued message and returns it with evicted true, for the
// caller to report, as [Actor.Displace] does. It never waits and is what a
// drop-oldest policy needs.
func (p *Pool[M]) Displace(m M) (old M, evicted bool, err error) {
	if p.state.Load() >= draining {
		return old, false, ErrStopped
	}
	select {
	case p.mbox <- m:
		p.accepted()
		return old, false, nil
	default:
	}
	select {
	case old = <-p.mbox:
		evicted = true
		p.evicted.Add(1)
	default:
	}
	select {
	case p.mbox <- m:
		p.accepted()
		return old, evicted, nil
	default:
		return old, evicted, ErrMailboxFull
	}
}

// accepted accounts for a message just put in the mailbox; see
// [Actor.accepted].
func (p *Pool[M]) accepted() {
	p.wait.sent()
	if p.state.Load() == stopped {
		p.reject(ErrStopped)
	}
}

// reject reports every queued message as a dead letter with reason.
func (p *Pool[M]) reject(reason error) {
	for {
		select {
		case m := <-p.mbox:
			p.deadLetter(m, reason, 0)
		default:
			return
		}
	}
}

func (p *Pool[M]) deadLetter(m M, reason error, attempts int) {
	p.dead.Add(1)
	p.cfg.deadLetter(p.name, m, reason, attempts)
}
