package bus

import "reflect"

// Drops counts the events a subscription did not get, by reason.
type Drops struct {
	// Newest counts events dropped because the inbox was full
	// ([ErrDroppedNewest]).
	Newest uint64
	// Oldest counts queued events evicted by newer ones ([ErrDroppedOldest]).
	Oldest uint64
	// Timeout counts events a Block subscription gave up on ([ErrTimeout]).
	Timeout uint64
	// Canceled counts Block waits ended by the publisher's context,
	// Unsubscribe or Close ([ErrCanceled]).
	Canceled uint64
	// Rejected counts events the inbox refused ([ErrRejected]).
	Rejected uint64
}

// Total returns the number of dropped events, whatever the reason.
func (d Drops) Total() uint64 {
	return d.Newest + d.Oldest + d.Timeout + d.Canceled + d.Rejected
}

// SubscriptionStats is a snapshot of one subscription's counters.
type SubscriptionStats struct {
	// Name is the subscription's name.
	Name string
	// Type is the event type subscribed to.
	Type reflect.Type
	// Policy is the subscription's policy.
	Policy Policy
	// Where is where Subscribe was called, as "dir/file.go:line".
	Where string
	// Delivered counts the events the inbox accepted.
	Delivered uint64
	// Dropped counts the events the subscription did not get, by reason.
	Dropped Drops
	// Queued and Capacity are the inbox's Len and Cap, or -1 when it does
	// not implement [Depther].
	Queued, Capacity int
	// Slow reports whether the subscription is currently considered slow
	// (see [SlowSubscriber]).
	Slow bool
}

// Stats returns the stats of the live subscriptions, in the order they were
// made. The counters are read one by one while events may be published, so
// each is exact but they are not one atomic snapshot.
func (b *Bus) Stats() []SubscriptionStats {
	b.mu.Lock()
	subs := make([]*Subscription, len(b.all))
	copy(subs, b.all)
	b.mu.Unlock()
	out := make([]SubscriptionStats, len(subs))
	for i, s := range subs {
		out[i] = s.Stats()
	}
	return out
}

// Stats returns the subscription's counters; they stay readable after
// Unsubscribe. Delivered is exact once no delivery to the subscription is
// under way (after Unsubscribe, or once the publishes have returned).
//
// Delivered costs a delivery nothing beyond its guard (see guard): it is
// the guard's count of deliveries that left, less those that missed.
func (s *Subscription) Stats() SubscriptionStats {
	st := SubscriptionStats{
		Name:      s.name,
		Type:      s.typ,
		Policy:    s.policy,
		Where:     s.where,
		Delivered: s.deliveries(),
		Dropped: Drops{
			Newest:   s.drops[reasonNewest].Load(),
			Oldest:   s.drops[reasonOldest].Load(),
			Timeout:  s.drops[reasonTimeout].Load(),
			Canceled: s.drops[reasonCanceled].Load(),
			Rejected: s.drops[reasonRejected].Load(),
		},
		Slow: s.slow.Load(),
	}
	st.Queued, st.Capacity = s.depthNow()
	return st
}

// deliveries returns the number of events delivered: the deliveries that
// left the guard less those that missed. A miss is counted just before its
// delivery leaves: while deliveries are under way the difference may lag.
// The misses are those counted in missed and the events dropped as the
// newest, which are counted only once, as drops: a storm of drops into a
// full inbox is where an atomic add less per event shows
// (BenchmarkDropNewest_Troupe in internal/benchmarks).
func (s *Subscription) deliveries() uint64 {
	left := s.guard.total()
	return left - min(s.missed.Load()+s.drops[reasonNewest].Load(), left)
}

// depthNow returns the inbox's Len and Cap, or -1, -1 if it does not
// report them.
func (s *Subscription) depthNow() (queued, capacity int) {
	if s.depth == nil {
		return -1, -1
	}
	return s.depth.Len(), s.depth.Cap()
}
