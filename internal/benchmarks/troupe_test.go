package benchmarks

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// The troupe peer: bus.Publish into actors' mailboxes of 1024 events, with
// the default Block policy unless the workload says otherwise. Logs go to
// a discarding handler, as for the other peers.

var discard = slog.New(slog.DiscardHandler)

// troupeRig is a bus and the actors subscribed to it.
type troupeRig struct {
	b      *bus.Bus
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	subs   []*bus.Subscription
}

func newTroupe() *troupeRig {
	ctx, cancel := context.WithCancel(context.Background())
	return &troupeRig{
		b: bus.New(
			bus.WithLogger(discard),
			bus.WithDeadLetterHook(func(bus.DeadLetter) {}),
			bus.WithSlowHook(func(bus.SlowSubscriber) {}),
		),
		ctx: ctx, cancel: cancel,
	}
}

// subscribe starts an actor handling events with h and subscribes it.
func (r *troupeRig) subscribe(b *testing.B, h func(Event), opts ...bus.SubscribeOption) *actor.Actor[Event] {
	a := actor.New("sub", func(_ context.Context, e Event) error {
		h(e)
		return nil
	}, actor.WithMailbox(Buffer), actor.WithLogger(discard))
	r.wg.Go(func() {
		if err := a.Run(r.ctx); err != nil {
			b.Error(err)
		}
	})
	s, err := bus.Subscribe(r.b, a, opts...)
	if err != nil {
		b.Fatal(err)
	}
	r.subs = append(r.subs, s)
	return a
}

func (r *troupeRig) publish(b *testing.B, e Event) {
	if err := bus.Publish(r.ctx, r.b, e); err != nil {
		b.Error(err)
	}
}

// close closes the bus, stops the actors and waits for them.
func (r *troupeRig) close(b *testing.B) {
	if err := r.b.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	r.cancel()
	r.wg.Wait()
}

func BenchmarkOneSub_Troupe(b *testing.B) {
	b.ReportAllocs()
	r := newTroupe()
	s := newSink(b.N)
	r.subscribe(b, s.Handle)
	b.ResetTimer()
	for i := range b.N {
		r.publish(b, newEvent(i))
	}
	s.wait(b)
	b.StopTimer()
	r.close(b)
}

func BenchmarkFanOut10_Troupe(b *testing.B) {
	b.ReportAllocs()
	r := newTroupe()
	sinks := newSinks(FanOut, b.N)
	for _, s := range sinks {
		r.subscribe(b, s.Handle)
	}
	b.ResetTimer()
	for i := range b.N {
		r.publish(b, newEvent(i))
	}
	waitAll(b, sinks)
	b.StopTimer()
	r.close(b)
}

func BenchmarkPub4_Troupe(b *testing.B) {
	b.ReportAllocs()
	r := newTroupe()
	s := newSink(b.N)
	r.subscribe(b, s.Handle)
	b.ResetTimer()
	publishConcurrently(b, Publishers, func(i int) { r.publish(b, newEvent(i)) })
	s.wait(b)
	b.StopTimer()
	r.close(b)
}

func BenchmarkLatency_Troupe(b *testing.B) {
	r := newTroupe()
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	r.subscribe(b, func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	})
	roundTrips(b, handled, func(i int) { r.publish(b, newEvent(i)) })
	r.close(b)
}

// BenchmarkRestart_Troupe: an actor under a supervisor with zero backoff;
// the poison event is reported as a dead letter (to a no-op hook) and the
// restarted actor handles the next event.
func BenchmarkRestart_Troupe(b *testing.B) {
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	a := actor.New("kid", func(_ context.Context, e Event) error {
		if e.ID == Poison {
			panic("poison")
		}
		s.Handle(e)
		handled <- struct{}{}
		return nil
	}, actor.WithMailbox(Buffer), actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {}))
	sup := supervisor.New("root", supervisor.WithBackoff(0, 0),
		supervisor.WithIntensity(math.MaxInt, time.Nanosecond), supervisor.WithLogger(discard))
	if err := sup.Add("kid", a); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	restarts(b, handled, func(e Event) {
		if err := a.Send(ctx, e); err != nil {
			b.Error(err)
		}
	})
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkIdleMem_Troupe(b *testing.B) {
	var wg sync.WaitGroup
	var cancel context.CancelFunc
	idleMemory(b, func(n int) {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		for range n {
			a := actor.New("idle", func(context.Context, Event) error { return nil }, actor.WithMailbox(IdleMailbox))
			wg.Go(func() { _ = a.Run(ctx) })
		}
	}, func() {
		cancel()
		wg.Wait()
	})
}

// unrelatedInbox is an inbox subscribed to an event type nobody publishes.
type unrelatedInbox[E any] struct{}

func (unrelatedInbox[E]) Name() string                    { return "unrelated" }
func (unrelatedInbox[E]) Send(context.Context, E) error   { return nil }
func (unrelatedInbox[E]) TrySend(E) error                 { return nil }
func subscribeUnrelated[E any](b *testing.B, bs *bus.Bus) { mustSub(b, bs, unrelatedInbox[E]{}) }

func mustSub[E any](b *testing.B, bs *bus.Bus, in bus.Inbox[E]) {
	if _, err := bus.Subscribe(bs, in); err != nil {
		b.Fatal(err)
	}
}

// The 10,000 unrelated event types are k[A, B, C, D] for every choice of
// the ten digit types d0..d9 as A, B, C and D.
type (
	k[A, B, C, D any] struct{}
	d0                struct{}
	d1                struct{}
	d2                struct{}
	d3                struct{}
	d4                struct{}
	d5                struct{}
	d6                struct{}
	d7                struct{}
	d8                struct{}
	d9                struct{}
)

func unrelated4[A, B, C any](b *testing.B, bs *bus.Bus) {
	subscribeUnrelated[k[A, B, C, d0]](b, bs)
	subscribeUnrelated[k[A, B, C, d1]](b, bs)
	subscribeUnrelated[k[A, B, C, d2]](b, bs)
	subscribeUnrelated[k[A, B, C, d3]](b, bs)
	subscribeUnrelated[k[A, B, C, d4]](b, bs)
	subscribeUnrelated[k[A, B, C, d5]](b, bs)
	subscribeUnrelated[k[A, B, C, d6]](b, bs)
	subscribeUnrelated[k[A, B, C, d7]](b, bs)
	subscribeUnrelated[k[A, B, C, d8]](b, bs)
	subscribeUnrelated[k[A, B, C, d9]](b, bs)
}

func unrelated3[A, B any](b *testing.B, bs *bus.Bus) {
	unrelated4[A, B, d0](b, bs)
	unrelated4[A, B, d1](b, bs)
	unrelated4[A, B, d2](b, bs)
	unrelated4[A, B, d3](b, bs)
	unrelated4[A, B, d4](b, bs)
	unrelated4[A, B, d5](b, bs)
	unrelated4[A, B, d6](b, bs)
	unrelated4[A, B, d7](b, bs)
	unrelated4[A, B, d8](b, bs)
	unrelated4[A, B, d9](b, bs)
}

func unrelated2[A any](b *testing.B, bs *bus.Bus) {
	unrelated3[A, d0](b, bs)
	unrelated3[A, d1](b, bs)
	unrelated3[A, d2](b, bs)
	unrelated3[A, d3](b, bs)
	unrelated3[A, d4](b, bs)
	unrelated3[A, d5](b, bs)
	unrelated3[A, d6](b, bs)
	unrelated3[A, d7](b, bs)
	unrelated3[A, d8](b, bs)
	unrelated3[A, d9](b, bs)
}

// subscribeUnrelated10k subscribes to Unrelated distinct event types.
func subscribeUnrelated10k(b *testing.B, bs *bus.Bus) {
	unrelated2[d0](b, bs)
	unrelated2[d1](b, bs)
	unrelated2[d2](b, bs)
	unrelated2[d3](b, bs)
	unrelated2[d4](b, bs)
	unrelated2[d5](b, bs)
	unrelated2[d6](b, bs)
	unrelated2[d7](b, bs)
	unrelated2[d8](b, bs)
	unrelated2[d9](b, bs)
}

func troupeUnrelated(b *testing.B, many bool) {
	b.ReportAllocs()
	r := newTroupe()
	if many {
		subscribeUnrelated10k(b, r.b)
		if n := len(r.b.Stats()); n != Unrelated {
			b.Fatalf("got %d subscriptions; want %d", n, Unrelated)
		}
	}
	s := newSink(b.N)
	r.subscribe(b, s.Handle)
	b.ResetTimer()
	for i := range b.N {
		r.publish(b, newEvent(i))
	}
	s.wait(b)
	b.StopTimer()
	r.close(b)
}

func BenchmarkUnrelated1_Troupe(b *testing.B)   { troupeUnrelated(b, false) }
func BenchmarkUnrelated10k_Troupe(b *testing.B) { troupeUnrelated(b, true) }

// troupeOverload publishes b.N events to a slow actor under policy p, then
// checks that every event was handled or counted as dropped.
func troupeOverload(b *testing.B, p bus.Policy) {
	b.ReportAllocs()
	r := newTroupe()
	s := &overloadSink{}
	r.subscribe(b, s.Handle, bus.WithPolicy(p))
	sub := r.subs[0]
	b.ResetTimer()
	for i := range b.N {
		r.publish(b, newEvent(i))
	}
	b.StopTimer()
	published := int64(b.N)
	settle(b, published, s.handled.Load, func() int64 { return int64(sub.Stats().Dropped.Total()) })
	st := sub.Stats()
	if got := int64(st.Delivered + st.Dropped.Newest); got != published {
		b.Fatalf("delivered %d + dropped newest %d = %d; want published %d", st.Delivered, st.Dropped.Newest, got, published)
	}
	r.close(b)
}

func BenchmarkDropNewest_Troupe(b *testing.B) { troupeOverload(b, bus.DropNewest) }
func BenchmarkDropOldest_Troupe(b *testing.B) { troupeOverload(b, bus.DropOldest) }
