package bus_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/bus"
)

// nopInbox accepts every event and counts it.
type nopInbox[E any] struct{ n atomic.Int64 }

func (*nopInbox[E]) Name() string                         { return "nop" }
func (in *nopInbox[E]) Send(_ context.Context, _ E) error { in.n.Add(1); return nil }
func (in *nopInbox[E]) Offer(context.Context, E) error    { in.n.Add(1); return nil }

func nopInboxes[E any](n int) []*nopInbox[E] {
	ins := make([]*nopInbox[E], n)
	for i := range ins {
		ins[i] = &nopInbox[E]{}
	}
	return ins
}

// Subscribe's cost does not grow with the subscriptions of the same type,
// published already: the bytes allocated by the third thousands of
// subscriptions are about those of the first (a copy of the routes' lists
// on each Subscribe would make them five times as many). The lists grow
// by doubling, so a window can hold twice the growth of another.
func TestSubscribeCostDoesNotGrow(t *testing.T) {
	const n = 4096
	for _, tt := range []struct {
		name      string
		subscribe func(b *bus.Bus, n int) (measure func() uint64, delivered func() int64)
	}{
		{"concrete", subscribeWindows[benchEvent]},
		{"interface", subscribeWindows[any]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBus(t)
			publish(t, b, benchEvent{}) // computes the route
			measure, delivered := tt.subscribe(b, n)
			first := measure()
			measure()
			third := measure()
			t.Logf("bytes per window: first %d, third %d (%.2f×)", first, third, float64(third)/float64(first))
			if third > 2*first {
				t.Errorf("subscriptions %d to %d allocated %d bytes, %.1f times the first %d's %d", 2*n, 3*n, third, float64(third)/float64(first), n, first)
			}
			publish(t, b, benchEvent{})
			if got := delivered(); got != 3*n {
				t.Errorf("got %d deliveries; want %d, one per subscription", got, 3*n)
			}
		})
	}
}

// subscribeWindows returns measure, which subscribes n more inboxes of E
// to b and returns the bytes it allocated, and delivered, which counts
// what they accepted.
func subscribeWindows[E any](b *bus.Bus, n int) (measure func() uint64, delivered func() int64) {
	var all []*nopInbox[E]
	measure = func() uint64 {
		ins := nopInboxes[E](n)
		all = append(all, ins...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for _, in := range ins {
			if _, err := bus.Subscribe[E](b, in); err != nil {
				panic(err)
			}
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	delivered = func() int64 {
		var sum int64
		for _, in := range all {
			sum += in.n.Load()
		}
		return sum
	}
	return measure, delivered
}

// BenchmarkSubscribe subscribes b.N inboxes to one type, published
// already: ns/op is the cost of one Subscribe, which must not grow with
// b.N.
func BenchmarkSubscribe(b *testing.B) {
	b.ReportAllocs()
	bs := bus.New()
	if err := bus.Publish(context.Background(), bs, benchEvent{}); err != nil {
		b.Fatal(err)
	}
	ins := nopInboxes[benchEvent](b.N)
	b.ResetTimer()
	for _, in := range ins {
		if _, err := bus.Subscribe[benchEvent](bs, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubscribe100k subscribes 100,000 inboxes to one type, published
// already, per op (the target: at most 2 s).
func BenchmarkSubscribe100k(b *testing.B) {
	const n = 100_000
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		bs := bus.New()
		if err := bus.Publish(context.Background(), bs, benchEvent{}); err != nil {
			b.Fatal(err)
		}
		ins := nopInboxes[benchEvent](n)
		b.StartTimer()
		for _, in := range ins {
			if _, err := bus.Subscribe[benchEvent](bs, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/subscribe")
}
