package actor

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc"
)

// A Pool is an actor whose bounded mailbox is drained by several worker
// goroutines, to bound the concurrency of heavy handlers (sending email,
// calling a slow API) while keeping an actor's contract: the same Send,
// TrySend, Displace, Run and Stats, usable with [Ask], under a supervisor and
// as a bus inbox.
//
// Without [KeyBy], any worker takes the next message: messages are started
// in the order they were accepted but, running in parallel, may finish in any
// order, and nothing orders the handling of two messages across workers. With
// [KeyBy], messages of the same key are handled by one worker at a time in
// the order they were accepted.
//
// A worker whose handler panics is restarted at once inside the pool while
// the other workers go on; too many panics end Run (see
// [WithWorkerRestarts]). The mailbox belongs to the Pool, not to one Run.
//
// A Pool is safe for concurrent use and must not be copied.
type Pool[M any] struct {
	// gate holds the Run state, read on every send.
	gate
	name    string
	handler Handler[M]
	cfg     config
	mbox    chan M
	// key is set for a keyed pool, whose Run dispatches each message to
	// the worker its key maps to.
	key func(M) uint64
	// asks is set when M is a Request, whose handler must reply.
	asks bool

	// want is the number of workers asked for; resize wakes the Run to
	// apply it.
	want   atomic.Int32
	resize chan struct{}

	// wmu guards the live workers, the counters of the ones that exited
	// and the recent panic times.
	wmu     sync.Mutex
	workers []*worker[M]
	nextID  int
	retired workerTotals
	panics  []time.Time

	// carry is a message a keyed pool's dispatcher held when its Run ended
	// on a panic; the next Run dispatches it first. Runs never overlap.
	carry    M
	hasCarry bool

	_       [64]byte
	dead    atomic.Uint64
	evicted atomic.Uint64
	_       [64]byte
	wait    waitClock
	_       [64]byte
}

// workerTotals sums the counters of workers that have exited.
type workerTotals struct {
	handled, failed, panicked uint64
}

// NewPool returns a pool named name whose Run handles messages with h on
// workers goroutines at once. It takes the options of [New], plus [KeyBy]
// (per-key order) and [WithWorkerRestarts]; the mailbox size is that of the
// whole pool. It panics if name is empty, workers < 1, h is nil or a KeyBy
// option is for another message type: those are programmer errors.
func NewPool[M any](name string, workers int, h Handler[M], opts ...Option) *Pool[M] {
	if name == "" {
		panic("actor: NewPool: empty name")
	}
	if workers < 1 {
		panic(fmt.Sprintf("actor: NewPool(%q): workers %d < 1", name, workers))
	}
	if h == nil {
		panic(fmt.Sprintf("actor: NewPool(%q): nil handler", name))
	}
	p := &Pool[M]{name: name, handler: h, cfg: newConfig(opts), resize: make(chan struct{}, 1)}
	if p.cfg.key != nil {
		key, ok := p.cfg.key.(func(M) uint64)
		if !ok {
			panic(fmt.Sprintf("actor: NewPool(%q): KeyBy key func is a %T; want a func(%T) uint64", name, p.cfg.key, *new(M)))
		}
		p.key = key
	}
	p.mbox = make(chan M, p.cfg.mailbox)
	_, p.asks = any(*new(M)).(abandoner)
	p.wait.init(p.cfg.mailbox)
	p.gate.init()
	p.want.Store(int32(workers))
	return p
}

// Name returns the name given to [NewPool].
func (p *Pool[M]) Name() string { return p.name }

// SetWorkers sets the number of workers. While a Run is active it applies
// the change promptly but does not wait for it: new workers start at once;
// surplus workers finish the message in hand and exit, and nothing queued is
// lost. A keyed pool first lets every worker finish what it was given, so
// that per-key order holds across the resize. Without an active Run the
// number applies to the next Run. It is safe for concurrent use and panics
// if n < 1.
func (p *Pool[M]) SetWorkers(n int) {
	if n < 1 {
		panic(fmt.Sprintf("actor: SetWorkers(%q): workers %d < 1", p.name, n))
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
// timeout, what is left is reported as dead letters, and Run returns nil.
// When the workers panicked too often, the workers finish the message in hand
// and Run returns the last [*PanicError]; the queued messages wait for the
// next Run. Only one Run may be active at a time; another returns
// [ErrAlreadyRunning]. Run returns only after every worker has exited.
//
// The worker goroutines carry the pprof labels "troupe.actor" with the
// pool's name and "troupe.worker" with the worker's number, beside any labels
// in ctx.
func (p *Pool[M]) Run(ctx context.Context) (err error) {
	if !p.start() {
		return fmt.Errorf("%w: %s", ErrAlreadyRunning, p.name)
	}
	refused := make(chan struct{})
	stopRefuse := context.AfterFunc(ctx, func() {
		p.refuse()
		close(refused)
	})
	pprof.Do(ctx, pprof.Labels("troupe.actor", p.name), func(ctx context.Context) {
		r := &poolRun[M]{p: p, hctx: context.WithValue(ctx, selfKey{}, p), done: ctx.Done(), fail: make(chan struct{})}
		defer r.endDrain()
		var perr *PanicError
		if p.key != nil {
			perr = p.dispatch(r)
		} else {
			perr = p.manage(r)
		}
		if perr != nil {
			err = perr
			if stopRefuse() {
				// A crash, not a stop: the queue waits for the next Run.
				p.state.Store(idle)
				return
			}
			// ctx ended while the workers were stopping: drain here.
			p.drainAlone(r)
		}
		if stopRefuse() {
			p.refuse()
		} else {
			<-refused
		}
		// A sender that saw the pool running may have put a message in
		// after the drain: the store below and the sender's check after
		// its put (see accepted) make sure one of the two reports it.
		if r.timedOut.Load() {
			p.reject(ErrDrainTimeout)
		}
		p.state.Store(stopped)
		p.reject(ErrStopped)
	})
	return err
}

// Retire stops for good a pool that no Run is using, as [Actor.Retire]
// does an actor: sends fail with [ErrStopped] from now on and every queued
// message is reported as a dead letter with [ErrStopped]. While a Run is
// active it does nothing.
func (p *Pool[M]) Retire() {
	p.retire(func() {})
	if p.state.Load() == stopped {
		p.reject(ErrStopped)
	}
}

// poolRun is the state of one Run, shared by its workers.
type poolRun[M any] struct {
	p *Pool[M]
	// hctx is the handlers' context; done is its Done channel.
	hctx context.Context
	done <-chan struct{}

	// fail is closed, and perr set, when the workers panicked too often.
	fail     chan struct{}
	failOnce sync.Once
	perr     *PanicError

	// dctx carries the drain deadline, from the first call of drainCtx
	// after ctx is done.
	drainOnce sync.Once
	dctx      context.Context
	dcancel   context.CancelFunc
	// timedOut is set when the drain deadline passed with messages left.
	timedOut atomic.Bool
}

// drainCtx returns the context of the drain, whose deadline is the drain
// timeout after the first call.
func (r *poolRun[M]) drainCtx() context.Context {
	r.drainOnce.Do(func() {
		r.dctx, r.dcancel = context.WithTimeout(context.WithoutCancel(r.hctx), r.p.cfg.drainTimeout)
	})
	return r.dctx
}

func (r *poolRun[M]) endDrain() {
	r.drainOnce.Do(func() {})
	if r.dcancel != nil {
		r.dcancel()
	}
}

// escalate ends the Run with perr: the workers panicked too often.
func (r *poolRun[M]) escalate(perr *PanicError) {
	r.failOnce.Do(func() {
		r.perr = perr
		close(r.fail)
	})
}

// manage runs an unkeyed pool: the workers take messages from the mailbox
// themselves, and this goroutine only starts and stops them.
func (p *Pool[M]) manage(r *poolRun[M]) *PanicError {
	var g conc.WaitGroup
	p.apply(r, &g)
	for {
		select {
		case <-r.done:
			// The workers drain the mailbox together, then exit.
			g.Wait()
			return nil
		case <-r.fail:
			p.retireAll()
			g.Wait()
			return r.perr
		case <-p.resize:
			p.apply(r, &g)
		}
	}
}

// apply starts or retires workers of an unkeyed pool to match want.
func (p *Pool[M]) apply(r *poolRun[M], g *conc.WaitGroup) {
	want := int(p.want.Load())
	p.wmu.Lock()
	defer p.wmu.Unlock()
	active := 0
	for _, w := range p.workers {
		if !w.retiring.Load() {
			active++
		}
	}
	for ; active < want; active++ {
		p.spawn(r, g, p.addWorker(nil))
	}
	// Retire the newest workers first, so that worker numbers stay low.
	for i := len(p.workers) - 1; i >= 0 && active > want; i-- {
		if w := p.workers[i]; !w.retiring.Load() {
			w.retire()
			active--
		}
	}
}

// retireAll tells every worker to exit after the message in hand.
func (p *Pool[M]) retireAll() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.retireLocked()
}

func (p *Pool[M]) retireLocked() {
	for _, w := range p.workers {
		if !w.retiring.Load() {
			w.retire()
		}
	}
}

// addWorker registers a new worker; in is its hand-off channel in a keyed
// pool, nil in an unkeyed one. The caller holds wmu.
func (p *Pool[M]) addWorker(in chan M) *worker[M] {
	w := &worker[M]{p: p, id: p.nextID, in: in, quit: make(chan struct{})}
	p.nextID++
	p.workers = append(p.workers, w)
	return w
}

// spawn starts w's goroutine in g, labelled with its number.
func (p *Pool[M]) spawn(r *poolRun[M], g *conc.WaitGroup, w *worker[M]) {
	g.Go(func() {
		defer p.exited(w)
		pprof.Do(r.hctx, pprof.Labels("troupe.worker", fmt.Sprint(w.id)), func(context.Context) {
			w.run(r)
		})
	})
}

// exited folds the counters of a worker that exits into the pool's.
func (p *Pool[M]) exited(w *worker[M]) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.retired.handled += w.handled.Load()
	p.retired.failed += w.failed.Load()
	p.retired.panicked += w.panicked.Load()
	p.workers = slices.DeleteFunc(p.workers, func(x *worker[M]) bool { return x == w })
}

// restarted counts a worker panic against the pool's restart intensity and
// escalates when it is exceeded.
func (p *Pool[M]) restarted(r *poolRun[M], perr *PanicError) {
	now := time.Now()
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.panics = slices.DeleteFunc(append(p.panics, now), func(t time.Time) bool {
		return now.Sub(t) >= p.cfg.workerWindow
	})
	if len(p.panics) > p.cfg.workerRestarts {
		p.panics = p.panics[:0]
		r.escalate(perr)
		if p.key == nil {
			// Stop the workers now rather than when the Run's goroutine
			// gets to it: each finishes the message in hand (the one that
			// panicked after its retries), and no worker starts another.
			p.retireLocked()
		}
	}
}

// drainAlone drains the mailbox on the calling goroutine: the Run ended on a
// panic and its ctx ended too, after the workers had stopped.
func (p *Pool[M]) drainAlone(r *poolRun[M]) {
	p.wmu.Lock()
	w := p.addWorker(nil)
	p.wmu.Unlock()
	defer p.exited(w)
	dctx := r.drainCtx()
	if p.hasCarry {
		m := p.carry
		p.clearCarry()
		w.drainOne(dctx, r, m)
	}
	w.drain(dctx, r)
}

func (p *Pool[M]) clearCarry() {
	var zero M
	p.carry, p.hasCarry = zero, false
}

// PoolStats is a snapshot of a pool's counters.
type PoolStats struct {
	// Stats sums the pool's counters as for an [Actor]. Queued counts the
	// mailbox only, not the messages a keyed pool has handed to a worker.
	Stats
	// Workers is the number of workers asked for ([NewPool],
	// [Pool.SetWorkers]); while a resize is under way the live workers,
	// listed in PerWorker, may differ.
	Workers int
	// Busy is the number of workers running the handler.
	Busy int
	// PerWorker lists the live workers, oldest first.
	PerWorker []WorkerStats
}

// WorkerStats is a snapshot of one worker's counters.
type WorkerStats struct {
	// ID numbers the pool's workers from 0 in the order they started; a
	// restart after a panic keeps the number, a new Run or a resize gives
	// new ones.
	ID int
	// Handled, Failed and Panics count as in [Stats], for this worker.
	Handled, Failed, Panics uint64
	// Busy reports whether the worker is running the handler.
	Busy bool
	// Queued is the number of messages handed to the worker but not
	// started (keyed pools only).
	Queued int
	// Retiring reports whether the worker exits after the message in hand.
	Retiring bool
}

// Stats returns a snapshot of the pool's counters, per pool and per worker.
// Each counter is exact but they are read one by one while the workers run,
// so they do not form a single atomic snapshot. It allocates the PerWorker
// slice.
func (p *Pool[M]) Stats() PoolStats {
	q := len(p.mbox)
	s := PoolStats{
		Stats: Stats{
			Name:        p.name,
			Queued:      q,
			Capacity:    cap(p.mbox),
			DeadLetters: p.dead.Load(),
			Evicted:     p.evicted.Load(),
			OldestWait:  p.wait.oldest(q),
			Running:     p.state.Load() == running,
		},
		Workers: int(p.want.Load()),
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	s.Handled, s.Failed, s.Panics = p.retired.handled, p.retired.failed, p.retired.panicked
	s.PerWorker = make([]WorkerStats, 0, len(p.workers))
	for _, w := range p.workers {
		ws := WorkerStats{
			ID:       w.id,
			Handled:  w.handled.Load(),
			Failed:   w.failed.Load(),
			Panics:   w.panicked.Load(),
			Busy:     w.busy.Load(),
			Queued:   len(w.in),
			Retiring: w.retiring.Load(),
		}
		s.Handled += ws.Handled
		s.Failed += ws.Failed
		s.Panics += ws.Panics
		if ws.Busy {
			s.Busy++
		}
		s.PerWorker = append(s.PerWorker, ws)
	}
	return s
}

// Len returns the number of messages in the mailbox.
func (p *Pool[M]) Len() int { return len(p.mbox) }

// Cap returns the size of the mailbox.
func (p *Pool[M]) Cap() int { return cap(p.mbox) }
