package actor

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/panics"
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

// Run states.
const (
	idle     int32 = iota // never run or between runs after a panic: sends are queued
	running               // Run is handling messages
	draining              // Run's context ended; it handles what is queued: sends fail
	stopped               // Run returned after its context ended: sends fail with ErrStopped
)

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
	name    string
	handler Handler[M]
	cfg     config
	// asks is set when M is a Request, whose handler must reply.
	asks bool

	// gate holds the Run state, read on every send; its mutex also guards
	// the mailbox.
	gate
	mbox mailbox[M]
	wait waitClock

	// The fields below are the running goroutine's: it takes messages from
	// the mailbox into batch and handles them from batch[next]. They are
	// kept between Runs (which never overlap) and touched by another
	// goroutine only when no Run is active. They sit on cache lines of their
	// own, so that senders and the handling goroutine do not invalidate
	// each other's lines on every message.
	_     [64]byte
	batch []M
	next  int
	// progress counts, in one word so that a message costs one atomic
	// add, the messages handled (above heldBits) and the messages taken
	// from the mailbox and not done with yet (below), for Len and Stats.
	progress atomic.Uint64
	// inHand is set while the message handed out by nextHeld is still
	// counted as held in progress.
	inHand bool
	// pending is a message whose handler panicked and that is to be retried
	// first thing in the next Run.
	pending    M
	hasPending bool
	attempts   int
	failed     atomic.Uint64
	panicked   atomic.Uint64
	dead       atomic.Uint64
	evicted    atomic.Uint64
	// runCtx is the context of the Run in progress or of the last one,
	// if it crashed, and hctx the handler's context made from it (see
	// handlerCtx).
	runCtx, hctx context.Context
	_            [64]byte
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
	a := &Actor[M]{name: name, handler: h, cfg: newConfig(opts)}
	a.mbox.init(a.cfg.mailbox)
	_, a.asks = any(*new(M)).(abandoner)
	a.wait.init(a.cfg.mailbox)
	a.gate.init()
	return a
}

// Name returns the name given to [New].
func (a *Actor[M]) Name() string { return a.name }

// Run handles messages until ctx is done or the handler panics.
//
// When ctx is done, the actor stops accepting messages (sends return
// [ErrStopped]), handles what is queued for up to the drain timeout, reports
// what is left as dead letters and returns nil. When the handler panics, Run
// returns a [*PanicError] at once and the queued messages wait for the next
// Run. Only one Run may be active at a time; another returns
// [ErrAlreadyRunning].
//
// The goroutine carries the pprof label "troupe.actor" with the actor's name
// while it runs, beside any labels in ctx (a supervisor adds the actor's path
// in the tree as "troupe.path").
func (a *Actor[M]) Run(ctx context.Context) (err error) {
	if !a.start() {
		return fmt.Errorf("%w: %s", ErrAlreadyRunning, a.name)
	}
	// Refuse new messages as soon as ctx ends, even while the handler is
	// busy, and wake the senders waiting for room.
	refused := make(chan struct{})
	stopRefuse := context.AfterFunc(ctx, func() {
		a.refuse()
		close(refused)
	})
	hctx := a.handlerCtx(ctx)
	pprof.SetGoroutineLabels(hctx)
	defer pprof.SetGoroutineLabels(ctx)
	if perr := a.loop(hctx); perr != nil {
		a.panicked.Add(1)
		if stopRefuse() {
			// A crash, not a stop: the queue waits for the next Run.
			a.state.Store(idle)
			return perr
		}
		err = perr
	}
	if stopRefuse() {
		a.refuse()
	} else {
		<-refused
	}
	a.shutdown(hctx)
	a.runCtx, a.hctx = nil, nil
	return err
}

// handlerCtx returns the context the handler is called with in a Run with
// ctx: ctx with the actor's pprof label, marked as the actor's own (see
// Send). A supervisor restarts a crashed child with the context it ran it
// with, so the last one is kept until a Run ends other than by a crash, and
// reused: a restart costs no allocations for it.
func (a *Actor[M]) handlerCtx(ctx context.Context) context.Context {
	if a.hctx != nil && reflect.TypeOf(ctx).Comparable() && ctx == a.runCtx {
		return a.hctx
	}
	a.runCtx = ctx
	a.hctx = context.WithValue(pprof.WithLabels(ctx, pprof.Labels("troupe.actor", a.name)), selfKey{}, a)
	return a.hctx
}

// Retire stops for good an actor that no Run is using: sends fail with
// [ErrStopped] from now on, and every queued message, and a message kept for a
// retry after a panic, is reported as a dead letter with [ErrStopped]. A
// supervisor calls it (it implements supervisor.Retirer) when it will not run
// the actor again, for instance after giving up, so that a crashed actor's
// queue is not left stranded. While a Run is active Retire does nothing:
// that Run's end reports what it leaves. Run may be called again after
// Retire.
func (a *Actor[M]) Retire() {
	// The messages are collected under the gate's lock, so that no Run
	// starts meanwhile, and reported after it, so that a dead-letter hook
	// may send to the actor.
	var left []M
	var pending M
	hasPending, attempts := false, 0
	a.retire(func() {
		if a.hasPending {
			pending, hasPending, attempts = a.pending, true, a.attempts
			a.clearPending()
		}
		for m, ok := a.nextHeld(); ok; m, ok = a.nextHeld() {
			a.letGo()
			left = append(left, m)
		}
		for m, ok := a.mbox.pop(); ok; m, ok = a.mbox.pop() {
			left = append(left, m)
		}
	})
	if hasPending {
		a.deadLetter(pending, errRetiredPending, attempts)
	}
	for _, m := range left {
		a.deadLetter(m, ErrStopped, 0)
	}
}

// errRetiredPending is the reason of a message kept for a retry when the
// actor is stopped instead.
var errRetiredPending = fmt.Errorf("%w before its retry: %w", ErrStopped, ErrPanicked)

// selfKey marks the context a handler is called with, so that Send can tell
// it is called from the actor's own goroutine.
type selfKey struct{}

// loop handles messages until ctx is done (nil) or the handler panics. One
// deferred recover covers the whole loop, so handling a message costs no
// defer.
func (a *Actor[M]) loop(ctx context.Context) (perr *PanicError) {
	var cur M
	retry := false
	defer func() {
		if v := recover(); v != nil {
			perr = panics.New(v, 0)
			a.onPanic(cur, retry, perr)
		}
	}()
	if a.hasPending {
		cur, retry = a.pending, true
		a.clearPending()
		a.handle(ctx, cur)
		retry = false
	}
	done := ctx.Done()
	spins := maxSpins
	for {
		if a.next == len(a.batch) && !a.refill(&spins, done) {
			return nil
		}
		cur, _ = a.nextHeld()
		a.handle(ctx, cur)
		select {
		case <-done:
			return nil // the drain handles the rest, with its own context
		default:
		}
	}
}

// refill takes the next batch of messages from the mailbox, waiting while
// it is empty: it polls it, yields to the goroutines this one woke (one of
// them is often about to send the next message), then parks. It reports
// false when done closed first.
func (a *Actor[M]) refill(spins *int, done <-chan struct{}) bool {
	if a.take(false) {
		return true
	}
	if *spins > 0 {
		for range *spins * pollsPerSpin {
			if a.mbox.ready.Load() && a.take(false) {
				*spins = min(2**spins, maxSpins)
				return true
			}
		}
		*spins /= 2
	}
	runtime.Gosched()
	for !a.take(true) {
		select {
		case <-done:
			a.mu.Lock()
			a.mbox.parked = false
			a.mu.Unlock()
			return false
		case <-a.mbox.wake:
			*spins = max(*spins, 1)
		}
	}
	return true
}

// maxSpins is the most rounds of polls of an empty mailbox before the actor
// parks. Parking and being woken by the next send costs several times a
// send, and a sender that keeps the actor busy usually delivers within a
// few polls; but polling in vain takes a core from the goroutines that
// would send. So the number adapts: it doubles each time polling found a
// message and halves each time it did not, down to one round after the
// actor had to park.
const (
	maxSpins     = 64
	pollsPerSpin = 8
)

// take moves the next messages from the mailbox to the batch, which must
// be used up. When the mailbox is empty it reports false, and with park
// marks the actor parked, to be woken by the next send.
func (a *Actor[M]) take(park bool) bool {
	clear(a.batch)
	if a.batch == nil {
		a.batch = make([]M, min(batchSize, a.mbox.size))
	}
	a.batch = a.batch[:cap(a.batch)]
	a.mu.Lock()
	k := a.mbox.take(a.batch)
	if k == 0 && park {
		a.mbox.parked = true
	}
	a.mu.Unlock()
	a.batch, a.next = a.batch[:k], 0
	a.progress.Add(uint64(k))
	return k > 0
}

// heldBits is the width of the count of held messages in progress: at
// most batchSize.
const heldBits = 8

// nextHeld returns the next message taken from the mailbox and not handled
// yet, if any. The message stays counted as held until it is handled or
// let go.
func (a *Actor[M]) nextHeld() (m M, ok bool) {
	if a.next == len(a.batch) {
		return m, false
	}
	m = a.batch[a.next]
	a.batch[a.next] = *new(M)
	a.next++
	a.inHand = true
	return m, true
}

// letGo stops counting the message nextHeld handed out as held, when it
// leaves other than by being handled.
func (a *Actor[M]) letGo() {
	if a.inHand {
		a.inHand = false
		a.progress.Add(^uint64(0))
	}
}

// handle calls the handler with m, and counts m as handled or failed.
func (a *Actor[M]) handle(ctx context.Context, m M) {
	err := a.handler(ctx, m)
	if err != nil {
		a.failed.Add(1)
		a.letGo()
		a.reportError(ctx, m, err)
		return
	}
	d := uint64(1) << heldBits
	if a.inHand {
		a.inHand = false
		d--
	}
	a.progress.Add(d)
	if a.asks {
		// A request the handler did not answer must not leave Ask waiting.
		any(m).(abandoner).abandon(ErrNoReply)
	}
}

func (a *Actor[M]) clearPending() {
	var zero M
	a.pending, a.hasPending = zero, false
}

// onPanic decides the fate of the message in hand when the handler panicked:
// kept for a retry in the next Run, or reported as a dead letter.
func (a *Actor[M]) onPanic(m M, retry bool, perr *PanicError) {
	a.letGo()
	if !retry {
		a.attempts = 0
	}
	a.attempts++
	a.cfg.logPanic(a.name, a.attempts, perr)
	if a.attempts <= a.cfg.maxRetries {
		a.pending, a.hasPending = m, true
		return
	}
	a.deadLetter(m, &panickedError{perr}, a.attempts)
	a.attempts = 0
}

// shutdown stops the actor for good: senders fail from now on, the queue is
// handled for up to the drain timeout and what is left is reported.
func (a *Actor[M]) shutdown(ctx context.Context) {
	if a.hasPending {
		m, n := a.pending, a.attempts
		a.clearPending()
		a.deadLetter(m, fmt.Errorf("%w: stopped before the retry", ErrPanicked), n)
	}
	// Sends have been refused since the context ended, under the lock that
	// guards the mailbox: what the drain leaves is all there is.
	a.drain(ctx)
	a.state.Store(stopped)
}

// drain handles what is queued until the mailbox is empty or the drain
// timeout runs out; what is left then is reported.
func (a *Actor[M]) drain(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.drainTimeout)
	defer cancel()
	for dctx.Err() == nil {
		m, ok := a.nextHeld()
		if !ok {
			if !a.take(false) {
				return
			}
			continue
		}
		a.drainOne(dctx, m)
	}
	a.reject(ErrDrainTimeout)
}

// drainOne handles one message during the drain; a panic there is reported
// with the message and the drain goes on.
func (a *Actor[M]) drainOne(ctx context.Context, m M) {
	defer func() {
		if v := recover(); v != nil {
			perr := panics.New(v, 0)
			a.letGo()
			a.panicked.Add(1)
			a.deadLetter(m, &panickedError{perr}, 1)
		}
	}()
	a.handle(ctx, m)
}

// reject reports every message taken or queued as a dead letter with
// reason. It is called when no Run is handling messages.
func (a *Actor[M]) reject(reason error) {
	for {
		m, ok := a.nextHeld()
		a.letGo()
		if !ok {
			a.mu.Lock()
			m, ok = a.mbox.pop()
			a.mu.Unlock()
		}
		if !ok {
			return
		}
		a.deadLetter(m, reason, 0)
	}
}

func (a *Actor[M]) deadLetter(m M, reason error, attempts int) {
	a.dead.Add(1)
	a.cfg.deadLetter(a.name, m, reason, attempts)
}

func (a *Actor[M]) reportError(ctx context.Context, m M, err error) {
	a.cfg.reportError(ctx, a.name, m, err)
}

// deadLetter reports msg, accepted by the actor or pool called name, as a
// dead letter: to a waiting [Ask], then to the hook or the log.
func (c *config) deadLetter(name string, msg any, reason error, attempts int) {
	dl := DeadLetter{Actor: name, Msg: msg, Reason: reason, Attempts: attempts}
	if n, ok := dl.Msg.(abandoner); ok {
		n.abandon(reason)
	}
	if c.onDeadLetter != nil {
		c.onDeadLetter(dl)
		return
	}
	c.log().Warn("actor dead letter", "actor", name, "reason", reason, "attempts", attempts)
}

// logPanic logs a handler panic. The stack is formatted only if the record
// is written: formatting it costs more than the rest of a restart.
func (c *config) logPanic(name string, attempt int, perr *PanicError, attrs ...any) {
	l := c.log()
	if !l.Enabled(context.Background(), slog.LevelError) {
		return
	}
	attrs = append([]any{"actor", name, "attempt", attempt, "error", perr.Value, "stack", stackValue{perr}}, attrs...)
	l.Error("actor handler panicked", attrs...)
}

// stackValue formats a panic's stack when a log handler asks for it.
type stackValue struct{ perr *PanicError }

func (v stackValue) LogValue() slog.Value { return slog.StringValue(v.perr.Stack()) }

// panickedError is the reason of a dead letter whose handler panicked: it
// matches [ErrPanicked] and the [*PanicError], and formats the stack only
// when printed.
type panickedError struct{ perr *PanicError }

func (e *panickedError) Error() string   { return ErrPanicked.Error() + ": " + e.perr.Error() }
func (e *panickedError) Unwrap() []error { return []error{ErrPanicked, e.perr} }

// reportError reports the error a handler returned for msg: to a waiting
// [Ask], then to the hook or the log.
func (c *config) reportError(ctx context.Context, name string, msg any, err error) {
	if n, ok := msg.(abandoner); ok {
		n.abandon(err)
	}
	if c.onError != nil {
		c.onError(ctx, name, msg, err)
		return
	}
	c.log().ErrorContext(ctx, "actor handler failed", "actor", name, "error", err)
}

// abandoner is implemented by messages that someone waits on (see [Ask]):
// they are told when their handler failed or they became dead letters.
type abandoner interface{ abandon(err error) }

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
	// DeadLetters counts messages reported as dead letters.
	DeadLetters uint64
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
func (a *Actor[M]) Stats() Stats {
	a.mu.Lock()
	p := a.progress.Load()
	q := a.mbox.n + int(p&(1<<heldBits-1))
	wait := a.wait.oldestOf(a.mbox.pushed, q)
	a.mu.Unlock()
	return Stats{
		Name:        a.name,
		Queued:      q,
		Capacity:    a.mbox.size,
		Handled:     p >> heldBits,
		Failed:      a.failed.Load(),
		Panics:      a.panicked.Load(),
		DeadLetters: a.dead.Load(),
		Evicted:     a.evicted.Load(),
		OldestWait:  wait,
		Running:     a.state.Load() == running,
	}
}

// Len returns the number of messages accepted and not handled yet: those in
// the mailbox, those the actor has taken from it, and the one its handler
// is working on, if any. A message kept for a retry after a panic is not
// counted.
func (a *Actor[M]) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.len()
}

// len is Len with a.mu held.
func (a *Actor[M]) len() int { return a.mbox.n + int(a.progress.Load()&(1<<heldBits-1)) }

// Cap returns the size of the mailbox.
func (a *Actor[M]) Cap() int { return a.mbox.size }
