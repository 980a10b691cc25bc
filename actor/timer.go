package actor

import (
	"context"
	"fmt"
	"time"
)

// A Clock tells the time to an actor's timers and to a [Keyed]'s idle
// timeout. The default is the system clock; a test injects a fake one with
// [WithClock] to drive time without sleeping (the actortest package has
// one). Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f, on a goroutine of its own choosing, once d has
	// passed, unless stop is called first. stop reports whether it
	// stopped the call.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// WithClock sets the clock of the actor's timers ([Actor.SendAfter],
// [After]) and of a [Keyed]'s idle timeout. It is meant for tests. It
// panics if c is nil.
func WithClock(c Clock) Option {
	if c == nil {
		panic("actor: WithClock: nil clock")
	}
	return func(cfg *config) { cfg.extrasToSet().clock = c }
}

// systemClock is the default [Clock].
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

func (c *config) clk() Clock {
	if c := c.extras().clock; c != nil {
		return c
	}
	return systemClock{}
}

// A Timer is a message scheduled into an actor's mailbox by
// [Actor.SendAfter], [Actor.SendEvery], their [Keyed] and [Pool]
// counterparts, or [After] and [Every] from a handler. When it fires, the
// message is put in the mailbox as TrySend would; if the mailbox is full,
// the message is reported as a dead letter with [ErrMailboxFull]. A
// timer is cancelled when its actor stops (its Run ends with its context,
// Retire, passivation or removal of its key); a key with a pending timer
// is not passivated. A Timer is safe for concurrent use.
type Timer interface {
	// Stop cancels the timer. It reports whether it did: false if the
	// timer had fired (a one-shot timer) or was stopped or cancelled.
	Stop() bool
}

// A timer is the [Timer] of a message of type M into mb.
type timer[M any] struct {
	mb    *mailbox[M]
	m     M
	every time.Duration // 0 for a one-shot timer
	// stop stops the clock's pending call; guarded by mb.mu.
	stop func() bool
}

// schedule makes a timer that puts m in mb after d, and every d after
// that if every. The timer is registered in mb, which cancels it when it
// stops; a stopped mailbox gets a timer that is already stopped, and
// registered false.
func (mb *mailbox[M]) schedule(d time.Duration, m M, every bool) (t *timer[M], registered bool) {
	if d <= 0 && every {
		panic(fmt.Sprintf("actor: SendEvery(%q): period %v is not positive", mb.name, d))
	}
	t = &timer[M]{mb: mb, m: m}
	if every {
		t.every = d
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.state.Load() == stopped {
		return t, false
	}
	if mb.timers == nil {
		mb.timers = make(map[*timer[M]]struct{})
	}
	mb.timers[t] = struct{}{}
	t.stop = mb.cfg.clk().AfterFunc(d, t.fire)
	return t, true
}

// fire puts the timer's message in the mailbox, unless the timer was
// stopped, and arms it again if it is periodic. The timer leaves the
// mailbox's pending timers under the lock that puts the message, so that a
// key is never idle (see passivateIdle) between the two.
func (t *timer[M]) fire() {
	mb := t.mb
	mb.mu.Lock()
	if _, ok := mb.timers[t]; !ok {
		mb.mu.Unlock()
		return
	}
	seq, wake, err := mb.put(t.m, nil)
	if t.every > 0 && err != ErrStopped {
		t.stop = mb.cfg.clk().AfterFunc(t.every, t.fire)
	} else {
		delete(mb.timers, t)
	}
	mb.mu.Unlock()
	mb.accepted(seq, wake)
	if err == ErrMailboxFull {
		mb.deadLetter(t.m, fmt.Errorf("timer: %w", ErrMailboxFull), 0)
	}
}

// Stop cancels the timer.
func (t *timer[M]) Stop() bool {
	mb := t.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if _, ok := mb.timers[t]; !ok {
		return false
	}
	delete(mb.timers, t)
	t.stop()
	return true
}

// cancelTimers stops the mailbox's pending timers: it stops. mb.mu is held.
func (mb *mailbox[M]) cancelTimers() {
	for t := range mb.timers {
		t.stop()
	}
	mb.timers = nil
}

// SendAfter puts m in the actor's mailbox once d has passed, as TrySend
// would; see [Timer]. The timer is cancelled if the actor stops first.
func (a *Actor[M]) SendAfter(d time.Duration, m M) Timer {
	t, _ := a.mb.schedule(d, m, false)
	return t
}

// SendEvery puts m in the actor's mailbox every d until the timer is
// stopped or the actor stops; see [Timer]. It panics if d <= 0.
func (a *Actor[M]) SendEvery(d time.Duration, m M) Timer {
	t, _ := a.mb.schedule(d, m, true)
	return t
}

// SendAfter puts m in the pool's mailbox once d has passed; see
// [Actor.SendAfter].
func (p *Pool[M]) SendAfter(d time.Duration, m M) Timer {
	t, _ := p.mb.schedule(d, m, false)
	return t
}

// SendEvery puts m in the pool's mailbox every d; see [Actor.SendEvery].
func (p *Pool[M]) SendEvery(d time.Duration, m M) Timer {
	t, _ := p.mb.schedule(d, m, true)
	return t
}

// SendAfter puts m in key's mailbox once d has passed, creating key's
// actor if there is none; see [Actor.SendAfter]. It fails as
// [Keyed.TrySend] does when the key cannot be created. The key is not
// passivated while the timer is pending.
func (kd *Keyed[K, M]) SendAfter(key K, d time.Duration, m M) (Timer, error) {
	return kd.schedule(key, d, m, false)
}

// SendEvery puts m in key's mailbox every d; see [Keyed.SendAfter] and
// [Actor.SendEvery].
func (kd *Keyed[K, M]) SendEvery(key K, d time.Duration, m M) (Timer, error) {
	return kd.schedule(key, d, m, true)
}

func (kd *Keyed[K, M]) schedule(key K, d time.Duration, m M, every bool) (Timer, error) {
	for {
		k, err := kd.lookup(key)
		if err != nil {
			return nil, err
		}
		// A key passivated or removed meanwhile: look it up again.
		if t, ok := k.mb.schedule(d, m, every); ok {
			return t, nil
		}
	}
}

// After puts m, once d has passed, in the mailbox of the actor, pool
// worker or key whose handler was called with ctx (or a context made from
// it): a handler schedules a message to itself, such as a saga's timeout.
// See [Actor.SendAfter]. It panics if ctx is not a handler's context of an
// actor of messages of type M.
func After[M any](ctx context.Context, d time.Duration, m M) Timer {
	t, _ := self[M](ctx, "After").schedule(d, m, false)
	return t
}

// Every puts m in the mailbox of the actor whose handler was called with
// ctx every d; see [After] and [Actor.SendEvery].
func Every[M any](ctx context.Context, d time.Duration, m M) Timer {
	t, _ := self[M](ctx, "Every").schedule(d, m, true)
	return t
}

func self[M any](ctx context.Context, fn string) *mailbox[M] {
	mb, ok := ctx.Value(selfKey{}).(*mailbox[M])
	if !ok {
		panic(fmt.Sprintf("actor: %s: ctx is not the context of a handler of %T messages", fn, *new(M)))
	}
	return mb
}
