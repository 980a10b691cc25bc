package actor

import (
	"context"
	"fmt"
)

// KeyedStats is a snapshot of a [Keyed]'s counters.
type KeyedStats struct {
	// Name is the Keyed's name.
	Name string
	// Keys is the number of live keys.
	Keys int
	// Created counts the keys' actors created by a first message;
	// Passivated those stopped by [WithIdleTimeout]; Removed those removed
	// after too many panics or a failed factory ([WithKeyRestarts]).
	Created, Passivated, Removed uint64
	// Restarted counts the restarts of keys' actors after a panic.
	Restarted uint64
	// Running reports whether a Run is active.
	Running bool
}

// Stats returns a snapshot of the Keyed's counters. It does not visit the
// keys: it costs the same with one key or a million.
func (kd *Keyed[K, M]) Stats() KeyedStats {
	kd.mu.RLock()
	defer kd.mu.RUnlock()
	return KeyedStats{
		Name:       kd.name,
		Keys:       len(kd.keys),
		Created:    kd.created,
		Passivated: kd.passivated,
		Removed:    kd.removed,
		Restarted:  kd.restarted,
		Running:    kd.run.Load() != nil,
	}
}

// Keys returns the live keys, in no particular order. It allocates the
// slice; nothing is kept per key for it when nobody asks.
func (kd *Keyed[K, M]) Keys() []K {
	kd.mu.RLock()
	defer kd.mu.RUnlock()
	keys := make([]K, 0, len(kd.keys))
	for k := range kd.keys {
		keys = append(keys, k)
	}
	return keys
}

// KeyStats returns the counters of key's actor, as [Actor.Stats] does an
// actor's, and false if key has no actor (never sent to, passivated or
// removed). Its Name is the Keyed's; Running reports whether the key's
// loop is queued for or run by a runner: it is false once the key has handled its messages
// and parked. Its OldestWait is 0 unless the head message is among the
// last few accepted.
func (kd *Keyed[K, M]) KeyStats(key K) (Stats, bool) {
	kd.mu.RLock()
	k := kd.keys[key]
	kd.mu.RUnlock()
	if k == nil {
		return Stats{}, false
	}
	s := k.mb.stats([]*loop[M]{&k.l})
	k.mb.mu.Lock()
	s.Running = !k.l.parked
	k.mb.mu.Unlock()
	return s, true
}

// To returns a [KeyRef] that sends to key: a [Sender] for [Ask].
func (kd *Keyed[K, M]) To(key K) KeyRef[K, M] { return KeyRef[K, M]{kd, key} }

// A KeyRef sends to one key of a [Keyed]; see [Keyed.To]. It may be
// copied.
type KeyRef[K comparable, M any] struct {
	kd  *Keyed[K, M]
	key K
}

// Send is [Keyed.Send] to the KeyRef's key.
func (r KeyRef[K, M]) Send(ctx context.Context, m M) error { return r.kd.Send(ctx, r.key, m) }

// TrySend is [Keyed.TrySend] to the KeyRef's key.
func (r KeyRef[K, M]) TrySend(m M) error { return r.kd.TrySend(r.key, m) }

// By returns an inbox view of the Keyed that sends each message to the key
// keyOf returns for it: what the bus delivers events to, as in
// bus.Subscribe(b, orders.By(func(e OrderCreated) string { return e.ID })).
// It panics if keyOf is nil.
func (kd *Keyed[K, M]) By(keyOf func(M) K) *KeyedInbox[K, M] {
	if keyOf == nil {
		panic(fmt.Sprintf("actor: By(%q): nil keyOf", kd.name))
	}
	return &KeyedInbox[K, M]{kd, keyOf}
}

// A KeyedInbox is an inbox view of a [Keyed] whose messages carry their
// key; see [Keyed.By]. It is safe for concurrent use.
type KeyedInbox[K comparable, M any] struct {
	kd    *Keyed[K, M]
	keyOf func(M) K
}

// Name returns the Keyed's name.
func (in *KeyedInbox[K, M]) Name() string { return in.kd.name }

// Send is [Keyed.Send] to m's key.
func (in *KeyedInbox[K, M]) Send(ctx context.Context, m M) error {
	return in.kd.Send(ctx, in.keyOf(m), m)
}

// TrySend is [Keyed.TrySend] to m's key.
func (in *KeyedInbox[K, M]) TrySend(m M) error { return in.kd.TrySend(in.keyOf(m), m) }

// Offer is [Keyed.Offer] to m's key.
func (in *KeyedInbox[K, M]) Offer(ctx context.Context, m M) error {
	return in.kd.Offer(ctx, in.keyOf(m), m)
}

// Displace is [Keyed.Displace] to m's key.
func (in *KeyedInbox[K, M]) Displace(ctx context.Context, m M) (old M, evicted bool, err error) {
	return in.kd.Displace(ctx, in.keyOf(m), m)
}
