package pgoutbox

import (
	"context"

	"github.com/troupe-go/troupe/bus"
)

// ToBus returns a publish function for [NewRelay] that publishes each event
// to b with [bus.Publish], bounded by the relay's context.
//
// Publish's error keeps the row in the outbox to be published again: after
// [bus.Bus.Close] ([bus.ErrClosed]), or when a subscription did not get the
// event (a [bus.DeliveryError]: a timeout, a stopped actor, the relay
// stopping). The retry publishes the event to every subscription again, so
// those that got it the first time get it twice: the relay delivers at least
// once. An event a subscription drops by its policy (DropNewest, DropOldest)
// is reported by the bus, not retried. It panics if b is nil.
func ToBus[E any](b *bus.Bus) func(ctx context.Context, e E) error {
	if b == nil {
		panic("pgoutbox: ToBus: nil bus")
	}
	return func(ctx context.Context, e E) error { return bus.Publish(ctx, b, e) }
}
