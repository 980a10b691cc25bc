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
	// DeadLetters counts the messages accepted and reported as dead
	// letters, over all keys, those passivated or removed included;
	// DeadLettersBy splits them by reason as [Stats] does (a key removed
	// after too many panics, or whose factory failed, counts as
	// Panicked).
	DeadLetters   uint64
	DeadLettersBy DeadLetterCounts
	// Running reports whether a Run is active.
	Running bool
}

// Stats returns a snapshot of the Keyed's counters. It does not visit the
// keys: it costs the same with one key or a million.
func (kd *Keyed[K, M]) Stats() KeyedStats {
	by := DeadLetterCounts{
		Panicked:     kd.dead[0].Load(),
		DrainTimeout: kd.dead[1].Load(),
		Stopped:      kd.dead[2].Load(),
	}
	kd.mu.RLock()
	defer kd.mu.RUnlock()
	return KeyedStats{
		Name:          kd.name,
		Keys:          len(kd.keys),
		Created:       kd.created,
		Passivated:    kd.passivated,
		Removed:       kd.removed,
		Restarted:     kd.restarted,
		DeadLetters:   by.Panicked + by.DrainTimeout + by.Stopped,
		DeadLettersBy: by,
		Running:       kd.run.Load() != nil,
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
// loop is queued for or run by a runner: it is false once the key has
// handled its messages and parked. Its OldestWait is 0 unless the head
// message is among the last few accepted.
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

// Len returns the messages the Keyed's keys hold, queued or taken and not
// handled yet: what the bus reports as a subscription's depth (it makes a
// KeyedInbox a bus.Depther). While a Run is active it visits only the keys
// that have messages (those queued for or run by a runner), so it costs in
// proportion to the keys that are busy, not to the keys held; otherwise it
// visits every key. The count is a snapshot while messages flow.
func (in *KeyedInbox[K, M]) Len() int { return in.kd.queued() }

// Cap returns the size of one key's mailbox ([WithMailbox]). The bus
// counts a slow subscription as recovered when Len is down to a quarter of
// Cap: for a Keyed, when all its keys together hold less than a quarter of
// one key's mailbox, so that one key stuck with a full mailbox keeps the
// subscription marked slow instead of having it reported again at every
// drop.
func (in *KeyedInbox[K, M]) Cap() int { return in.kd.cfg.mailbox }

// queued returns the messages the keys hold: see [KeyedInbox.Len].
func (kd *Keyed[K, M]) queued() int {
	n := 0
	if r := kd.run.Load(); r != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range r.n {
			n += r.queue[(r.head+i)%len(r.queue)].depth()
		}
		for _, w := range r.runners {
			if w.k != nil {
				n += w.k.depth()
			}
		}
		return n
	}
	kd.mu.RLock()
	defer kd.mu.RUnlock()
	for _, k := range kd.keys {
		n += k.depth()
	}
	return n
}

// depth returns the messages k holds, queued or taken and not handled.
func (k *keyActor[K, M]) depth() int {
	k.mb.mu.Lock()
	defer k.mb.mu.Unlock()
	return k.mb.queued() + k.l.held()
}
