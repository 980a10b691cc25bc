// Package unrelated subscribes a bus to 10,000 event types that nobody
// publishes, for the harness's workload that measures what subscriptions to
// other types cost a publish.
//
// Every type subscribed to is a distinct instantiation of bus.Subscribe,
// compiled in the package that makes it, and the compiler holds all of a
// package's instantiations in memory at once: about 1 MB each. The types
// are therefore spread over ten packages, t0 to t9, of 1,000 each, which
// gen.go writes: one package of 10,000 took 10 GB to compile, and ten
// take about 1 GB each, two at a time.
package unrelated

//go:generate go run gen.go

import (
	"context"

	"github.com/troupe-go/troupe/bus"
)

// inbox is an inbox subscribed to an event type nobody publishes.
type inbox[E any] struct{}

func (inbox[E]) Name() string                   { return "unrelated" }
func (inbox[E]) Send(context.Context, E) error  { return nil }
func (inbox[E]) Offer(context.Context, E) error { return nil }

// Subscribe subscribes an inbox that does nothing to the events of type E
// on b.
func Subscribe[E any](b *bus.Bus) error {
	_, err := bus.Subscribe[E](b, inbox[E]{})
	return err
}
