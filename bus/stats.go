package bus

import (
	"fmt"
	"reflect"
)

// reason indexes a subscription's drop counters.
type reason int

const (
	reasonNewest reason = iota
	reasonOldest
	reasonTimeout
	reasonCanceled
	reasonRejected
	numReasons
)

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
// Unsubscribe.
//
// Delivered is not counted per delivery, which would cost every delivery
// an atomic add. For an actor it is counted by the actor's tap (see typed)
// under the actor's lock. For another inbox it is the number of publishes
// that went along the routes to the subscription (each route counts them
// anyway, see flight) less the events offered and not delivered; a
// publish is counted when it leaves its route, before Publish returns.
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

// deliveries returns the number of events delivered: those its tap
// counted and those that waited, or, without a tap, the publishes along
// its routes less the events not delivered.
func (s *Subscription) deliveries() uint64 {
	if s.tap != nil {
		return s.tap.Sent() + s.untapped.Load()
	}
	s.b.mu.Lock()
	sent := s.base
	for _, r := range s.routes {
		sent += r.flight.completed()
	}
	s.b.mu.Unlock()
	// An offer not delivered is counted as missed before its publish
	// leaves the route: for a moment, missed may run ahead.
	return sent - min(s.missed.Load(), sent)
}

// depthNow returns the inbox's Len and Cap, or -1, -1 if it does not
// report them.
func (s *Subscription) depthNow() (queued, capacity int) {
	if s.depth == nil {
		return -1, -1
	}
	return s.depth.Len(), s.depth.Cap()
}

// dropped counts a dropped event and reports it to the dead-letter hook.
func (s *Subscription) dropped(k reason, ev any, why error) {
	s.drops[k].Add(1)
	dl := DeadLetter{Subscription: s.name, Event: ev, Reason: why}
	if h := s.b.cfg.onDeadLetter; h != nil {
		h(dl)
		return
	}
	s.b.cfg.log().Warn("bus dead letter", "subscription", s.name, "event", fmt.Sprintf("%T", ev), "reason", why)
}

// fail reports an event dropped for a reason other than the policy and
// returns the error Publish reports for it.
func (s *Subscription) fail(k reason, ev any, why error) error {
	s.dropped(k, ev, why)
	return &DeliveryError{Subscription: s.name, Reason: why}
}

// A SlowSubscriber reports a subscription that fell behind: the first time
// it drops an event, or a [Block] delivery to it waits for room longer than
// [WithSlowAfter] (reported while the wait goes on), it is reported once to
// the slow hook ([WithSlowHook]). It is reported again only after it
// recovered: its inbox went down to a quarter of its capacity (for an inbox
// that implements [Depther]), or 256 events in a row found room.
type SlowSubscriber struct {
	// Subscription is the subscription's name.
	Subscription string
	// Type is the event type subscribed to.
	Type reflect.Type
	// Where is where Subscribe was called, as "dir/file.go:line".
	Where string
	// Policy is the subscription's policy.
	Policy Policy
	// Queued and Capacity are the inbox's depth, or -1 when unknown.
	Queued, Capacity int
}

// recoverAfter is how many events in a row must find room in a slow inbox
// that does not report its depth before it counts as recovered.
const recoverAfter = 256

// becameSlow marks the subscription slow and reports it, unless it is
// already.
func (s *Subscription) becameSlow() {
	if s.slow.Load() {
		if s.okRun.Load() != 0 {
			s.okRun.Store(0)
		}
		return
	}
	if !s.slow.CompareAndSwap(false, true) {
		return
	}
	s.okRun.Store(0)
	ss := SlowSubscriber{Subscription: s.name, Type: s.typ, Where: s.where, Policy: s.policy}
	ss.Queued, ss.Capacity = s.depthNow()
	if h := s.b.cfg.onSlow; h != nil {
		h(ss)
		return
	}
	s.b.cfg.log().Warn("bus subscriber is slow", "subscription", s.name, "type", s.typ.String(), "subscribed_at", s.where, "policy", s.policy.String(), "queued", ss.Queued, "capacity", ss.Capacity)
}

// recovering is called after a delivery to a slow subscription found room,
// and clears its slow mark once its inbox has drained enough.
func (s *Subscription) recovering() {
	if s.depth != nil {
		if s.depth.Len() <= s.depth.Cap()/4 {
			s.slow.Store(false)
		}
		return
	}
	if s.okRun.Add(1) >= recoverAfter {
		s.slow.Store(false)
	}
}
