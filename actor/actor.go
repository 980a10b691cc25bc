package actor

import (
	"context"
	"fmt"
	"reflect"
	"runtime/pprof"
	"time"
)

// A Handler handles one message. It is called on the actor's goroutine, one
// message at a time, in the order the messages were accepted. A returned error
// is reported to the error hook and the actor goes on with the next message; a
// panic ends [Actor.Run] with a [*PanicError].
//
// The context is cancelled when the actor's Run context is, except while the
// actor drains its mailbox after cancellation, when it carries the drain
// deadline instead.
type Handler[M any] func(ctx context.Context, msg M) error

// An Actor owns a bounded mailbox of messages of type M and handles them one
// at a time, in order, on the goroutine that calls [Actor.Run].
//
// The mailbox belongs to the Actor, not to one Run: a supervisor restarting
// the actor after a panic calls Run again and the messages queued before the
// crash are handled then. An Actor is safe for concurrent use: any number of
// goroutines may send to it while it runs. It must not be copied.
//
// The mailbox is a queue guarded by a mutex, not a channel: the actor takes
// up to 32 messages from it at a time, with one lock, and handles them from
// its hand, so a message costs senders and the actor less than a channel
// send and receive. The messages in hand have left the mailbox, as a
// message received from a channel has: while the actor works through them,
// senders may fill the mailbox again. So up to the mailbox size plus 32
// accepted messages wait for the handler; [Actor.Len] counts them all, and
// the one the handler is working on.
type Actor[M any] struct {
	mb  mailbox[M]
	cfg config
	// l is the actor's one loop, run by Run's goroutine.
	l loop[M]
	// factory, for an actor made by [NewFrom], makes the handler at the
	// start of every Run.
	factory func() Handler[M]

	// runCtx is the context of the Run in progress or of the last one,
	// if it crashed, and hctx the handler's context made from it (see
	// handlerCtx). Only Run touches them.
	runCtx context.Context
	hctx   *actorContext[M]
	// refusal makes the mailbox refuse messages when the Run's context
	// ends (see Run). Only Run touches it.
	refusal refusal
}

// New returns an actor named name that handles messages with h. It panics if
// name is empty or h is nil: those are programmer errors, like a nil handler
// given to net/http.
func New[M any](name string, h Handler[M], opts ...Option) *Actor[M] {
	if name == "" {
		panic("actor: New: empty name")
	}
	if h == nil {
		panic(fmt.Sprintf("actor: New(%q): nil handler", name))
	}
	a := &Actor[M]{}
	a.cfg.init(opts)
	a.init(name, h)
	return a
}

// NewFrom returns an actor named name whose handler is made by factory at
// the start of every Run: at the first Run, and again at every restart after
// a panic, so that state kept in the handler's closure starts fresh each
// time, as an Erlang process starts from init. Use New for a handler that
// keeps no state between messages, or whose state must survive a crash;
// use NewFrom when a panic may have left the state half-updated.
//
// The queued messages, unlike the handler, survive the restart, as with
// [New]. If factory panics or returns nil, Run returns an error (a
// [*PanicError] for a panic) without handling any message, and the queued
// messages wait for the next Run. NewFrom panics if name is empty or
// factory is nil.
func NewFrom[M any](name string, factory func() Handler[M], opts ...Option) *Actor[M] {
	if name == "" {
		panic("actor: NewFrom: empty name")
	}
	if factory == nil {
		panic(fmt.Sprintf("actor: NewFrom(%q): nil factory", name))
	}
	a := &Actor[M]{factory: factory}
	a.cfg.init(opts)
	a.init(name, nil)
	return a
}

// init sets up a new actor's mailbox and loop, h its handler (nil for
// NewFrom's).
func (a *Actor[M]) init(name string, h Handler[M]) {
	a.mb.init(name, &a.cfg)
	a.l.init(&a.mb, h, -1, batchSize)
	a.l.doneWakes = true
	// The room for the loop in the list of parked loops, made here on the
	// goroutine that makes the actor rather than by the first park, deep
	// in Run (see TestIdleActorStack).
	a.mb.parked = make([]*loop[M], 0, 1)
}

// Name returns the name given to [New] or [NewFrom].
func (a *Actor[M]) Name() string { return a.mb.name }

// Run handles messages until ctx is done or the handler panics.
//
// When ctx is done, the actor stops accepting messages (sends return
// [ErrStopped]), handles what is queued for up to the drain timeout, reports
// what is left as dead letters and returns nil. When the handler panics, Run
// returns a [*PanicError] at once and the queued messages wait for the next
// Run; once ctx is done, a panic no longer cuts the stop short: the actor
// drains as above and Run returns the [*PanicError]. Only one Run may be
// active at a time; another returns [ErrAlreadyRunning].
//
// The goroutine carries the pprof label "troupe.actor" with the actor's name
// while it runs, beside any labels in ctx (a supervisor adds the actor's path
// in the tree as "troupe.path").
func (a *Actor[M]) Run(ctx context.Context) error {
	// An idle actor costs only the 2 KB stack a goroutine starts with as
	// long as nothing on the way to its first park needs more, and the
	// runtime's own paths under the calls made here (an allocation that
	// refills its cache, a lock under contention) take most of that. So
	// Run keeps its own frame, which stays on the stack while the actor
	// waits, small, and the rest of its setup and its teardown out of line
	// (see TestIdleActorStack).
	if err := a.start(); err != nil {
		return err
	}
	// Refuse new messages as soon as ctx ends, even while the handler is
	// busy, and wake the senders waiting for room. end waits for the
	// refusal if it has started, so that it never lands on a later Run.
	a.refusal.arm(ctx, a.refuse)
	hctx := a.handlerCtx(ctx)
	pprof.SetGoroutineLabels(hctx)
	perr, _ := a.l.serve(hctx)
	return a.end(ctx, hctx, perr)
}

// start moves the mailbox to running, unless a Run is active, and makes the
// handler of an actor made by [NewFrom].
//
//go:noinline
func (a *Actor[M]) start() error {
	if !a.mb.start() {
		return fmt.Errorf("%w: %s", ErrAlreadyRunning, a.mb.name)
	}
	a.l.halt.Store(false)
	if a.factory != nil {
		h, err := makeHandler(a.factory)
		if err != nil {
			a.mb.state.Store(idle)
			return err
		}
		a.l.setHandler(h)
	}
	return nil
}

// refuse is what Run has called when the Run's context ends: the
// mailbox refuses messages from then on, and the loop, if it waits for one,
// is woken to see that the context ended.
func (a *Actor[M]) refuse() {
	a.mb.refuse()
	a.l.wakeUp()
	a.refusal.done()
}

// end ends a Run with ctx whose serve returned perr: a crash returns perr
// at once and leaves the queue for the next Run; a stop drains the mailbox
// with hctx's values and the drain timeout, and reports what is left.
// Either way the goroutine gets ctx's labels back.
//
//go:noinline
func (a *Actor[M]) end(ctx, hctx context.Context, perr *PanicError) error {
	defer pprof.SetGoroutineLabels(ctx)
	stopped := a.refusal.disarm()
	var err error
	if perr != nil {
		// A panic after ctx ended is part of the stop, even if the
		// refusal had not run yet (the context sets its error before it
		// starts its AfterFuncs): the actor drains, as a Pool and a Keyed
		// do.
		if stopped && ctx.Err() == nil {
			// A crash, not a stop: the queue waits for the next Run.
			a.mb.state.Store(idle)
			return perr
		}
		err = perr
	}
	if stopped {
		a.mb.refuse()
	}
	dctx, cancel := a.mb.drainCtx(hctx)
	a.l.drain(dctx)
	cancel()
	a.mb.finish([]*loop[M]{&a.l})
	a.runCtx, a.hctx = nil, nil
	return err
}

// handlerCtx returns the context the handler is called with in a Run with
// ctx: ctx with the actor's pprof label, marked as the actor's own (see
// Send). A supervisor restarts a crashed child with the context it ran it
// with, so the last one is kept until a Run ends other than by a crash, and
// reused: a restart costs no allocations for it.
//
//go:noinline
func (a *Actor[M]) handlerCtx(ctx context.Context) context.Context {
	if a.hctx != nil && reflect.TypeOf(ctx).Comparable() && ctx == a.runCtx {
		return a.hctx
	}
	a.runCtx = ctx
	a.hctx = &actorContext[M]{pprof.WithLabels(ctx, pprof.Labels("troupe.actor", a.mb.name)), &a.mb}
	return a.hctx
}

// actorContext is the context an actor's handler is called with: the
// Run's context with the actor's pprof label, marked with the actor's
// mailbox (see Send's deadlock check). It takes 24 bytes where
// context.WithValue takes 48, and it stays allocated while the actor
// waits for a message.
type actorContext[M any] struct {
	context.Context
	mb *mailbox[M]
}

// Value returns the actor's mailbox for selfKey, and otherwise the Run's
// context's value.
func (c *actorContext[M]) Value(key any) any {
	if _, ok := key.(selfKey); ok {
		return c.mb
	}
	return c.Context.Value(key)
}

// Retire stops for good an actor that no Run is using: sends fail with
// [ErrStopped] from now on, and every message accepted and not handled
// (queued, taken from the mailbox, or kept for a retry after a panic) is
// reported as a dead letter with [ErrStopped]. A supervisor calls it (it
// implements supervisor.Retirer) when it will not run the actor again, for
// instance after giving up, so that a crashed actor's queue is not left
// stranded. While a Run is active Retire does nothing: that Run's end
// reports what it leaves. Run may be called again after Retire.
func (a *Actor[M]) Retire() { a.mb.retire([]*loop[M]{&a.l}, ErrStopped) }

// TrySend puts m in the mailbox if there is room and never waits. It returns
// [ErrMailboxFull] when the mailbox is full and [ErrStopped] when the actor
// has stopped. It does not allocate.
func (a *Actor[M]) TrySend(m M) error { return a.mb.trySend(m, nil) }

// Offer is [Actor.TrySend] with the sender's context: it puts m in the
// mailbox if there is room and never waits, whatever ctx, whose values only
// count: what the [Propagator] extracts from them travels with m to the
// handler's context. It is what the bus calls (bus.Inbox). It does not
// allocate unless the propagator does.
func (a *Actor[M]) Offer(ctx context.Context, m M) error {
	return a.mb.trySend(m, a.cfg.extract(ctx))
}

// Send puts m in the mailbox, waiting for room until ctx is done. When ctx
// ends first it returns an error matching both [ErrMailboxFull] and ctx's
// error; when the actor stops (or has stopped) it returns [ErrStopped]. Called
// from the actor's own handler with the handler's context while the mailbox
// is full, it returns [ErrWouldDeadlock] instead of waiting for itself. It does
// not allocate while there is room.
func (a *Actor[M]) Send(ctx context.Context, m M) error { return a.mb.send(ctx, m) }

// Displace puts m in the mailbox; when the mailbox is full it first removes
// the oldest queued message and returns it with evicted true, for the caller
// to report: the actor does not count it as a dead letter, only as evicted.
// A message the actor has taken from the mailbox to handle is not evicted.
// It is what a drop-oldest policy needs, and never waits, whatever ctx,
// whose values only count (see [Actor.Offer]).
func (a *Actor[M]) Displace(ctx context.Context, m M) (old M, evicted bool, err error) {
	return a.mb.displace(ctx, m)
}

// Stats is a snapshot of an actor's counters.
type Stats struct {
	// Name is the actor's name.
	Name string
	// Queued is the number of messages accepted and not handled yet (see
	// [Actor.Len]); Capacity is the mailbox's size.
	Queued, Capacity int
	// Handled counts messages the handler returned nil for; Failed those it
	// returned an error for; Panics the handler panics.
	Handled, Failed, Panics uint64
	// DeadLetters counts messages reported as dead letters; DeadLettersBy
	// splits them by reason.
	DeadLetters   uint64
	DeadLettersBy DeadLetterCounts
	// Evicted counts messages removed unhandled by [Actor.Displace] (the
	// caller reports them).
	Evicted uint64
	// OldestWait is how long the message at the head of the mailbox has been
	// waiting, to within the time it took to accept 16 messages (see
	// waitClock); zero when the mailbox is empty.
	OldestWait time.Duration
	// Running reports whether a Run is active.
	Running bool
}

// Stats returns a snapshot of the actor's counters. The counters are read
// one by one while the actor may be running, so they are individually exact
// but not a single atomic snapshot.
func (a *Actor[M]) Stats() Stats { return a.mb.stats([]*loop[M]{&a.l}) }

// Len returns the number of messages accepted and not handled yet: those in
// the mailbox, those the actor has taken from it, and the one its handler
// is working on, if any. A message kept for a retry after a panic is not
// counted.
func (a *Actor[M]) Len() int { return a.Stats().Queued }

// Cap returns the size of the mailbox.
func (a *Actor[M]) Cap() int { return a.mb.q.size }
