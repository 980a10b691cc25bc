package bus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// benchEvent is the small struct event the benchmarks publish.
type benchEvent struct {
	ID  int64
	SKU string
	Qty int
}

// other is an event type no benchmark publishes.
type other[T any] struct{ V T }

// channels starts n goroutines draining buffered channels of benchEvent,
// doing the same work as the actors' handlers; wait closes them and waits.
func channels(n, want int) (chs []chan benchEvent, wait func() int) {
	var wg sync.WaitGroup
	var total atomic.Int64
	for range n {
		ch := make(chan benchEvent, actor.DefaultMailboxSize)
		chs = append(chs, ch)
		wg.Go(func() {
			sum := 0
			for e := range ch {
				sum += e.Qty
			}
			total.Add(int64(sum))
		})
	}
	return chs, func() int {
		for _, ch := range chs {
			close(ch)
		}
		wg.Wait()
		return int(total.Load())
	}
}

// actors subscribes n running actors to benchEvent on b; wait waits until
// they handled want events in all, then stops them.
func actors[E any](b *testing.B, bs *bus.Bus, n, want int, opts ...actor.Option) (wait func()) {
	var handled atomic.Int64
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		sum := 0
		a := actor.New(fmt.Sprint("a", i), func(_ context.Context, e E) error {
			sum += any(e).(benchEvent).Qty
			if handled.Add(1) == int64(want) {
				close(done)
			}
			return nil
		}, opts...)
		if _, err := bus.Subscribe[E](bs, a); err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = a.Run(ctx) })
	}
	return func() {
		if want > 0 {
			<-done
		}
		cancel()
		wg.Wait()
	}
}

func ev(i int) benchEvent { return benchEvent{ID: int64(i), SKU: "sku-1", Qty: 1} }

// BenchmarkBaselineChannel is the floor: a bare buffered channel drained by
// one goroutine.
func BenchmarkBaselineChannel(b *testing.B) {
	b.ReportAllocs()
	chs, wait := channels(1, b.N)
	for i := 0; i < b.N; i++ {
		chs[0] <- ev(i)
	}
	if got := wait(); got != b.N {
		b.Fatalf("got %d; want %d", got, b.N)
	}
}

// BenchmarkPublish measures Publish → handled with one actor subscribed to
// the concrete type.
func BenchmarkPublish(b *testing.B) {
	b.ReportAllocs()
	bs := bus.New()
	wait := actors[benchEvent](b, bs, 1, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bus.Publish(ctx, bs, ev(i)); err != nil {
			b.Fatal(err)
		}
	}
	wait()
}

// BenchmarkPublishMiddleware is BenchmarkPublish with a pass-through
// middleware on the bus and on the actor, and a propagator on the actor
// that carries nothing: the cost of the hooks themselves, beside the
// hookless BenchmarkPublish, which they must not slow down.
func BenchmarkPublishMiddleware(b *testing.B) {
	b.ReportAllocs()
	bs := bus.New(bus.WithMiddleware(func(next bus.PublishFunc) bus.PublishFunc {
		return func(ctx context.Context, p bus.Publication) error { return next(ctx, p) }
	}))
	wait := actors[benchEvent](b, bs, 1, b.N,
		actor.WithPropagator(nopPropagator{}),
		actor.WithMiddleware(func(next actor.HandleFunc) actor.HandleFunc {
			return func(ctx context.Context, m actor.Message) error { return next(ctx, m) }
		}))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bus.Publish(ctx, bs, ev(i)); err != nil {
			b.Fatal(err)
		}
	}
	wait()
}

// nopPropagator carries nothing.
type nopPropagator struct{}

func (nopPropagator) Extract(context.Context) any                       { return nil }
func (nopPropagator) Inject(ctx context.Context, _ any) context.Context { return ctx }

// BenchmarkBaselineChannel10 sends each event to ten channels, each drained
// by its own goroutine.
func BenchmarkBaselineChannel10(b *testing.B) {
	b.ReportAllocs()
	chs, wait := channels(10, 10*b.N)
	for i := 0; i < b.N; i++ {
		e := ev(i)
		for _, ch := range chs {
			ch <- e
		}
	}
	if got := wait(); got != 10*b.N {
		b.Fatalf("got %d; want %d", got, 10*b.N)
	}
}

// BenchmarkPublishFanout10 publishes each event to ten actors.
func BenchmarkPublishFanout10(b *testing.B) {
	b.ReportAllocs()
	bs := bus.New()
	wait := actors[benchEvent](b, bs, 10, 10*b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bus.Publish(ctx, bs, ev(i)); err != nil {
			b.Fatal(err)
		}
	}
	wait()
}

// parallel runs f b.N times spread over four goroutines.
func parallel(b *testing.B, f func(i int)) {
	var wg sync.WaitGroup
	per := b.N / 4
	for p := range 4 {
		n := per
		if p == 3 {
			n = b.N - 3*per
		}
		wg.Go(func() {
			for i := range n {
				f(i)
			}
		})
	}
	wg.Wait()
}

// BenchmarkBaselineChannel4Pub sends from four goroutines into one channel.
func BenchmarkBaselineChannel4Pub(b *testing.B) {
	b.ReportAllocs()
	chs, wait := channels(1, b.N)
	parallel(b, func(i int) { chs[0] <- ev(i) })
	if got := wait(); got != b.N {
		b.Fatalf("got %d; want %d", got, b.N)
	}
}

// BenchmarkPublish4Pub publishes from four goroutines to one actor.
func BenchmarkPublish4Pub(b *testing.B) {
	b.ReportAllocs()
	bs := bus.New()
	wait := actors[benchEvent](b, bs, 1, b.N)
	ctx := context.Background()
	b.ResetTimer()
	parallel(b, func(i int) {
		if err := bus.Publish(ctx, bs, ev(i)); err != nil {
			b.Error(err)
		}
	})
	wait()
}

// BenchmarkPublishUnrelated publishes to one actor while n other
// subscriptions, to other types, exist: the cost must not grow with n.
func BenchmarkPublishUnrelated(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprint("others=", n), func(b *testing.B) {
			b.ReportAllocs()
			bs := bus.New()
			for i := range n {
				a := actor.New(fmt.Sprint("o", i), func(context.Context, other[int]) error { return nil }, actor.WithMailbox(1))
				if _, err := bus.Subscribe(bs, a); err != nil {
					b.Fatal(err)
				}
			}
			wait := actors[benchEvent](b, bs, 1, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := bus.Publish(ctx, bs, ev(i)); err != nil {
					b.Fatal(err)
				}
			}
			wait()
		})
	}
}

// BenchmarkPublishInterface publishes to one actor subscribed to any: the
// event is boxed once per publish.
func BenchmarkPublishInterface(b *testing.B) {
	b.ReportAllocs()
	bs := bus.New()
	wait := actors[any](b, bs, 1, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bus.Publish(ctx, bs, ev(i)); err != nil {
			b.Fatal(err)
		}
	}
	wait()
}

// BenchmarkPublishNoConsumer measures the bus's own cost of a publish to
// n inboxes that accept at once (no goroutine drains them, no mailbox lock):
// the route lookup and, per subscription, the guard's two atomic adds and
// an interface call. BenchmarkBaselineInterfaceCall is the floor: the same
// calls to the inboxes, made directly.
func BenchmarkPublishNoConsumer(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) {
			b.ReportAllocs()
			bs := bus.New()
			for _, in := range nopInboxes[benchEvent](n) {
				if _, err := bus.Subscribe[benchEvent](bs, in); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				if err := bus.Publish(ctx, bs, ev(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineInterfaceCall calls Offer on n inboxes through the
// Inbox interface, as a hand-written fan-out would.
func BenchmarkBaselineInterfaceCall(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			var ins []bus.Inbox[benchEvent]
			for _, in := range nopInboxes[benchEvent](n) {
				ins = append(ins, in)
			}
			for i := 0; b.Loop(); i++ {
				for _, in := range ins {
					if err := in.Offer(ctx, ev(i)); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
