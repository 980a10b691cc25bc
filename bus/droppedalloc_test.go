package bus_test

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// TestDropCountedByTheLogAllocatesNothing: with the default reporting (no
// dead-letter hook, a log that writes at most a line a second), a publish
// that drops its event into a full DropNewest inbox costs no allocation:
// the event is boxed for a log line only when one is written.
func TestDropCountedByTheLogAllocatesNothing(t *testing.T) {
	bs := bus.New(bus.WithLogger(textLogger()))
	defer func() { _ = bs.Close(context.Background()) }()
	a := actor.New("full", func(context.Context, benchEvent) error { return nil }, actor.WithMailbox(1))
	if err := a.TrySend(ev(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Subscribe[benchEvent](bs, a, bus.WithPolicy(bus.DropNewest)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = bus.Publish(ctx, bs, ev(1)) // the first dead letter's line, and the slow report
	if n := testing.AllocsPerRun(100, func() { _ = bus.Publish(ctx, bs, ev(2)) }); n != 0 {
		t.Errorf("a dropped event allocates %v times; want 0", n)
	}
	if got := bs.Stats()[0].Dropped.Newest; got != 102 {
		t.Errorf("got %d dropped; want 102", got)
	}
}
