package actor

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/troupe-go/troupe/internal/panics"
)

// A loop is the one handler loop of troupe: it takes messages from its
// mailbox and hands them to the handler one at a time, turns a panic into a
// [*PanicError] and decides the fate of the message in hand (a retry, or a
// dead letter), and drains the mailbox when the Run's context ends. An
// [Actor] runs one loop on the goroutine that calls Run; a [Pool] runs one
// per worker, all on the same mailbox.
//
// A loop's state outlives a Run, so that a message kept for a retry, or
// messages taken and not handled, are there for the next Run or reported by
// Retire. Only the goroutine running the loop touches its fields, except
// those noted, and another goroutine only while no Run is active.
type loop[M any] struct {
	// progress counts, in one word so that a message costs one atomic add,
	// the messages handled (above heldBits) and the messages taken from
	// the mailbox and not done with yet (below). The counters come first,
	// beside fields that only the loop's goroutine writes, and seldom: the
	// field other goroutines write (parked) is further down, off their
	// cache line, and a keyed pool's backlogs are apart (see keys). A pool
	// pads its workers apart (see worker).
	progress atomic.Uint64
	failed   atomic.Uint64
	panicked atomic.Uint64

	mb      *mailbox[M]
	handler Handler[M]
	// chain is the handler wrapped in the middleware, nil without any
	// (see WithMiddleware); hooked is set when there is middleware or a
	// propagator: without, handle calls the handler directly.
	chain  HandleFunc
	hooked bool
	// asks is set when M is a Request, whose handler must reply.
	asks bool
	// inHand is set while the message handed out by nextHeld is still
	// counted as held in progress; hasPending while pending holds a
	// message. (The flags sit together: each alone would take a word.)
	inHand     bool
	hasPending bool
	// id numbers a pool's workers; -1 for an actor.
	id int32

	// batch holds the messages taken from the mailbox and not handed to
	// the handler yet, from batch[next]; its capacity, batchCap, the most
	// taken at once. It is made at the first take that finds messages:
	// an idle actor holds no buffer. (next and batchCap share a word.)
	batch    []M
	next     int32
	batchCap int32
	// carried, parallel to batch, holds what the messages carry when the
	// mailbox has a Propagator; nil otherwise. inHandCarried is what the
	// message handed out last by nextHeld carries.
	carried       []any
	inHandCarried any
	// pending is a message whose handler panicked and that is to be retried
	// first thing when the loop runs again (see hasPending). It is made
	// when it is kept, rare enough that a loop that keeps none holds no
	// room for it. attempts counts the handler's attempts at it.
	pending  *pendingMsg[M]
	attempts int32
	// spill makes the loop give back the rest of its batch after the
	// message in hand (see spillRest): its pool no longer has it alone. It
	// is written by another goroutine. (Beside attempts, in the word they
	// share.)
	spill atomic.Bool

	// wake is signalled when a message is pushed while the loop is parked,
	// or when it must stop.
	wake chan struct{}
	// sched, for a keyed actor's loop, runs the loop only while its
	// mailbox has messages: instead of waiting for one, serve parks the loop
	// and returns, and the send that unparks it calls sched.resume to queue
	// it for a runner goroutine. An idle keyed actor costs no goroutine.
	sched scheduler
	// halt makes the loop stop after the message in hand: its pool gave
	// up. It is written by another goroutine.
	halt atomic.Bool
	// dismissed makes a pool's worker exit once it holds nothing more (see
	// Pool.SetWorkers); parked is set while the loop is in mb.parked. Both
	// are guarded by mb.mu.
	dismissed bool
	parked    bool
	// doneWakes is set when the end of the Run's context wakes the loop,
	// as an Actor's does (see Actor.refuse): the loop then waits on wake
	// alone (see awaitWake).
	doneWakes bool

	// keys is the state of a keyed pool's loop (see takeKeyed), made with
	// the loop; nil for any other, which so holds no room for it.
	keys *loopKeys[M]
}

func (l *loop[M]) init(mb *mailbox[M], h Handler[M], id, batch int) {
	l.mb, l.id = mb, int32(id)
	if mb.key != nil {
		l.keys = new(loopKeys[M])
	}
	l.setHandler(h)
	_, l.asks = any(*new(M)).(abandoner)
	l.batchCap = int32(min(batch, mb.q.size))
	l.wake = make(chan struct{}, 1)
}

// setHandler makes h the loop's handler, wrapped in the mailbox's
// middleware. A factory's handler (NewFrom, NewKeyed) is set at every Run
// or restart; nil forgets it.
func (l *loop[M]) setHandler(h Handler[M]) {
	l.handler, l.chain = h, nil
	if h != nil {
		l.chain = chain(h, l.mb.cfg.extras().middleware)
	}
	l.hooked = l.chain != nil || l.mb.cfg.extras().propagator != nil
}

// A scheduler runs a loop that parked with no goroutine (see loop.sched):
// a send that unparks the loop calls unparked under the mailbox lock, then
// resume once it released it.
type scheduler interface {
	unparked()
	resume()
}

// heldBits is the width of the count of held messages in progress: at
// most batchSize.
const heldBits = 8

// held returns the messages the loop has taken and not done with.
func (l *loop[M]) held() int { return int(l.progress.Load() & (1<<heldBits - 1)) }

// handled returns the messages the handler returned nil for.
func (l *loop[M]) handled() uint64 { return l.progress.Load() >> heldBits }

// serve handles messages until ctx is done or the loop is halted or
// dismissed (nil), or the handler panics. A loop with a scheduler also
// returns when its mailbox is empty, with asleep set: it is parked, and
// from then on belongs to the goroutine its next message starts, so the
// caller must not touch it.
//
// serve only takes messages and waits for them; work, out of line, hands
// them to the handler. serve's frame is all the loop keeps on the stack
// while it waits, and it is under every call made to take messages, some
// of which reach deep into the runtime: kept small, it lets an idle actor
// keep the 2 KB stack a goroutine starts with (see TestIdleActorStack).
func (l *loop[M]) serve(ctx context.Context) (perr *PanicError, asleep bool) {
	done := ctx.Done()
	spins := maxSpins
	for {
		if perr, stop := l.work(ctx, done); perr != nil || stop {
			return perr, false
		}
		if l.sched != nil {
			if took, more := l.take(true); !took {
				return nil, more
			}
		} else if !l.refill(&spins, done) {
			return nil, false
		}
	}
}

// work hands the messages in hand to the handler, first the one kept for
// a retry, if any, until there are none left (false) or done is closed or
// the loop is halted (stop), or the handler panics (perr). One deferred
// recover covers the whole batch, so handling a message costs no defer.
//
//go:noinline
func (l *loop[M]) work(ctx context.Context, done <-chan struct{}) (perr *PanicError, stop bool) {
	var cur M
	var curCarried any
	retry := false
	defer func() {
		if v := recover(); v != nil {
			perr = newPanicError(panics.New(v, 0))
			l.onPanic(cur, curCarried, retry, perr)
		}
	}()
	if l.hasPending {
		cur, curCarried, retry = l.pending.m, l.pending.carried, true
		l.clearPending()
		l.handle(ctx, cur, curCarried)
		retry = false
	}
	for int(l.next) < len(l.batch) {
		cur, _ = l.nextHeld()
		curCarried = l.inHandCarried
		// handle written out: the handler is called from this frame, one
		// frame less for the stack a panic records, walked at every
		// restart of a crash loop (BenchmarkRestart_Troupe in
		// internal/benchmarks).
		var err error
		if !l.hooked {
			err = l.handler(ctx, cur)
		} else {
			err = l.handleHooked(ctx, cur, curCarried)
		}
		l.count(ctx, cur, err)
		if l.spill.Load() {
			l.spillRest()
		}
		select {
		case <-done:
			return nil, true // the drain handles the rest, with its own context
		default:
		}
		if l.halt.Load() {
			return nil, true
		}
	}
	return nil, false
}

// spillRest gives back the messages of the batch not handed to the handler
// yet, for any worker of the pool to take: the loop took them as a pool's
// only worker, and the pool has more workers now (see SetWorkers), which
// are not to wait for its handler. A keyed pool's loop keeps what it
// holds, for its keys' order.
func (l *loop[M]) spillRest() {
	l.spill.Store(false)
	rest := l.batch[l.next:]
	if len(rest) == 0 {
		return
	}
	mb := l.mb
	mb.mu.Lock()
	// Only to the workers of a Run going on, with the loop one of them:
	// alone again, or draining (the drain handles what each loop holds),
	// or left behind by its Run (it reports what it holds), the loop keeps
	// its batch.
	if !mb.shared || mb.state.Load() != running || l.dismissed {
		mb.mu.Unlock()
		return
	}
	if mb.spill == nil {
		mb.spill = new([]pendingMsg[M])
	}
	for i := range rest {
		var c any
		if l.carried != nil {
			c, l.carried[int(l.next)+i] = l.carried[int(l.next)+i], nil
		}
		*mb.spill = append(*mb.spill, pendingMsg[M]{rest[i], c})
		rest[i] = *new(M)
	}
	l.batch = l.batch[:l.next]
	// No longer held: the mailbox counts them now, under the same lock as
	// Stats reads both.
	l.progress.Add(-uint64(len(rest)))
	var wake []*loop[M]
	for range rest {
		w := mb.popParked()
		if w == nil {
			break
		}
		wake = append(wake, w)
	}
	mb.mu.Unlock()
	for _, w := range wake {
		w.wakeUp()
	}
}

// refill takes the next messages from the mailbox, waiting while there are
// none: it polls the mailbox, yields to the goroutines this one woke (one of
// them is often about to send the next message), then parks. It reports
// false when done closed first, or the loop is halted or dismissed.
func (l *loop[M]) refill(spins *int, done <-chan struct{}) bool {
	if took, more := l.take(false); took || !more {
		return took
	}
	q := &l.mb.q
	if *spins > 0 {
		for range *spins * pollsPerSpin {
			if q.ready.Load() {
				if took, more := l.take(false); took || !more {
					*spins = min(2**spins, maxSpins)
					return took
				}
			}
		}
		*spins /= 2
	}
	runtime.Gosched()
	for {
		took, more := l.take(true)
		if took || !more {
			return took
		}
		woken := false
		if l.doneWakes {
			woken = l.awaitWake(done)
		} else {
			woken = l.awaitWakeOrDone(done)
		}
		if !woken {
			l.mb.mu.Lock()
			l.mb.unpark(l)
			l.mb.mu.Unlock()
			return false
		}
		*spins = max(*spins, 1)
	}
}

// awaitWake waits until the parked loop is woken, and reports whether done
// is still open. It is how a loop whose Run wakes it when done closes (see
// doneWakes) waits: on one channel, where a select on two would cost the
// runtime two waiting records instead of one and a deeper stack under
// the park.
//
//go:noinline
func (l *loop[M]) awaitWake(done <-chan struct{}) bool {
	<-l.wake
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// awaitWakeOrDone waits until the parked loop is woken or done closes, and
// reports whether it was woken.
//
//go:noinline
func (l *loop[M]) awaitWakeOrDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return false
	case <-l.wake:
		return true
	}
}

// maxSpins is the most rounds of polls of an empty mailbox before the loop
// parks. Parking and being woken by the next send costs several times a
// send, and a sender that keeps the loop busy usually delivers within a
// few polls; but polling in vain takes a core from the goroutines that
// would send. So the number adapts: it doubles each time polling found a
// message and halves each time it did not, down to one round after the
// loop had to park.
const (
	maxSpins     = 64
	pollsPerSpin = 8
)

// take moves the next messages from the mailbox into the batch, which must
// be used up. It reports whether it took any, and whether the loop is to go
// on (more: false when it is halted or dismissed with nothing left to do);
// with park, a loop that took nothing and is to go on is parked, to be
// woken by the next send.
func (l *loop[M]) take(park bool) (took, more bool) {
	l.mb.mu.Lock()
	if l.batch == nil && l.mb.queued() > 0 {
		// The batch is made when there is something to take, out of the
		// lock: an idle actor holds no buffer.
		n := int(l.batchCap)
		if l.mb.shared {
			n = 1
		}
		l.mb.mu.Unlock()
		l.batch = make([]M, n)
		if l.mb.q.carries {
			l.carried = make([]any, n)
		}
		l.mb.mu.Lock()
	}
	l.batch = l.batch[:cap(l.batch)]
	if l.mb.shared && len(l.batch) > 1 {
		l.batch = l.batch[:1]
	}
	if l.parked {
		l.mb.unpark(l)
	}
	var k int
	switch {
	case l.halt.Load():
	case l.mb.key != nil:
		k = l.mb.takeKeyed(l, l.batch, l.carried)
	case !l.dismissed:
		// What a worker gave back first: it is older than the queue.
		if k = l.mb.takeSpilled(l.batch, l.carried); k == 0 {
			k = l.mb.q.take(l.batch, l.carried)
		}
	}
	more = k > 0 || !(l.dismissed || l.halt.Load())
	if k > 0 {
		l.mb.madeRoom()
	} else if park && more {
		l.mb.park(l)
	}
	// The batch is set under the lock: a keyed actor's loop, once parked,
	// belongs to the goroutine the next send starts.
	l.batch, l.next = l.batch[:k], 0
	l.mb.mu.Unlock()
	if k > 0 {
		l.progress.Add(uint64(k))
	}
	return k > 0, more
}

// wakeUp wakes the loop if it is parked, or makes its next park return at
// once. A loop with a scheduler is resumed by its scheduler: it is called
// only for a parked loop, just unparked.
func (l *loop[M]) wakeUp() {
	if l.sched != nil {
		l.sched.resume()
		return
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// nextHeld returns the next message taken from the mailbox and not handled
// yet, if any. The message stays counted as held until it is handled or
// let go.
func (l *loop[M]) nextHeld() (m M, ok bool) {
	if int(l.next) == len(l.batch) {
		return m, false
	}
	m = l.batch[l.next]
	l.batch[l.next] = *new(M)
	if l.carried != nil {
		l.inHandCarried = l.carried[l.next]
		l.carried[l.next] = nil
	}
	l.next++
	l.inHand = true
	return m, true
}

// letGo stops counting the message nextHeld handed out as held, when it
// leaves other than by being handled.
func (l *loop[M]) letGo() {
	if l.inHand {
		l.inHand = false
		l.progress.Add(^uint64(0))
	}
}

// handle calls the handler with m, through the propagator and the
// middleware if any, and counts m as handled or failed. c is what m
// carries.
func (l *loop[M]) handle(ctx context.Context, m M, c any) {
	var err error
	if !l.hooked {
		err = l.handler(ctx, m)
	} else {
		err = l.handleHooked(ctx, m, c)
	}
	l.count(ctx, m, err)
}

// count counts m, which the handler returned err for, as handled or
// failed.
func (l *loop[M]) count(ctx context.Context, m M, err error) {
	if err != nil {
		l.failed.Add(1)
		l.letGo()
		l.mb.cfg.reportError(ctx, l.mb.name, m, err)
		return
	}
	d := uint64(1) << heldBits
	if l.inHand {
		l.inHand = false
		d--
	}
	l.progress.Add(d)
	if l.asks {
		// A request the handler did not answer must not leave Ask waiting.
		any(m).(abandoner).abandon(ErrNoReply)
	}
}

// handleHooked calls the handler with m through the propagator and the
// middleware, whichever there is.
func (l *loop[M]) handleHooked(ctx context.Context, m M, c any) error {
	if p := l.mb.cfg.extras().propagator; p != nil {
		ctx = p.Inject(ctx, c)
		l.inHandCarried = nil
	}
	if l.chain == nil {
		return l.handler(ctx, m)
	}
	return l.chain(ctx, Message{Actor: l.mb.name, Msg: m})
}

// A pendingMsg is a message kept for a retry (see loop.pending), and what
// it carries.
type pendingMsg[M any] struct {
	m       M
	carried any
}

func (l *loop[M]) clearPending() { l.pending, l.hasPending = nil, false }

// onPanic decides the fate of the message in hand when the handler
// panicked: kept for a retry when the loop runs again, or reported as a dead
// letter.
func (l *loop[M]) onPanic(m M, c any, retry bool, perr *PanicError) {
	l.letGo()
	l.panicked.Add(1)
	if !retry {
		l.attempts = 0
	}
	l.attempts++
	l.mb.cfg.logPanic(l.mb.name, int(l.id), int(l.attempts), perr)
	if int(l.attempts) <= l.mb.cfg.maxRetries {
		l.pending, l.hasPending = &pendingMsg[M]{m, c}, true
		return
	}
	l.mb.deadLetter(m, newPanicked(perr), int(l.attempts))
	l.attempts = 0
}

// drain handles what the loop holds and what is queued until there is
// nothing left or ctx, which carries the drain deadline, ends. A message
// kept for a retry is reported: the actor is stopping.
func (l *loop[M]) drain(ctx context.Context) {
	l.rejectPending()
	for ctx.Err() == nil {
		m, ok := l.nextHeld()
		if !ok {
			if took, _ := l.take(false); !took {
				return
			}
			continue
		}
		l.drainOne(ctx, m, l.inHandCarried)
	}
}

// rejectPending reports the message kept for a retry, if any, as a dead
// letter: the Run stops before the retry.
func (l *loop[M]) rejectPending() {
	if !l.hasPending {
		return
	}
	m, n := l.pending.m, int(l.attempts)
	l.clearPending()
	l.attempts = 0
	l.mb.deadLetter(m, errStoppedBeforeRetry, n)
}

// errStoppedBeforeRetry is the reason of a message kept for a retry when the
// Run's context ends before it.
var errStoppedBeforeRetry = fmt.Errorf("%w: stopped before the retry", ErrPanicked)

// drainOne handles one message during the drain; a panic there is reported
// with the message and the drain goes on.
func (l *loop[M]) drainOne(ctx context.Context, m M, c any) {
	defer func() {
		if v := recover(); v != nil {
			perr := newPanicError(panics.New(v, 0))
			l.letGo()
			l.panicked.Add(1)
			l.mb.deadLetter(m, newPanicked(perr), 1)
		}
	}()
	l.handle(ctx, m, c)
}

// rejectHeld reports the messages the loop holds as dead letters: one
// kept for a retry (see rejectPending), and those taken or in its backlog,
// with reason. It is called when no Run handles messages.
func (l *loop[M]) rejectHeld(reason error) {
	l.rejectPending()
	for m, ok := l.nextHeld(); ok; m, ok = l.nextHeld() {
		l.letGo()
		l.mb.deadLetter(m, reason, 0)
	}
	l.mb.mu.Lock()
	backlog := l.backlog()
	l.dropBacklog()
	l.mb.mu.Unlock()
	for _, k := range backlog {
		l.mb.deadLetter(k.m, reason, 0)
	}
}
