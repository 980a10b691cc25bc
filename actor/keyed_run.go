package actor

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

// keyedRun is the state of one Run of a Keyed. Its fields other than the
// channels, hctx and those under mu are guarded by Keyed.mu.
type keyedRun[K comparable, M any] struct {
	kd *Keyed[K, M]
	// hctx is the handlers' context.
	hctx context.Context
	// idle is sent on when the last runner exits with live at zero.
	idle chan struct{}
	// gaveUp is closed, and perr set, when the keys panicked too often.
	gaveUp chan struct{}
	perr   *PanicError
	// sweep stops the passivation of idle keys (see armSweep).
	sweep func() bool

	drainOnce sync.Once
	dctx      context.Context
	dcancel   context.CancelFunc

	// mu guards the fields below: the keys waiting for a runner and the
	// runners (see keyed_sched.go). It is taken under Keyed.mu, never the
	// other way round.
	mu sync.Mutex
	// halted is set, under Keyed.mu and mu, when the keys panicked too
	// often, until the drain if ctx ends meanwhile: no key is queued.
	halted bool
	// live counts the keys queued or being run.
	live int
	// queue holds the n keys waiting for a runner from queue[head], a
	// ring.
	queue   []*keyActor[K, M]
	head, n int
	// runners are the live runners, spare the records of those gone;
	// limit is the most runners that may make progress at once, blocked
	// the number the stall watch last found held up.
	runners []*keyRunner[K, M]
	spare   []*keyRunner[K, M]
	limit   int
	blocked int
	// watch is the stall watch's timer, watching set while it is armed;
	// epoch counts its rounds.
	watch    *time.Timer
	watching bool
	epoch    uint64
}

// unparked counts k as waking until resume.
func (k *keyActor[K, M]) unparked() { k.kd.waking.Add(1) }

// resume queues k's loop, just unparked by a send, for a runner if a Run
// is active and has not given up; otherwise the next Run does.
func (k *keyActor[K, M]) resume() {
	kd := k.kd
	if r := kd.run.Load(); r != nil && r.enqueue(k) {
		kd.waking.Add(-1) // after enqueue counted k live: see waitLive
		return
	}
	kd.mu.Lock()
	if r := kd.run.Load(); r == nil || !r.enqueue(k) {
		k.waiting = true
	}
	kd.waking.Add(-1)
	kd.mu.Unlock()
}

// Run runs the keys' actors until ctx is done or the keys panicked more
// often than [WithKeyedRestarts] allows.
//
// When ctx is done, the Keyed refuses messages (sends return
// [ErrStopped]), every key handles what is queued for up to the drain
// timeout, what is left is reported as dead letters, the keys are
// forgotten and Run returns nil, or a [*StuckKeysError] naming the keys
// whose handler had not returned by the drain timeout plus a grace of
// [StuckGrace]. Their runners are left running and report their
// messages when the handler returns; a later Run starts new actors for
// those keys meanwhile, as a supervisor starts a new child beside one it
// abandoned. When the keys panicked too often,
// every key finishes the message in hand and Run returns the last
// [*PanicError]; the queued messages wait for the next Run, or for
// [Keyed.Retire]. If ctx ends meanwhile, the keys drain as above before
// Run returns the [*PanicError]; once ctx ended, panics no longer make
// the Keyed give up. Only one Run may be active at a time; another
// returns [ErrAlreadyRunning].
//
// The runner goroutines running the keys carry the pprof label
// "troupe.actor" with the Keyed's name, beside any labels in ctx.
func (kd *Keyed[K, M]) Run(ctx context.Context) error {
	kd.mu.Lock()
	if kd.run.Load() != nil {
		kd.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrAlreadyRunning, kd.name)
	}
	hctx := pprof.WithLabels(ctx, pprof.Labels("troupe.actor", kd.name))
	r := &keyedRun[K, M]{kd: kd, hctx: hctx, idle: make(chan struct{}, 1), gaveUp: make(chan struct{}),
		limit: runtime.GOMAXPROCS(0)}
	kd.run.Store(r)
	kd.state = running
	kd.startAwake(r)
	kd.mu.Unlock()
	defer r.endDrain()

	var refusal refusal
	refusal.arm(ctx, func() {
		kd.refuse()
		refusal.done()
	})
	if d := kd.cfg.idleTimeout; d > 0 {
		kd.mu.Lock()
		kd.armSweep(r, d)
		kd.mu.Unlock()
	}

	select {
	case <-ctx.Done():
	case <-r.gaveUp:
		// Every key finishes the message in hand, unless ctx ends
		// meanwhile: then they drain, as below, a stuck one named.
		kd.waitLive(r, nil, ctx.Done())
		// A crash only if ctx has not ended: if it has, keys may still
		// run, and the refusal, even if disarm could still stop it (the
		// context closes its channel before it starts its AfterFuncs),
		// is to run and the keys to drain.
		if ctx.Err() == nil && refusal.disarm() {
			// A crash, not a stop: the keys keep their queues for the
			// next Run.
			kd.mu.Lock()
			defer kd.mu.Unlock()
			r.stopSweep()
			r.stopWatch()
			kd.run.Store(nil)
			kd.state = idle
			for _, k := range kd.keys {
				k.mb.state.Store(idle)
			}
			return r.perr
		}
	}
	refusal.wait()
	deadline := time.NewTimer(kd.cfg.drainTimeout + StuckGrace)
	defer deadline.Stop()
	// From now on the Keyed does not give up (see restartKey). If it did
	// before ctx ended, its keys stop with what they hold: once they have,
	// lift the halt and queue them, so that they drain it.
	kd.mu.Lock()
	halted := r.perr != nil
	kd.mu.Unlock()
	var stuck *StuckKeysError
	if halted {
		stuck = kd.waitLive(r, deadline.C, nil)
		kd.mu.Lock()
		r.mu.Lock()
		r.halted = false
		r.mu.Unlock()
		kd.startAwake(r)
		kd.mu.Unlock()
	}
	if stuck == nil {
		stuck = kd.waitLive(r, deadline.C, nil)
	}

	kd.mu.Lock()
	defer kd.mu.Unlock()
	r.stopSweep()
	r.stopWatch()
	kd.run.Store(nil)
	kd.state = stopped
	for _, k := range kd.keys {
		k.mb.mu.Lock()
		k.mb.state.Store(stopped)
		k.mb.closeStop()
		k.mb.cancelTimers()
		k.mb.mu.Unlock()
	}
	clear(kd.keys)
	if stuck != nil {
		return stuck
	}
	if r.perr != nil {
		return r.perr
	}
	return nil
}

// startAwake queues every waiting key for a runner, and lifts the halt of
// the last Run that gave up. kd.mu is held.
func (kd *Keyed[K, M]) startAwake(r *keyedRun[K, M]) {
	for _, k := range kd.keys {
		k.l.halt.Store(false)
		k.mb.mu.Lock()
		if k.mb.state.Load() == idle {
			k.mb.state.Store(running)
		}
		k.mb.mu.Unlock()
		if k.waiting && r.enqueue(k) {
			k.waiting = false
		}
	}
}

// refuse makes every key refuse messages: the Run's context ended.
func (kd *Keyed[K, M]) refuse() {
	kd.mu.Lock()
	defer kd.mu.Unlock()
	if kd.state != running {
		return
	}
	kd.state = draining
	for _, k := range kd.keys {
		k.mb.refuse()
	}
}

// waitLive waits until no key is queued or run and every runner has
// exited, or deadline fires: then it returns the keys still held up in
// their handler; or until done closes: then it returns nil.
func (kd *Keyed[K, M]) waitLive(r *keyedRun[K, M], deadline <-chan time.Time, done <-chan struct{}) *StuckKeysError {
	for {
		// waking before live: a send's resume counts its key live before
		// it stops counting it as waking.
		waking := kd.waking.Load()
		r.mu.Lock()
		live, runners := r.live, len(r.runners)
		r.mu.Unlock()
		if live == 0 && runners == 0 && waking == 0 {
			return nil
		}
		if live == 0 && runners == 0 {
			// A send unparked a key and is about to resume it: within
			// a few instructions.
			runtime.Gosched()
			continue
		}
		select {
		case <-r.idle:
		case <-done:
			return nil
		case <-deadline:
			kd.mu.RLock()
			defer kd.mu.RUnlock()
			e := &StuckKeysError{Keyed: kd.name, Timeout: kd.cfg.drainTimeout}
			for key, k := range kd.keys {
				if k.l.held() > 0 {
					e.Keys = append(e.Keys, fmt.Sprint(key))
				}
			}
			return e
		}
	}
}

// serve runs k's loop, on a runner of r, until it parks with an empty
// mailbox, restarting it from the factory after a panic, and drains it when
// the Run's context ended.
func (kd *Keyed[K, M]) serve(r *keyedRun[K, M], k *keyActor[K, M]) {
	if k.ctx.Context != r.hctx {
		k.ctx.Context = r.hctx
	}
	ctx := &k.ctx
	for {
		if k.l.handler == nil {
			h, err := makeHandler(func() Handler[M] { return kd.newHandler(k.key) })
			if err != nil {
				kd.remove(k, fmt.Errorf("%w for key %v: %w", ErrFactory, k.key, err))
				return
			}
			k.l.setHandler(h)
		}
		perr, asleep := k.l.serve(ctx)
		if asleep {
			return // k belongs to whoever its next message queues it for
		}
		if perr != nil {
			k.l.setHandler(nil) // the restart starts from the factory
			if !kd.restartKey(r, k, perr) {
				return
			}
			continue
		}
		if !k.l.halt.Load() {
			break
		}
		if kd.haltedWait(k) {
			return
		}
	}
	if r.hctx.Err() != nil {
		// The key refuses first: the Keyed's refusal, run when ctx ended,
		// may come after, and what a send put in the mailbox after the
		// drain would be left in it.
		k.mb.refuse()
		k.l.drain(r.drainCtx(kd.cfg.drainTimeout))
		k.mb.finish([]*loop[M]{&k.l})
	}
}

// haltedWait makes k, whose loop stopped because it is halted, wait for
// the next Run or the drain, and reports true; or reports false if the
// halt was lifted meanwhile, for k to run on. The halt may be one that
// this Run's start, or its drain after it gave up, is about to lift: a
// send can queue k for a runner as soon as the Run is stored, or is no
// longer halted, before startAwake reaches k. startAwake lifts the halts
// and queues the waiting keys under kd.mu, so the halt read under it says
// whether a startAwake is still to come and queue k.
func (kd *Keyed[K, M]) haltedWait(k *keyActor[K, M]) bool {
	kd.mu.Lock()
	defer kd.mu.Unlock()
	if !k.l.halt.Load() {
		return false
	}
	k.waiting = true
	return true
}

// restartKey counts k's panic against its intensity and the Keyed's. It
// reports whether k is to run again: false when k was removed or the Keyed
// gave up.
func (kd *Keyed[K, M]) restartKey(r *keyedRun[K, M], k *keyActor[K, M], perr *PanicError) bool {
	now := time.Now()
	kd.mu.Lock()
	kd.restarted++
	if k.restarts == nil {
		k.restarts = new(restartWindow)
	}
	keyOK := k.restarts.allow(now, kd.cfg.keyRestarts, kd.cfg.keyWindow)
	// Once the Run's context ended (the Keyed refuses messages), the
	// Keyed does not give up: its keys drain, as its Run returns anyway.
	keyedOK := kd.panics.allow(now, kd.cfg.keyedRestarts, kd.cfg.keyedWindow) || kd.state != running
	if !keyedOK && r.perr == nil {
		r.perr = perr
		r.mu.Lock()
		r.halted = true
		r.mu.Unlock()
		close(r.gaveUp)
		for _, k := range kd.keys {
			k.l.halt.Store(true)
		}
	}
	if !keyedOK && keyOK {
		k.waiting = true // for the next Run, or the drain
	}
	kd.mu.Unlock()
	if !keyOK {
		kd.remove(k, fmt.Errorf("%w: key %v: %w", ErrKeyRestarts, k.key, perr))
		return false
	}
	return keyedOK
}

// remove forgets k, whose runner calls it, and reports its messages as
// dead letters with reason; the key's next message starts a new actor.
func (kd *Keyed[K, M]) remove(k *keyActor[K, M], reason error) {
	kd.mu.Lock()
	if kd.keys[k.key] == k {
		delete(kd.keys, k.key)
		kd.removed++
	}
	kd.mu.Unlock()
	// Sends that found k before it was forgotten are queued until retire
	// stops the mailbox, and reported with the rest; later ones get
	// ErrStopped and look the key up again.
	k.mb.state.Store(idle)
	k.mb.retire([]*loop[M]{&k.l}, reason)
}

// drainCtx returns the context of the keys' drain: the handlers' context
// without its cancellation, with the drain timeout from the first call.
// After the Run returned, it is cancelled.
func (r *keyedRun[K, M]) drainCtx(timeout time.Duration) context.Context {
	r.drainOnce.Do(func() { r.dctx, r.dcancel = context.WithTimeout(context.WithoutCancel(r.hctx), timeout) })
	return r.dctx
}

// endDrain cancels the drain's context, once the Run is over.
func (r *keyedRun[K, M]) endDrain() {
	r.drainCtx(0)
	r.dcancel()
}

// Retire stops for good a Keyed that no Run is using, as [Actor.Retire]
// does an actor: sends fail with [ErrStopped] until the next Run, and every
// message its keys accepted and did not handle is reported as a dead
// letter. While a Run is active it does nothing.
func (kd *Keyed[K, M]) Retire() {
	kd.mu.Lock()
	if kd.run.Load() != nil {
		kd.mu.Unlock()
		return
	}
	keys := make([]*keyActor[K, M], 0, len(kd.keys))
	for _, k := range kd.keys {
		keys = append(keys, k)
	}
	clear(kd.keys)
	kd.state = stopped
	kd.mu.Unlock()
	for _, k := range keys {
		k.mb.retire([]*loop[M]{&k.l}, ErrStopped)
	}
}
