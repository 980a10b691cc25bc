package benchmarks

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t0"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t1"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t2"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t3"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t4"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t5"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t6"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t7"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t8"
	"github.com/troupe-go/troupe/internal/benchmarks/unrelated/t9"
	"github.com/troupe-go/troupe/supervisor"
)

// The troupe peer: bus.Publish into actors' mailboxes of 1024 events, with
// the default Block policy unless the workload says otherwise. Logs go to
// a discarding handler, as for the other peers; dead letters and slow
// subscribers are reported to that log, not to hooks (a dead-letter hook
// receives each dropped event boxed in an interface: an allocation per
// drop that a log which only counts them does not make).

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
		b:   bus.New(bus.WithLogger(discard)),
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
// restarted actor handles the next event. Logs are discarded, and the
// restart window is 1 ns, which keeps the supervisor's history of restarts
// at one entry.
func BenchmarkRestart_Troupe(b *testing.B) {
	troupeRestart(b, []actor.Option{actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {})},
		supervisor.WithIntensity(math.MaxInt, time.Nanosecond), supervisor.WithLogger(discard))
}

// BenchmarkRestartLogged_Troupe is the restart with troupe's defaults: the
// actor's and the supervisor's logs, the panic with its stack and the dead
// letter, go to slog.Default(), whose output (the log package's) is
// discarded after formatting.
func BenchmarkRestartLogged_Troupe(b *testing.B) {
	defer discardLogOutput()()
	troupeRestart(b, nil, supervisor.WithIntensity(math.MaxInt, time.Nanosecond))
}

// BenchmarkRestartWindow_Troupe is the restart with the default intensity
// window (supervisor.DefaultWindow) instead of 1 ns, with an intensity out
// of reach: what the supervisor's check of the restarts within the window
// costs as they accumulate. Logs are discarded.
func BenchmarkRestartWindow_Troupe(b *testing.B) {
	troupeRestart(b, []actor.Option{actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {})},
		supervisor.WithIntensity(1<<30, supervisor.DefaultWindow), supervisor.WithLogger(discard))
}

func troupeRestart(b *testing.B, aopts []actor.Option, sopts ...supervisor.Option) {
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	a := actor.New("kid", func(_ context.Context, e Event) error {
		if e.ID == Poison {
			panic("poison")
		}
		s.Handle(e)
		handled <- struct{}{}
		return nil
	}, append([]actor.Option{actor.WithMailbox(Buffer)}, aopts...)...)
	sup := supervisor.New("root", append([]supervisor.Option{supervisor.WithBackoff(0, 0)}, sopts...)...)
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

// BenchmarkIdleMemSupervised_Troupe: 10,000 idle actors as a service runs
// them, each under a supervisor (one for all of them) and subscribed to a
// bus, with the default options but the mailbox size.
func BenchmarkIdleMemSupervised_Troupe(b *testing.B) {
	var cancel context.CancelFunc
	// bs is kept until the actors stop (stop clears it): its subscriptions
	// are part of what an idle actor costs.
	var bs *bus.Bus
	done := make(chan error, 1)
	idleMemory(b, func(n int) {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		bs = bus.New(bus.WithLogger(discard))
		// The measurement waits until every child has started: the
		// supervisor starts them one after the other.
		var started sync.WaitGroup
		started.Add(n)
		sup := supervisor.New("root", supervisor.WithLogger(discard), supervisor.WithHook(func(e supervisor.Event) {
			if e.Kind == supervisor.Started {
				started.Done()
			}
		}))
		for i := range n {
			a := actor.New("idle", func(context.Context, Event) error { return nil }, actor.WithMailbox(IdleMailbox))
			if _, err := bus.Subscribe[Event](bs, a); err != nil {
				b.Fatal(err)
			}
			if err := sup.Add(strconv.Itoa(i), a); err != nil {
				b.Fatal(err)
			}
		}
		go func() { done <- sup.Run(ctx) }()
		started.Wait()
	}, func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		bs = nil
	})
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

// subscribeUnrelated10k subscribes to Unrelated distinct event types.
func subscribeUnrelated10k(b *testing.B, bs *bus.Bus) {
	err := errors.Join(t0.Subscribe(bs), t1.Subscribe(bs), t2.Subscribe(bs), t3.Subscribe(bs), t4.Subscribe(bs),
		t5.Subscribe(bs), t6.Subscribe(bs), t7.Subscribe(bs), t8.Subscribe(bs), t9.Subscribe(bs))
	if err != nil {
		b.Fatal(err)
	}
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

// troupeOverload runs the overload workload (see Burst) on an actor
// subscribed under policy p, and checks the subscription's counts: every
// event published, gate events included, was delivered or dropped as new.
func troupeOverload(b *testing.B, p bus.Policy) {
	r := newTroupe()
	s := newOverloadSink()
	r.subscribe(b, s.Handle, bus.WithPolicy(p))
	sub := r.subs[0]
	var published int64
	overload(b, s, func(e Event) {
		published++
		r.publish(b, e)
	}, func() int64 { return int64(sub.Stats().Dropped.Total()) })
	st := sub.Stats()
	if got := int64(st.Delivered + st.Dropped.Newest); got != published {
		b.Fatalf("delivered %d + dropped newest %d = %d; want published %d", st.Delivered, st.Dropped.Newest, got, published)
	}
	r.close(b)
}

func BenchmarkDropNewest_Troupe(b *testing.B) { troupeOverload(b, bus.DropNewest) }
func BenchmarkDropOldest_Troupe(b *testing.B) { troupeOverload(b, bus.DropOldest) }

// troupePool sends to an actor.Pool of workers with Send, as a service
// hands work to a pool (no bus: the pool workloads compare the pool with a
// hand-written one).
func troupePool(b *testing.B, workers int) {
	b.ReportAllocs()
	s := newPoolSink(b.N)
	p := actor.NewPool("pool", workers, func(_ context.Context, e Event) error {
		s.Handle(e)
		return nil
	}, actor.WithMailbox(Buffer), actor.WithLogger(discard))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- p.Run(ctx) }()
	b.ResetTimer()
	for i := range b.N {
		if err := p.Send(ctx, newEvent(i)); err != nil {
			b.Fatal(err)
		}
	}
	s.wait(b)
	b.StopTimer()
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPool1_Troupe(b *testing.B) { troupePool(b, 1) }
func BenchmarkPool4_Troupe(b *testing.B) { troupePool(b, 4) }
