package bus

import (
	"context"
	"log/slog"
	"reflect"
)

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
	s.b.cfg.logs.Log(context.Background(), s.b.cfg.log(), slog.LevelWarn, logKey{s, reasonSlow}, "bus subscriber is slow", func() []slog.Attr {
		return []slog.Attr{
			slog.String("subscription", s.name),
			slog.String("type", s.typ.String()),
			slog.String("subscribed_at", s.where),
			slog.String("policy", s.policy.String()),
			slog.Int("queued", ss.Queued),
			slog.Int("capacity", ss.Capacity),
		}
	})
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
