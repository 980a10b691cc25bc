package actor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of a [Keyed].
var (
	// ErrTooManyKeys is returned by the sends of a [Keyed] for a new key
	// when it holds as many keys as [WithMaxKeys] allows.
	ErrTooManyKeys = errors.New("actor: too many keys")

	// ErrKeyRestarts is the reason (wrapped, with the key and the last
	// [*PanicError]) of the dead letters of a key removed because its
	// handler panicked more often than [WithKeyRestarts] allows.
	ErrKeyRestarts = errors.New("actor: key restarted too often")

	// ErrFactory is the reason (wrapped, with the key and the factory's
	// [*PanicError] or [ErrNilHandler]) of the dead letters of a key whose
	// factory panicked or returned nil.
	ErrFactory = errors.New("actor: factory failed")
)

// A Keyed holds one actor per key, created by the first message for its
// key, with a handler made by a factory for that key: a customer's, an
// order's, a device's own actor, its state in the handler's closure.
//
// Each key's messages are handled one at a time, in the order they were
// accepted, and keys never wait for each other: a key whose handler is
// stuck holds up no other key. A key's actor is a mailbox and the handler
// loop of an [Actor]; it runs on a goroutine only while it has messages,
// so an idle key costs its mailbox and no goroutine.
//
// A Keyed is a supervisor.Runner: its Run runs the keys' actors, and when
// its context ends, refuses new messages ([ErrStopped]), lets every key
// drain its mailbox within the drain timeout and reports what is left, as
// an actor does; keys still in their handler then are named in a
// [*StuckKeysError]. A key whose handler panics is restarted at once from
// the factory, its queued messages kept and the message in hand retried as
// [WithMaxRetries] says; a key that panics too often is removed
// ([WithKeyRestarts]), and the Keyed's Run fails only when its keys panic
// too often in all ([WithKeyedRestarts]). Idle keys are passivated with
// [WithIdleTimeout]; [WithMaxKeys] bounds their number.
//
// Every message a send accepted is handled or reported as a [DeadLetter],
// whose Actor is the Keyed's name. A Keyed is safe for concurrent use and
// must not be copied.
type Keyed[K comparable, M any] struct {
	name       string
	cfg        keyedConfig
	newHandler func(K) Handler[M]

	// mu guards the keys, the state, the Run in progress and the
	// counters. It is taken before a key's mailbox lock, never under it;
	// sends to an existing key take it for reading only.
	mu     sync.RWMutex
	state  int32 // a mailbox Run state
	keys   map[K]*keyActor[K, M]
	run    *keyedRun
	panics restartWindow
	// peak is the most keys held since keys was last made: a map does not
	// shrink, so passivation makes a new one when most keys are gone.
	peak int

	created, passivated, restarted, removed uint64

	// waking counts the keys unparked by a send that has not called
	// resume yet: the end of a Run waits for them, so that no message
	// is left in a key it forgets.
	waking atomic.Int64
}

// A keyActor is the actor of one key: a mailbox and its loop, which runs
// on a goroutine only while the mailbox has messages (see loop.sched).
type keyActor[K comparable, M any] struct {
	kd  *Keyed[K, M]
	key K
	mb  mailbox[M]
	l   loop[M]
	// seen is the mailbox's count of pushed messages at the last check
	// for idle keys; restarts the key's restart intensity, made at its
	// first panic. waiting is set while the loop is neither parked nor run
	// by a goroutine: it was unparked, or halted, when no goroutine could
	// start, and the next Run starts it. All three are guarded by kd.mu.
	seen     uint64
	restarts *restartWindow
	waiting  bool
	// run is the Run whose goroutine runs the loop, set by whoever starts
	// it; ctx is the handler's context, kept in the key so that starting
	// a goroutine allocates nothing.
	run *keyedRun
	ctx keyContext[K, M]
}

// keyContext is the context a key's handler is called with: the Run's
// handlers' context, marked with the key's mailbox (see Send's deadlock
// check) and its key (see [KeyOf]).
type keyContext[K comparable, M any] struct {
	context.Context
	k *keyActor[K, M]
}

// Value returns the key's mailbox for selfKey, its key for keyOfKey, and
// otherwise the Run's context's value.
func (c *keyContext[K, M]) Value(key any) any {
	switch key.(type) {
	case selfKey:
		return &c.k.mb
	case keyOfKey:
		return c.k.key
	}
	return c.Context.Value(key)
}

// keyOfKey marks the key in a key's handler context.
type keyOfKey struct{}

// KeyOf returns the key of the [Keyed] actor whose handler was called with
// ctx (or a context made from it), and false when ctx is not a keyed
// handler's or its key is not a K.
func KeyOf[K comparable](ctx context.Context) (K, bool) {
	k, ok := ctx.Value(keyOfKey{}).(K)
	return k, ok
}

// keyBatch is the most messages a key's loop takes from its mailbox at
// once: fewer than an actor's, as every key holds its batch while idle.
const keyBatch = 4

// keyedRun is the state of one Run of a Keyed. Its fields other than the
// channels and hctx are guarded by Keyed.mu.
type keyedRun struct {
	// hctx is the handlers' context.
	hctx context.Context
	// live counts the goroutines running a key's loop; one is sent on
	// idle when it drops to zero.
	live int
	idle chan struct{}
	// gaveUp is closed, and perr set, when the keys panicked too often;
	// halted is set then, until the drain, if ctx ends meanwhile: no key
	// starts.
	gaveUp chan struct{}
	perr   *PanicError
	halted bool
	// sweep stops the passivation of idle keys (see armSweep).
	sweep func() bool

	drainOnce sync.Once
	dctx      context.Context
	dcancel   context.CancelFunc
}

// NewKeyed returns a Keyed named name whose key's actor handles messages
// with the handler newHandler returns for the key. newHandler is called
// when a key's first message is to be handled, and again when its handler
// panicked, so that the key restarts from fresh state. It takes the options
// of [New], which apply to each key's actor ([WithMailbox] sizes each key's
// mailbox), and the [KeyedOption]s. It panics if name is empty or
// newHandler is nil.
func NewKeyed[K comparable, M any](name string, newHandler func(key K) Handler[M], opts ...KeyedOption) *Keyed[K, M] {
	if name == "" {
		panic("actor: NewKeyed: empty name")
	}
	if newHandler == nil {
		panic(fmt.Sprintf("actor: NewKeyed(%q): nil newHandler", name))
	}
	return &Keyed[K, M]{
		name:       name,
		cfg:        newKeyedConfig(opts),
		newHandler: newHandler,
		keys:       make(map[K]*keyActor[K, M]),
	}
}

// Name returns the name given to [NewKeyed].
func (kd *Keyed[K, M]) Name() string { return kd.name }

// lookup returns the actor of key, created if there is none. It fails with
// ErrStopped when the Keyed refuses messages, and ErrTooManyKeys.
func (kd *Keyed[K, M]) lookup(key K) (*keyActor[K, M], error) {
	kd.mu.RLock()
	state, k := kd.state, kd.keys[key]
	kd.mu.RUnlock()
	if state >= draining {
		return nil, ErrStopped
	}
	if k != nil {
		return k, nil
	}
	kd.mu.Lock()
	defer kd.mu.Unlock()
	if kd.state >= draining {
		return nil, ErrStopped
	}
	if k = kd.keys[key]; k != nil {
		return k, nil
	}
	if len(kd.keys) >= kd.cfg.maxKeys {
		return nil, ErrTooManyKeys
	}
	k = &keyActor[K, M]{kd: kd, key: key}
	k.ctx.k = k
	mb, l := &k.mb, &k.l
	mb.name, mb.cfg = kd.name, &kd.cfg.config
	mb.q.init(kd.cfg.mailbox)
	mb.wait.init(0) // a key's OldestWait is a rough estimate; see waitClock
	if kd.state == running {
		mb.state.Store(running)
	}
	l.mb, l.sched, l.id = mb, k, -1
	_, l.asks = any(*new(M)).(abandoner)
	l.batch = make([]M, 0, min(keyBatch, kd.cfg.mailbox))
	mb.park(l) // asleep until its first message
	kd.keys[key] = k
	kd.peak = max(kd.peak, len(kd.keys))
	kd.created++
	return k, nil
}

// TrySend puts m in key's mailbox, creating key's actor if there is none,
// if there is room, and never waits. It returns [ErrMailboxFull] when the
// key's mailbox is full, [ErrTooManyKeys] when key is new and the Keyed
// holds [WithMaxKeys] keys, and [ErrStopped] when the Keyed has stopped.
// It does not allocate for an existing key.
func (kd *Keyed[K, M]) TrySend(key K, m M) error {
	for {
		k, err := kd.lookup(key)
		if err != nil {
			return err
		}
		// ErrStopped from a key that was passivated or removed meanwhile:
		// the next lookup makes a new one, or says the Keyed stopped.
		if err = k.mb.trySend(m); err != ErrStopped {
			return err
		}
	}
}

// Send puts m in key's mailbox, creating key's actor if there is none,
// waiting for room until ctx is done, with the errors of [Actor.Send] and
// [Keyed.TrySend]. It does not allocate for an existing key while there is
// room.
func (kd *Keyed[K, M]) Send(ctx context.Context, key K, m M) error {
	for {
		k, err := kd.lookup(key)
		if err != nil {
			return err
		}
		if err = k.mb.send(ctx, m); err != ErrStopped {
			return err
		}
	}
}

// Displace puts m in key's mailbox, evicting the key's oldest queued
// message when the mailbox is full, as [Actor.Displace] does.
func (kd *Keyed[K, M]) Displace(key K, m M) (old M, evicted bool, err error) {
	for {
		k, err := kd.lookup(key)
		if err != nil {
			return old, false, err
		}
		if old, evicted, err = k.mb.displace(m); err != ErrStopped {
			return old, evicted, err
		}
	}
}

// unparked counts k as waking until resume.
func (k *keyActor[K, M]) unparked() { k.kd.waking.Add(1) }

// resume runs k's loop, just unparked by a send, on a new goroutine, if a
// Run is active and has not given up; otherwise the next Run does.
func (k *keyActor[K, M]) resume() {
	kd := k.kd
	kd.mu.Lock()
	kd.waking.Add(-1)
	r := kd.run
	if r == nil || r.halted {
		k.waiting = true
		kd.mu.Unlock()
		return
	}
	r.live++
	k.run = r
	kd.mu.Unlock()
	go k.serve()
}

// Run runs the keys' actors until ctx is done or the keys panicked more
// often than [WithKeyedRestarts] allows.
//
// When ctx is done, the Keyed refuses messages (sends return
// [ErrStopped]), every key handles what is queued for up to the drain
// timeout, what is left is reported as dead letters, the keys are
// forgotten and Run returns nil, or a [*StuckKeysError] naming the keys
// whose handler had not returned by the drain timeout plus a grace of
// [StuckGrace]. Their goroutines are left running and report their
// messages when the handler returns. When the keys panicked too often,
// every key finishes the message in hand and Run returns the last
// [*PanicError]; the queued messages wait for the next Run, or for
// [Keyed.Retire]. Only one Run may be active at a time; another returns
// [ErrAlreadyRunning].
//
// The goroutines running a key carry the pprof label "troupe.actor" with
// the Keyed's name, beside any labels in ctx.
func (kd *Keyed[K, M]) Run(ctx context.Context) error {
	kd.mu.Lock()
	if kd.run != nil {
		kd.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrAlreadyRunning, kd.name)
	}
	hctx := pprof.WithLabels(ctx, pprof.Labels("troupe.actor", kd.name))
	r := &keyedRun{hctx: hctx, idle: make(chan struct{}, 1), gaveUp: make(chan struct{})}
	kd.run, kd.state = r, running
	kd.startAwake(r)
	kd.mu.Unlock()
	defer r.endDrain()

	refused := make(chan struct{})
	stopRefuse := context.AfterFunc(ctx, func() {
		kd.refuse()
		close(refused)
	})
	if d := kd.cfg.idleTimeout; d > 0 {
		kd.mu.Lock()
		kd.armSweep(r, d)
		kd.mu.Unlock()
	}

	select {
	case <-ctx.Done():
	case <-r.gaveUp:
		kd.waitLive(r, nil)
		if stopRefuse() {
			// A crash, not a stop: the keys keep their queues for the
			// next Run.
			kd.mu.Lock()
			defer kd.mu.Unlock()
			r.stopSweep()
			kd.run, kd.state = nil, idle
			for _, k := range kd.keys {
				k.mb.state.Store(idle)
			}
			return r.perr
		}
		// ctx ended while the keys were stopping: drain them.
		<-refused
		kd.mu.Lock()
		r.halted = false
		kd.startAwake(r)
		kd.mu.Unlock()
	}
	<-refused
	deadline := time.NewTimer(kd.cfg.drainTimeout + StuckGrace)
	defer deadline.Stop()
	stuck := kd.waitLive(r, deadline.C)

	kd.mu.Lock()
	defer kd.mu.Unlock()
	r.stopSweep()
	kd.run, kd.state = nil, stopped
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

// StuckGrace is how long, past the drain timeout, the Run of a [Keyed]
// waits for the handlers that have not returned before it names their keys
// in a [*StuckKeysError].
const StuckGrace = 100 * time.Millisecond

// startAwake starts a goroutine for every waiting key, and lifts the halt
// of the last Run that gave up. kd.mu is held.
func (kd *Keyed[K, M]) startAwake(r *keyedRun) {
	for _, k := range kd.keys {
		k.l.halt.Store(false)
		k.mb.mu.Lock()
		if k.mb.state.Load() == idle {
			k.mb.state.Store(running)
		}
		k.mb.mu.Unlock()
		if k.waiting {
			k.waiting = false
			r.live++
			k.run = r
			go k.serve()
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

// waitLive waits until no goroutine runs a key, or deadline fires; then it
// returns the keys still held up in their handler.
func (kd *Keyed[K, M]) waitLive(r *keyedRun, deadline <-chan time.Time) *StuckKeysError {
	for {
		kd.mu.RLock()
		live, waking := r.live, kd.waking.Load()
		kd.mu.RUnlock()
		if live == 0 && waking == 0 {
			return nil
		}
		if live == 0 {
			// A send unparked a key and is about to resume it: within
			// a few instructions.
			runtime.Gosched()
			continue
		}
		select {
		case <-r.idle:
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

// serve runs k's loop, on the goroutine a send or the Run started, until
// it parks with an empty mailbox, restarting it from the factory after a
// panic, and drains it when the Run's context ended.
func (k *keyActor[K, M]) serve() {
	kd, r := k.kd, k.run
	defer kd.exited(r)
	if k.ctx.Context != r.hctx {
		k.ctx.Context = r.hctx
	}
	ctx := &k.ctx
	pprof.SetGoroutineLabels(ctx)
	for {
		if k.l.handler == nil {
			h, err := makeHandler(func() Handler[M] { return kd.newHandler(k.key) })
			if err != nil {
				kd.remove(k, fmt.Errorf("%w for key %v: %w", ErrFactory, k.key, err))
				return
			}
			k.l.handler = h
		}
		perr, asleep := k.l.serve(ctx)
		if asleep {
			return // k belongs to the goroutine its next message starts
		}
		if perr == nil {
			break
		}
		k.l.handler = nil // the restart starts from the factory
		if !kd.restartKey(r, k, perr) {
			return
		}
	}
	if k.l.halt.Load() {
		// The Keyed gave up: k waits for the next Run or the drain.
		kd.mu.Lock()
		k.waiting = true
		kd.mu.Unlock()
		return
	}
	if r.hctx.Err() != nil {
		k.l.drain(r.drainCtx(kd.cfg.drainTimeout))
		k.mb.finish([]*loop[M]{&k.l})
	}
}

// exited counts a key's goroutine out of r.
func (kd *Keyed[K, M]) exited(r *keyedRun) {
	kd.mu.Lock()
	r.live--
	zero := r.live == 0
	kd.mu.Unlock()
	if zero {
		select {
		case r.idle <- struct{}{}:
		default:
		}
	}
}

// restartKey counts k's panic against its intensity and the Keyed's. It
// reports whether k is to run again: false when k was removed or the Keyed
// gave up.
func (kd *Keyed[K, M]) restartKey(r *keyedRun, k *keyActor[K, M], perr *PanicError) bool {
	now := time.Now()
	kd.mu.Lock()
	kd.restarted++
	if k.restarts == nil {
		k.restarts = new(restartWindow)
	}
	keyOK := k.restarts.allow(now, kd.cfg.keyRestarts, kd.cfg.keyWindow)
	keyedOK := kd.panics.allow(now, kd.cfg.keyedRestarts, kd.cfg.keyedWindow)
	if !keyedOK && r.perr == nil {
		r.perr, r.halted = perr, true
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

// remove forgets k, whose goroutine calls it, and reports its messages as
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

// armSweep makes the clock passivate the idle keys after d, and again
// every d while r runs. kd.mu is held.
func (kd *Keyed[K, M]) armSweep(r *keyedRun, d time.Duration) {
	r.sweep = kd.cfg.clk().AfterFunc(d, func() {
		kd.mu.Lock()
		defer kd.mu.Unlock()
		if kd.run != r || r.halted {
			return
		}
		kd.passivateIdle()
		kd.armSweep(r, d)
	})
}

// stopSweep stops the passivation of idle keys. Keyed.mu is held.
func (r *keyedRun) stopSweep() {
	if r.sweep != nil {
		r.sweep()
	}
}

// passivateIdle stops and forgets the keys that had no message since the
// last call and are parked with an empty mailbox and no pending timer. A
// key's mailbox is stopped under its lock, so a send either got in before
// (and the key is not idle) or fails with ErrStopped and looks the key up
// again. kd.mu is held.
func (kd *Keyed[K, M]) passivateIdle() {
	if kd.state != running {
		return
	}
	for key, k := range kd.keys {
		mb := &k.mb
		mb.mu.Lock()
		idle := k.l.parked && mb.q.n == 0 && mb.q.pushed == k.seen && len(mb.timers) == 0
		k.seen = mb.q.pushed
		if idle {
			mb.state.Store(stopped)
			mb.unpark(&k.l)
			mb.closeStop()
		}
		mb.mu.Unlock()
		if idle {
			delete(kd.keys, key)
			kd.passivated++
		}
	}
	if len(kd.keys) < kd.peak/4 {
		// Give the memory of the passivated keys' entries back (a clone
		// would keep the old map's size).
		keys := make(map[K]*keyActor[K, M], len(kd.keys))
		maps.Copy(keys, kd.keys)
		kd.keys, kd.peak = keys, len(keys)
	}
}

// drainCtx returns the context of the keys' drain: the handlers' context
// without its cancellation, with the drain timeout from the first call.
// After the Run returned, it is cancelled.
func (r *keyedRun) drainCtx(timeout time.Duration) context.Context {
	r.drainOnce.Do(func() { r.dctx, r.dcancel = context.WithTimeout(context.WithoutCancel(r.hctx), timeout) })
	return r.dctx
}

// endDrain cancels the drain's context, once the Run is over.
func (r *keyedRun) endDrain() {
	r.drainCtx(0)
	r.dcancel()
}

// Retire stops for good a Keyed that no Run is using, as [Actor.Retire]
// does an actor: sends fail with [ErrStopped] until the next Run, and every
// message its keys accepted and did not handle is reported as a dead
// letter. While a Run is active it does nothing.
func (kd *Keyed[K, M]) Retire() {
	kd.mu.Lock()
	if kd.run != nil {
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

// StuckKeysError is returned by the Run of a [Keyed] when some keys'
// handlers had not returned by the drain timeout after its context ended.
// It matches [ErrDrainTimeout].
type StuckKeysError struct {
	// Keyed is the Keyed's name.
	Keyed string
	// Keys are the stuck keys, formatted with fmt.Sprint.
	Keys []string
	// Timeout is the drain timeout they exceeded.
	Timeout time.Duration
}

// Error names the stuck keys.
func (e *StuckKeysError) Error() string {
	return fmt.Sprintf("actor: %s: %d keys still in their handler %v after the drain began: %s",
		e.Keyed, len(e.Keys), e.Timeout, strings.Join(e.Keys, ", "))
}

// Unwrap returns [ErrDrainTimeout].
func (e *StuckKeysError) Unwrap() error { return ErrDrainTimeout }
