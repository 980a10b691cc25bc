package actor

import (
	"context"
	"errors"
	"fmt"
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
// loop of an [Actor]; it runs only while it has messages, on one of a few
// runner goroutines the Keyed shares among its keys (about GOMAXPROCS of
// them, plus one for each key held up in its handler for more than a
// millisecond), so an idle key costs its mailbox and no goroutine, and an
// idle Keyed no goroutine at all.
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
	run    atomic.Pointer[keyedRun[K, M]] // written under mu
	panics restartWindow
	// peak is the most keys held since keys was last made: a map does not
	// shrink, so passivation makes a new one when most keys are gone.
	peak int

	created, passivated, restarted, removed uint64
	// dead counts the keys' dead letters (see config.keyedDead).
	dead [3]atomic.Uint64

	// waking counts the keys unparked by a send that has not called
	// resume yet: the end of a Run waits for them, so that no message
	// is left in a key it forgets.
	waking atomic.Int64
}

// A keyActor is the actor of one key: a mailbox and its loop, which runs
// on a runner only while the mailbox has messages (see loop.sched and
// keyed_sched.go).
type keyActor[K comparable, M any] struct {
	kd  *Keyed[K, M]
	key K
	mb  mailbox[M]
	l   loop[M]
	// seen is the mailbox's count of pushed messages at the last check
	// for idle keys; restarts the key's restart intensity, made at its
	// first panic. waiting is set while the loop is neither parked nor
	// queued or run by a runner: it was unparked, or halted, when no Run
	// could take it, and the next Run queues it. All three are guarded by
	// kd.mu.
	seen     uint64
	restarts *restartWindow
	waiting  bool
	// ctx is the handler's context, kept in the key so that running it
	// allocates nothing.
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
	kd := &Keyed[K, M]{
		name:       name,
		newHandler: newHandler,
		keys:       make(map[K]*keyActor[K, M]),
	}
	kd.cfg.init(opts)
	kd.cfg.extrasToSet().keyedDead = &kd.dead
	return kd
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
	mb.q.init(kd.cfg.mailbox, kd.cfg.extras().propagator != nil)
	mb.wait.init(0) // a key's OldestWait is a rough estimate; see waitClock
	if kd.state == running {
		mb.state.Store(running)
	}
	l.mb, l.sched, l.id = mb, k, -1
	_, l.asks = any(*new(M)).(abandoner)
	l.batch = make([]M, 0, min(keyBatch, kd.cfg.mailbox))
	if mb.q.carries {
		l.carried = make([]any, cap(l.batch))
	}
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
func (kd *Keyed[K, M]) TrySend(key K, m M) error { return kd.trySend(key, m, nil) }

// Offer is [Keyed.TrySend] that carries what the propagator
// ([WithPropagator]) takes from ctx to the handler, as [Actor.Offer] does.
// It never waits: ctx only carries values.
func (kd *Keyed[K, M]) Offer(ctx context.Context, key K, m M) error {
	return kd.trySend(key, m, kd.cfg.extract(ctx))
}

func (kd *Keyed[K, M]) trySend(key K, m M, carried any) error {
	for {
		k, err := kd.lookup(key)
		if err != nil {
			return err
		}
		// ErrStopped from a key that was passivated or removed meanwhile:
		// the next lookup makes a new one, or says the Keyed stopped.
		if err = k.mb.trySend(m, carried); err != ErrStopped {
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
func (kd *Keyed[K, M]) Displace(ctx context.Context, key K, m M) (old M, evicted bool, err error) {
	for {
		k, err := kd.lookup(key)
		if err != nil {
			return old, false, err
		}
		if old, evicted, err = k.mb.displace(ctx, m); err != ErrStopped {
			return old, evicted, err
		}
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
