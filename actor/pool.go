package actor

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Pool is an actor whose bounded mailbox is drained by several workers, to
// bound the concurrency of heavy handlers (sending email, calling a slow
// API) while keeping an actor's contract: the same Send, TrySend, Displace,
// Run and Stats, usable with [Ask], under a supervisor and as a bus inbox.
// It is the same mailbox and the same handler loop as an [Actor]'s, with
// one loop per worker.
//
// Without [KeyBy], any worker takes the next message: messages are started
// in the order they were accepted but, running in parallel, may finish in any
// order, and nothing orders the handling of two messages across workers.
// The workers of a pool of several take one message at a time, so a message
// waits for the first free worker, never behind a busy one; a pool's only
// worker takes up to 32 at once, as an [Actor] does, and when
// [Pool.SetWorkers] adds workers it gives back those it has not started
// as soon as the message in hand is done, for any worker to take first.
// With
// [KeyBy], messages of the same key are handled one at a time, in the order
// they were accepted, by whichever worker holds that key's earlier
// messages; a key nobody holds goes to any free worker, so a worker stuck on
// one key holds up only the keys it holds.
//
// A worker whose handler panics is restarted at once inside the pool while
// the other workers go on; too many panics end Run (see
// [WithWorkerRestarts]). The mailbox belongs to the Pool, not to one Run,
// and so do the workers' messages in hand: a message kept for a retry, or a
// keyed worker's backlog, is handled by the next Run or reported by
// [Pool.Retire].
//
// A Pool is safe for concurrent use and must not be copied.
type Pool[M any] struct {
	mb      mailbox[M]
	cfg     poolConfig
	handler Handler[M]

	// want is the number of workers asked for; resize wakes the Run to
	// apply it.
	want   atomic.Int32
	resize chan struct{}

	// wmu guards the workers, the counters of the ones that left, and the
	// recent panic times. It is taken before mb.mu, never under it.
	wmu     sync.Mutex
	workers []*worker[M]
	nextID  int
	left    Stats
	// abandoned are the workers an ended Run left in their handler (see
	// abandon): no longer the pool's, but counted in its Stats until they
	// exit, so that no counter goes back.
	abandoned []*worker[M]
	// panics is the workers' restart intensity (see restarted).
	panics restartWindow
}

// A worker is one of a pool's loops and whether a goroutine of the Run
// runs it. The padding keeps the counters at the end of the loop, which
// its goroutine writes for every batch, off the cache line of the next
// worker's fields, which another goroutine reads as often: workers are
// allocated one after the other, often side by side.
type worker[M any] struct {
	_ [64]byte
	loop[M]
	running bool // guarded by Pool.wmu
	// abandoned is set, under Pool.wmu, when a Run that ended returned
	// while the worker was still in its handler (see Pool.abandon): the
	// worker is no longer the pool's, and reports what it holds itself
	// when it exits.
	abandoned bool
	_         [64]byte
}

// NewPool returns a pool named name whose Run handles messages with h on
// workers goroutines at once. It takes the options of [New], plus [KeyBy]
// (per-key order) and [WithWorkerRestarts]; the mailbox size is that of the
// whole pool. It panics if name is empty, workers < 1, h is nil or a KeyBy
// option is for another message type: those are programmer errors.
func NewPool[M any](name string, workers int, h Handler[M], opts ...PoolOption) *Pool[M] {
	if name == "" {
		panic("actor: NewPool: empty name")
	}
	if workers < 1 {
		panic(fmt.Sprintf("actor: NewPool(%q): workers %d < 1", name, workers))
	}
	if h == nil {
		panic(fmt.Sprintf("actor: NewPool(%q): nil handler", name))
	}
	p := &Pool[M]{handler: h, resize: make(chan struct{}, 1)}
	p.cfg.init(opts)
	p.mb.init(name, &p.cfg.config)
	if p.cfg.key != nil {
		key, ok := p.cfg.key.(func(M) uint64)
		if !ok {
			panic(fmt.Sprintf("actor: NewPool(%q): KeyBy key func is a %T; want a func(%T) uint64", name, p.cfg.key, *new(M)))
		}
		p.mb.key = key
	}
	p.want.Store(int32(workers))
	return p
}

// Name returns the name given to [NewPool].
func (p *Pool[M]) Name() string { return p.mb.name }

// TrySend puts m in the pool's mailbox if there is room and never waits. It
// returns [ErrMailboxFull] when the mailbox is full and [ErrStopped] when the
// pool has stopped. It does not allocate.
func (p *Pool[M]) TrySend(m M) error { return p.mb.trySend(m, nil) }

// Offer is [Pool.TrySend] with the sender's context: it puts m in the
// mailbox if there is room and never waits, whatever ctx, whose values only
// count: what the [Propagator] extracts from them travels with m to the
// handler's context. It is what the bus calls (bus.Inbox). It does not
// allocate unless the propagator does.
func (p *Pool[M]) Offer(ctx context.Context, m M) error {
	return p.mb.trySend(m, p.cfg.extract(ctx))
}

// Send puts m in the pool's mailbox, waiting for room until ctx is done.
// When ctx ends first it returns an error matching both [ErrMailboxFull] and
// ctx's error; when the pool stops (or has stopped) it returns [ErrStopped].
// Called from one of the pool's handlers with the handler's context while the
// mailbox is full, it returns [ErrWouldDeadlock] instead of waiting: if every
// worker did so, none would be left to make room. It does not allocate while
// there is room.
func (p *Pool[M]) Send(ctx context.Context, m M) error { return p.mb.send(ctx, m) }

// Displace puts m in the pool's mailbox; when the mailbox is full it first
// removes the oldest queued message and returns it with evicted true, for the
// caller to report, as [Actor.Displace] does. It never waits and is what a
// drop-oldest policy needs; ctx is as for [Pool.Offer].
func (p *Pool[M]) Displace(ctx context.Context, m M) (old M, evicted bool, err error) {
	return p.mb.displace(ctx, m)
}

// SetWorkers sets the number of workers. While a Run is active it applies
// the change promptly but does not wait for it: new workers start at once;
// surplus workers finish the message in hand (and, in a keyed pool, the
// messages of the keys they hold) and exit, and nothing queued is lost.
// Without an active Run the number applies to the next Run. It is safe for
// concurrent use and panics if n < 1.
func (p *Pool[M]) SetWorkers(n int) {
	if n < 1 {
		panic(fmt.Sprintf("actor: SetWorkers(%q): workers %d < 1", p.mb.name, n))
	}
	p.want.Store(int32(n))
	select {
	case p.resize <- struct{}{}:
	default:
	}
}

// Run handles messages on the pool's workers until ctx is done or the
// workers panicked more often than [WithWorkerRestarts] allows.
//
// When ctx is done, the pool stops accepting messages (sends return
// [ErrStopped]), all its workers handle what is queued for up to the drain
// timeout, what is left is reported as dead letters, and Run returns nil,
// or a [*StuckWorkersError] naming the workers whose handler had not
// returned by the drain timeout plus a grace of [StuckGrace]. Those
// workers are left running, no longer the pool's: each reports what it
// holds as dead letters when its handler returns, and a later Run starts
// new workers meanwhile (in a keyed pool, a stuck worker's key may then be
// handled by another worker while it is still stuck), as a supervisor
// starts a new child beside one it abandoned. When the workers panicked
// too often, the workers finish the message in hand and Run returns the
// last [*PanicError]; the queued messages wait for the next Run. If ctx
// ends meanwhile, the pool drains as above before Run returns; once ctx
// ended, panics no longer make the pool give up. Only one
// Run may be active at a time; another returns [ErrAlreadyRunning].
//
// The worker goroutines carry the pprof labels "troupe.actor" with the
// pool's name and "troupe.worker" with the worker's number, beside any labels
// in ctx.
func (p *Pool[M]) Run(ctx context.Context) (err error) {
	if !p.mb.start() {
		return fmt.Errorf("%w: %s", ErrAlreadyRunning, p.mb.name)
	}
	var refusal refusal
	refusal.arm(ctx, func() {
		p.mb.refuse()
		refusal.done()
	})
	pprof.Do(ctx, pprof.Labels("troupe.actor", p.mb.name), func(ctx context.Context) {
		r := &poolRun[M]{hctx: context.WithValue(ctx, selfKey{}, &p.mb), gaveUp: make(chan struct{}),
			idle: make(chan struct{}, 1)}
		defer r.endDrain(&p.mb)
		p.manage(r)
		gaveUp := r.gaveUpNow()
		if gaveUp {
			// Every worker finishes the message in hand, unless ctx ends
			// meanwhile: then they drain, as below, a stuck one named.
			p.waitWorkers(r, nil, ctx.Done())
			// A crash only if ctx has not ended (see Keyed.Run).
			if ctx.Err() == nil && refusal.disarm() {
				// A crash, not a stop: the queue waits for the next Run.
				p.mb.state.Store(idle)
				err = r.perr
				return
			}
		}
		refusal.wait()
		deadline := time.NewTimer(p.cfg.drainTimeout + StuckGrace)
		defer deadline.Stop()
		stuck := p.waitWorkers(r, deadline.C, nil)
		// Read again: a panic just before ctx ended may have given up
		// after the look above, and the workers stopped with what they
		// hold. Their goroutines have exited: it is final.
		gaveUp = r.gaveUpNow()
		if gaveUp && stuck == nil {
			// The workers stopped with what they hold: drain it here.
			p.drainAlone(r)
		}
		p.mb.finish(p.loops())
		switch {
		case stuck != nil:
			err = stuck
		case gaveUp:
			err = r.perr
		}
	})
	return err
}

// Retire stops for good a pool that no Run is using, as [Actor.Retire]
// does an actor: sends fail with [ErrStopped] from now on and every message
// accepted and not handled (queued, in a worker's backlog, or kept for a
// retry) is reported as a dead letter. While a Run is active it does
// nothing.
func (p *Pool[M]) Retire() { p.mb.retire(p.loops(), ErrStopped) }

// loops returns the pool's loops.
func (p *Pool[M]) loops() []*loop[M] {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	ls := make([]*loop[M], len(p.workers))
	for i, w := range p.workers {
		ls[i] = &w.loop
	}
	return ls
}

// poolRun is the state of one Run, shared by its workers.
type poolRun[M any] struct {
	// hctx is the handlers' context.
	hctx context.Context

	// gaveUp is closed, and perr set, when the workers panicked too often.
	gaveUp   chan struct{}
	giveOnce sync.Once
	perr     *PanicError

	// dctx carries the drain deadline, from the first call of drainCtx.
	drainOnce sync.Once
	dctx      context.Context
	dcancel   context.CancelFunc

	// live counts the workers whose goroutine has not exited, guarded by
	// Pool.wmu; idle is signalled when it drops to zero.
	live int
	idle chan struct{}
}

// gaveUpNow reports whether the workers gave up.
func (r *poolRun[M]) gaveUpNow() bool {
	select {
	case <-r.gaveUp:
		return true
	default:
		return false
	}
}

// drainCtx returns the context of the drain, whose deadline is the drain
// timeout after the first call.
func (r *poolRun[M]) drainCtx(mb *mailbox[M]) context.Context {
	r.drainOnce.Do(func() { r.dctx, r.dcancel = mb.drainCtx(r.hctx) })
	return r.dctx
}

// endDrain ends the drain, or makes it ended before it began: a worker
// the Run left behind (see Pool.abandon) drains nothing more.
func (r *poolRun[M]) endDrain(mb *mailbox[M]) {
	r.drainCtx(mb)
	r.dcancel()
}

// manage starts the workers and applies resizes until the Run's ctx is
// done or the workers gave up.
func (p *Pool[M]) manage(r *poolRun[M]) {
	p.apply(r, true)
	for {
		select {
		case <-r.hctx.Done():
			return
		case <-r.gaveUp:
			return
		case <-p.resize:
			p.apply(r, false)
		}
	}
}

// waitWorkers waits until every worker of r has exited and returns nil; or
// until done closes: then it returns nil with workers still running; or
// until deadline fires: then it abandons the workers still running and
// returns those held up in their handler.
func (p *Pool[M]) waitWorkers(r *poolRun[M], deadline <-chan time.Time, done <-chan struct{}) *StuckWorkersError {
	for {
		p.wmu.Lock()
		live := r.live
		p.wmu.Unlock()
		if live == 0 {
			return nil
		}
		select {
		case <-r.idle:
		case <-done:
			return nil
		case <-deadline:
			return p.abandon(r)
		}
	}
}

// abandon gives up on the workers of r still running after the drain
// timeout and its grace: they leave the pool, so that the Run can end and
// a later one start new workers; each reports what it holds when its
// handler returns (see exited). A keyed worker's backlog is reported here,
// and its keys go to other workers. It returns the workers still in their
// handler, or nil if none is.
func (p *Pool[M]) abandon(r *poolRun[M]) *StuckWorkersError {
	p.wmu.Lock()
	var left []keyedMsg[M]
	var e *StuckWorkersError
	p.mb.mu.Lock()
	for _, w := range p.workers {
		if !w.running {
			continue
		}
		w.abandoned = true
		w.dismissed = true // takes nothing more, gives back nothing (see spillRest)
		left = append(left, w.backlog()...)
		w.dropBacklog()
		if w.held() > 0 {
			if e == nil {
				e = &StuckWorkersError{Pool: p.mb.name, Timeout: p.cfg.drainTimeout}
			}
			e.Workers = append(e.Workers, int(w.id))
		}
	}
	p.mb.mu.Unlock()
	for _, w := range p.workers {
		if w.abandoned {
			p.abandoned = append(p.abandoned, w)
		}
	}
	p.workers = slices.DeleteFunc(p.workers, func(w *worker[M]) bool { return w.abandoned })
	p.wmu.Unlock()
	// The Run ends: the abandoned workers drain nothing more.
	r.endDrain(&p.mb)
	for _, k := range left {
		p.mb.deadLetter(k.m, ErrDrainTimeout, 0)
	}
	return e
}

// StuckWorkersError is returned by the Run of a [Pool] when some workers'
// handlers had not returned by the drain timeout (plus [StuckGrace]) after
// its context ended. It matches [ErrDrainTimeout].
type StuckWorkersError struct {
	// Pool is the pool's name.
	Pool string
	// Workers are the stuck workers' numbers (see [WorkerStats]).
	Workers []int
	// Timeout is the drain timeout they exceeded.
	Timeout time.Duration
}

// Error names the stuck workers.
func (e *StuckWorkersError) Error() string {
	ids := make([]string, len(e.Workers))
	for i, id := range e.Workers {
		ids[i] = strconv.Itoa(id)
	}
	return fmt.Sprintf("actor: %s: %d workers still in their handler %v after the drain began: %s",
		e.Pool, len(e.Workers), e.Timeout, strings.Join(ids, ", "))
}

// Unwrap returns [ErrDrainTimeout].
func (e *StuckWorkersError) Unwrap() error { return ErrDrainTimeout }

// apply starts or dismisses workers to match want. At the start of a Run,
// the workers left from the last one run again first: they may hold a
// message kept for a retry, or a keyed backlog.
func (p *Pool[M]) apply(r *poolRun[M], first bool) {
	want := int(p.want.Load())
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mb.mu.Lock()
	defer p.mb.mu.Unlock()
	if first {
		for _, w := range p.workers {
			w.halt.Store(false)
			w.dismissed = false
			p.spawn(r, w)
		}
	}
	active := 0
	for _, w := range p.workers {
		if !w.dismissed {
			active++
		}
	}
	for ; active < want; active++ {
		w := &worker[M]{}
		w.init(&p.mb, p.handler, p.nextID, batchSize)
		p.nextID++
		p.workers = append(p.workers, w)
		p.spawn(r, w)
	}
	// Dismiss the newest workers first, so that worker numbers stay low.
	for i := len(p.workers) - 1; i >= 0 && active > want; i-- {
		if w := p.workers[i]; !w.dismissed {
			w.dismissed = true
			p.mb.unpark(&w.loop)
			w.wakeUp()
			active--
		}
	}
	if active > 1 && !p.mb.shared && p.mb.key == nil {
		// The sole worker gives back the rest of its batch (see spill).
		for _, w := range p.workers {
			w.spill.Store(true)
		}
	}
	p.mb.shared = active > 1
}

// spawn starts w's goroutine, labelled with its number, counted live in
// r. p.wmu is held.
func (p *Pool[M]) spawn(r *poolRun[M], w *worker[M]) {
	w.running = true
	r.live++
	go func() {
		defer p.exited(r, w)
		pprof.Do(r.hctx, pprof.Labels("troupe.worker", strconv.Itoa(int(w.id))), func(ctx context.Context) {
			p.work(ctx, r, w)
		})
	}()
}

// work is a worker's goroutine: it restarts the loop in place after a
// panic, and drains the mailbox with the other workers when the Run's ctx
// ends.
func (p *Pool[M]) work(ctx context.Context, r *poolRun[M], w *worker[M]) {
	for {
		perr, _ := w.serve(ctx)
		if perr == nil || !p.restarted(r, w, perr) {
			break
		}
	}
	if ctx.Err() != nil && !w.halt.Load() {
		w.drain(r.drainCtx(&p.mb))
	}
}

// exited records that w's goroutine has exited; a dismissed worker that
// holds nothing more leaves the pool, its counters kept in p.left. An
// abandoned worker has left it already: it reports what it holds.
func (p *Pool[M]) exited(r *poolRun[M], w *worker[M]) {
	p.wmu.Lock()
	w.running = false
	if r.live--; r.live == 0 {
		select {
		case r.idle <- struct{}{}:
		default:
		}
	}
	if w.abandoned {
		p.wmu.Unlock()
		// What it holds, now that its handler has returned.
		w.rejectHeld(ErrDrainTimeout)
		p.wmu.Lock()
		p.left.Handled += w.handled()
		p.left.Failed += w.failed.Load()
		p.left.Panics += w.panicked.Load()
		p.abandoned = slices.DeleteFunc(p.abandoned, func(x *worker[M]) bool { return x == w })
		p.wmu.Unlock()
		return
	}
	defer p.wmu.Unlock()
	p.mb.mu.Lock()
	done := w.dismissed && len(w.backlog()) == 0 && !w.holdsKey() && !w.hasPending && int(w.next) == len(w.batch)
	p.mb.mu.Unlock()
	if !done {
		return
	}
	p.left.Handled += w.handled()
	p.left.Failed += w.failed.Load()
	p.left.Panics += w.panicked.Load()
	p.workers = slices.DeleteFunc(p.workers, func(x *worker[M]) bool { return x == w })
}

// restarted counts a worker panic against the pool's restart intensity. It
// reports whether the worker may restart; if not, the pool gives up: every
// worker stops after the message in hand. An abandoned worker, no longer
// the pool's, never restarts and counts nothing.
func (p *Pool[M]) restarted(r *poolRun[M], w *worker[M], perr *PanicError) bool {
	now := time.Now()
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if w.abandoned {
		return false
	}
	// Once the Run's context ended, the pool does not give up: its
	// workers drain, as its Run returns anyway.
	if p.panics.allow(now, p.cfg.workerRestarts, p.cfg.workerWindow) || r.hctx.Err() != nil {
		return true
	}
	r.giveOnce.Do(func() {
		r.perr = perr
		close(r.gaveUp)
	})
	for _, x := range p.workers {
		x.halt.Store(true)
		x.wakeUp()
	}
	return false
}

// drainAlone drains the mailbox on the calling goroutine, worker after
// worker: the Run gave up and its ctx ended too, after the workers had
// stopped. Per-key order holds: a key's backlog is drained before its
// messages still queued.
func (p *Pool[M]) drainAlone(r *poolRun[M]) {
	dctx := r.drainCtx(&p.mb)
	for _, l := range p.loops() {
		l.halt.Store(false)
		l.drain(dctx)
	}
}

// PoolStats is a snapshot of a pool's counters.
type PoolStats struct {
	// Stats sums the pool's counters as for an [Actor]: Queued counts every
	// message accepted and not handled yet, as [Pool.Len] does.
	Stats
	// Workers is the number of workers asked for ([NewPool],
	// [Pool.SetWorkers]); while a resize is under way the live workers,
	// listed in PerWorker, may differ.
	Workers int
	// Busy is the number of workers holding a message to handle.
	Busy int
	// PerWorker lists the live workers, oldest first.
	PerWorker []WorkerStats
}

// WorkerStats is a snapshot of one worker's counters.
type WorkerStats struct {
	// ID numbers the pool's workers from 0 in the order they started; a
	// worker keeps its number across restarts and Runs, a resize gives new
	// ones.
	ID int
	// Handled, Failed and Panics count as in [Stats], for this worker.
	Handled, Failed, Panics uint64
	// Busy reports whether the worker holds a message to handle.
	Busy bool
	// Queued is the number of messages of the keys the worker holds,
	// waiting for it (keyed pools only).
	Queued int
	// Dismissed reports whether the worker exits once it holds nothing
	// more (see [Pool.SetWorkers]).
	Dismissed bool
}

// Stats returns a snapshot of the pool's counters, per pool and per worker.
// Each counter is exact but they are read one by one while the workers run,
// so they do not form a single atomic snapshot. It allocates the PerWorker
// slice.
func (p *Pool[M]) Stats() PoolStats {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	ls := make([]*loop[M], 0, len(p.workers)+len(p.abandoned))
	for _, w := range p.workers {
		ls = append(ls, &w.loop)
	}
	for _, w := range p.abandoned {
		ls = append(ls, &w.loop)
	}
	s := PoolStats{Stats: p.mb.stats(ls), Workers: int(p.want.Load())}
	s.Handled += p.left.Handled
	s.Failed += p.left.Failed
	s.Panics += p.left.Panics
	p.mb.mu.Lock()
	defer p.mb.mu.Unlock()
	for _, w := range p.workers {
		if !w.running {
			continue
		}
		ws := WorkerStats{
			ID:        int(w.id),
			Handled:   w.handled(),
			Failed:    w.failed.Load(),
			Panics:    w.panicked.Load(),
			Busy:      w.held() > 0,
			Queued:    len(w.backlog()),
			Dismissed: w.dismissed,
		}
		if ws.Busy {
			s.Busy++
		}
		s.PerWorker = append(s.PerWorker, ws)
	}
	return s
}

// Len returns the number of messages accepted and not handled yet: queued,
// in the workers' hands and in their backlogs.
func (p *Pool[M]) Len() int { return p.Stats().Queued }

// Cap returns the size of the mailbox.
func (p *Pool[M]) Cap() int { return p.mb.q.size }
