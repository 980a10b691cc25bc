package bus

import (
	"context"
	"fmt"
	"log/slog"
)

// A DeadLetter is an event that was published to a subscription but never
// accepted by its inbox, or evicted from it, with the reason why. Every such
// event is counted in the subscription's [SubscriptionStats] and handed to
// the dead-letter hook ([WithDeadLetterHook]) once.
type DeadLetter struct {
	// Subscription is the name of the subscription ([WithName]).
	Subscription string
	// Event is the event that was not delivered.
	Event any
	// Reason matches one of [ErrDroppedNewest], [ErrDroppedOldest],
	// [ErrTimeout], [ErrCanceled] or [ErrRejected] with errors.Is.
	Reason error
}

// reason indexes a subscription's drop counters.
type reason int

const (
	reasonNewest reason = iota
	reasonOldest
	reasonTimeout
	reasonCanceled
	reasonRejected
	numReasons

	// reasonSlow keys the slow-subscriber reports in the bus's log limiter.
	reasonSlow = numReasons
)

// logKey is what the default logging bounds its lines by: at most one line
// per second for each subscription and reason (see [WithLogger]).
type logKey struct {
	s *Subscription
	r reason
}

// dropped counts a dropped event of s and reports it to the dead-letter
// hook, or else to the log. It is generic in the event's type so that the
// event is boxed into an interface only when something reads it: the
// hook's DeadLetter, or a log line actually written (the limiter calls the
// attributes only then). Without a hook, a dropped event that the log only
// counts costs no allocation: a storm of drops is where that matters.
func dropped[E any](s *Subscription, k reason, ev E, why error) {
	s.drops[k].Add(1)
	if h := s.b.cfg.onDeadLetter; h != nil {
		h(DeadLetter{Subscription: s.name, Event: ev, Reason: why})
		return
	}
	s.b.cfg.logs.Log(context.Background(), s.b.cfg.log(), slog.LevelWarn, logKey{s, k}, "bus dead letter", func() []slog.Attr {
		return []slog.Attr{
			slog.String("subscription", s.name),
			slog.String("event", fmt.Sprintf("%T", any(ev))),
			slog.Any("reason", why),
		}
	})
}

// deliveryError reports an event dropped for a reason other than the
// policy and returns the error Publish reports for it.
func (s *Subscription) deliveryError(k reason, ev any, why error) error {
	dropped(s, k, ev, why)
	return &DeliveryError{Subscription: s.name, Reason: why}
}
