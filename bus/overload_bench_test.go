package bus_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// The overload benchmarks publish into a subscription whose inbox is full,
// with the DropNewest policy, so every publish is a dead letter: the storm
// the default logging must survive. The logger is a real text handler
// writing to io.Discard, so formatting the lines is measured, only the
// system call is not.

// overload returns a bus made with opts and one DropNewest subscription
// whose inbox (a stopped actor with a mailbox of one) is already full.
func overload(b *testing.B, opts ...bus.Option) *bus.Bus {
	bs := bus.New(opts...)
	a := actor.New("full", func(context.Context, benchEvent) error { return nil }, actor.WithMailbox(1))
	if err := a.TrySend(ev(0)); err != nil {
		b.Fatal(err)
	}
	if _, err := bus.Subscribe[benchEvent](bs, a, bus.WithPolicy(bus.DropNewest)); err != nil {
		b.Fatal(err)
	}
	return bs
}

func publishDropped(b *testing.B, bs *bus.Bus) {
	b.ReportAllocs()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = bus.Publish(ctx, bs, ev(i))
	}
	b.StopTimer()
	if got := bs.Stats()[0].Dropped.Newest; got != uint64(b.N) {
		b.Fatalf("got %d dropped; want %d", got, b.N)
	}
	_ = bs.Close(ctx)
}

func textLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BenchmarkOverloadNoopHook is the baseline: a dead-letter hook that does
// nothing.
func BenchmarkOverloadNoopHook(b *testing.B) {
	publishDropped(b, overload(b, bus.WithDeadLetterHook(func(bus.DeadLetter) {}), bus.WithSlowHook(func(bus.SlowSubscriber) {})))
}

// BenchmarkOverloadDefaultLog is the default configuration (no hook) with a
// text logger: at most one line per second, the other drops counted.
func BenchmarkOverloadDefaultLog(b *testing.B) {
	publishDropped(b, overload(b, bus.WithLogger(textLogger())))
}

// BenchmarkOverloadLogEveryDrop is what the default cost before it was
// bounded: one text line per dead letter, written here by a hook.
func BenchmarkOverloadLogEveryDrop(b *testing.B) {
	log := textLogger()
	publishDropped(b, overload(b, bus.WithDeadLetterHook(func(dl bus.DeadLetter) {
		log.Warn("bus dead letter", "subscription", dl.Subscription, "event", "bus_test.benchEvent", "reason", dl.Reason)
	})))
}
