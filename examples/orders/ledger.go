package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Consumers of OrderCreated, by the names of their actors.
const (
	consumerEmail     = "email"
	consumerInventory = "inventory"
	consumerAnalytics = "analytics"
)

var consumers = []string{consumerEmail, consumerInventory, consumerAnalytics}

// Ledger accounts for every accepted order at every consumer: each order is
// handled by it (its handler returned, with or without an error) or reported
// as a dead letter, with the reason, by the actor or by the bus. That is
// troupe's promise (nothing accepted disappears silently) and the summary
// and the tests check it order by order. It is safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	handled map[string]map[string]int    // consumer → order ID → handler returns
	dead    map[string]map[string]string // consumer → order ID → reason
	reasons map[deadKey]int              // every dead letter, whatever its type
	changed chan struct{}                // closed, and replaced, on every change
}

type deadKey struct{ where, reason string }

// DeadLetterCount is one line of the dead letter report.
type DeadLetterCount struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

func newLedger() *Ledger {
	l := &Ledger{
		handled: make(map[string]map[string]int),
		dead:    make(map[string]map[string]string),
		reasons: make(map[deadKey]int),
		changed: make(chan struct{}),
	}
	for _, c := range consumers {
		l.handled[c] = make(map[string]int)
		l.dead[c] = make(map[string]string)
	}
	return l
}

// Handled records that consumer's handler returned for an order.
func (l *Ledger) Handled(consumer, id string) {
	l.mu.Lock()
	l.handled[consumer][id]++
	l.notify()
	l.mu.Unlock()
}

// notify wakes the waiters of Wait. l.mu is held.
func (l *Ledger) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Wait waits until n orders are accounted for (handled or dead) at
// consumer, or ctx is done.
func (l *Ledger) Wait(ctx context.Context, consumer string, n int) error {
	for {
		l.mu.Lock()
		got := len(l.handled[consumer])
		for id := range l.dead[consumer] {
			if _, ok := l.handled[consumer][id]; !ok {
				got++
			}
		}
		changed := l.changed
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d orders accounted for: %w", consumer, got, n, context.Cause(ctx))
		}
	}
}

// Dead records a dead letter reported at where (an actor or a subscription)
// for reason; when it is an OrderCreated (id not empty) of a consumer, the
// order is accounted for at that consumer.
func (l *Ledger) Dead(where, consumer, id, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reasons[deadKey{where, reason}]++
	if m, ok := l.dead[consumer]; ok && id != "" {
		m[id] = reason
	}
	l.notify()
}

// DeadLetters returns the dead letters counted by place and reason, most
// frequent first.
func (l *Ledger) DeadLetters() []DeadLetterCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]DeadLetterCount, 0, len(l.reasons))
	for k, n := range l.reasons {
		out = append(out, DeadLetterCount{Where: k.where, Reason: k.reason, Count: n})
	}
	slices.SortFunc(out, func(a, b DeadLetterCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Where, b.Where), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}

// Account is how one consumer's orders were accounted for.
type Account struct {
	Handled int // orders whose handler returned
	Dead    int // orders reported as dead letters
	Twice   int // orders handled more than once, or both handled and dead
	Missing int // accepted orders neither handled nor dead: must be 0
}

// Account checks the given accepted order IDs at consumer.
func (l *Ledger) Account(consumer string, accepted []string) Account {
	l.mu.Lock()
	defer l.mu.Unlock()
	var a Account
	for _, id := range accepted {
		n, d := l.handled[consumer][id], 0
		if _, ok := l.dead[consumer][id]; ok {
			d = 1
		}
		switch {
		case n+d == 0:
			a.Missing++
		case n+d > 1:
			a.Twice++
		case n == 1:
			a.Handled++
		default:
			a.Dead++
		}
	}
	return a
}

// Seen returns the IDs of the orders consumer handled or reported.
func (l *Ledger) Seen(consumer string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := slices.Collect(maps.Keys(l.handled[consumer]))
	for id := range l.dead[consumer] {
		if _, ok := l.handled[consumer][id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
