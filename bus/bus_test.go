package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

type seqEvent struct{ Pub, Seq int }

// Per publisher and subscriber, events arrive in publish order.
func TestOrderPerPublisher(t *testing.T) {
	const pubs, n = 4, 300
	ctx := testCtx(t)
	b, _ := newBus(t)
	rec := bustest.NewRecorder[seqEvent]("rec")
	subscribe(t, b, rec)
	got := bustest.NewRecorder[seqEvent]("actor")
	a := actor.New("ordered", func(_ context.Context, e seqEvent) error {
		got.Record(e)
		return nil
	}, actor.WithMailbox(8))
	run(t, a)
	subscribe(t, b, a) // Block: waits when the mailbox is full
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Go(func() {
			for i := range n {
				if err := bus.Publish(ctx, b, seqEvent{p, i}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, r := range []*bustest.Recorder[seqEvent]{rec, got} {
		events, err := bustest.WaitN(ctx, r, pubs*n)
		if err != nil {
			t.Fatal(err)
		}
		next := make([]int, pubs)
		for _, e := range events {
			if e.Seq != next[e.Pub] {
				t.Fatalf("%s: publisher %d: got seq %d; want %d", r.Name(), e.Pub, e.Seq, next[e.Pub])
			}
			next[e.Pub]++
		}
	}
}

// gone is an inbox that fails the test if a delivery starts after
// Unsubscribe returned.
type gone struct {
	t      *testing.T
	name   string
	unsubd atomic.Bool
	n      atomic.Int64
}

func (g *gone) Name() string { return g.name }
func (g *gone) Send(_ context.Context, e int) error {
	return g.Offer(context.Background(), e)
}
func (g *gone) Offer(context.Context, int) error {
	if g.unsubd.Load() {
		g.t.Errorf("%s: delivery after Unsubscribe returned", g.name)
	}
	g.n.Add(1)
	return nil
}

// Subscribe, Unsubscribe and Publish from many goroutines at once. Every
// subscription's Delivered, computed from its routes' counts, must match
// what its inbox accepted, across the routes replaced meanwhile.
func TestConcurrentSubscribeUnsubscribePublish(t *testing.T) {
	b, _ := newBus(t)
	// steady stays subscribed throughout: the routes replaced under the
	// publishes must not cost it an event.
	steady := &tally{}
	steadySub, err := bus.Subscribe[int](b, steady)
	if err != nil {
		t.Fatal(err)
	}
	stopPublishing := publishInts(t, b, 4, nil)
	var subs sync.WaitGroup
	for w := range 4 {
		subs.Go(func() {
			for i := range 200 {
				g := &gone{t: t, name: "g"}
				var s *bus.Subscription
				var err error
				if (w+i)%2 == 0 {
					s, err = bus.Subscribe[int](b, g)
				} else {
					s, err = bus.Subscribe[any](b, anyInbox{g})
				}
				if err != nil {
					t.Error(err)
					return
				}
				_ = b.Stats()
				s.Unsubscribe()
				g.unsubd.Store(true)
				if got, want := s.Stats().Delivered, uint64(g.n.Load()); got != want {
					t.Errorf("unsubscribed %s: Delivered %d; its inbox accepted %d", s.Name(), got, want)
				}
			}
		})
	}
	subs.Wait()
	published := stopPublishing()
	if n := len(b.Stats()); n != 1 {
		t.Errorf("got %d subscriptions; want 1", n)
	}
	if got, want := uint64(steady.n.Load()), published; got != want {
		t.Errorf("steady subscription got %d events; want all %d published", got, want)
	}
	if got, want := steadySub.Stats().Delivered, published; got != want {
		t.Errorf("steady subscription: Delivered %d; want %d", got, want)
	}
}

// tally is an inbox that counts the events it accepts.
type tally struct{ n atomic.Int64 }

func (c *tally) Name() string                        { return "tally" }
func (c *tally) Send(_ context.Context, _ int) error { c.n.Add(1); return nil }
func (c *tally) Offer(context.Context, int) error    { c.n.Add(1); return nil }

// anyInbox adapts a gone to Inbox[any].
type anyInbox struct{ g *gone }

func (a anyInbox) Name() string                           { return a.g.name }
func (a anyInbox) Send(ctx context.Context, e any) error  { return a.g.Send(ctx, e.(int)) }
func (a anyInbox) Offer(ctx context.Context, e any) error { return a.g.Offer(ctx, e.(int)) }

// Unsubscribe ends a publisher's wait for room in the inbox.
func TestUnsubscribeCancelsWait(t *testing.T) {
	ctx := testCtx(t)
	b, dl := newBus(t)
	q := bustest.NewQueue[int]("q", 1)
	s := subscribe(t, b, q)
	publish(t, b, 1)
	done := make(chan error, 1)
	go func() { done <- bus.Publish(context.Background(), b, 2) }()
	if err := q.WaitSenders(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.Unsubscribe()
	if err := <-done; !isAll(err, bus.ErrCanceled, bus.ErrUnsubscribed) {
		t.Errorf("Publish: got %v; want ErrCanceled and ErrUnsubscribed", err)
	}
	if d, err := bustest.WaitN(ctx, dl, 1); err != nil || d[0].Event != 2 {
		t.Errorf("got dead letters %+v, %v; want event 2", d, err)
	}
	if got := s.Stats(); got.Delivered != 1 || got.Dropped.Canceled != 1 {
		t.Errorf("got %+v; want 1 delivered, 1 canceled", got)
	}
}

func TestClose(t *testing.T) {
	ctx := testCtx(t)
	t.Run("publish and subscribe after close", func(t *testing.T) {
		b := bus.New()
		a := actor.New("a", func(context.Context, int) error { return nil })
		if _, err := bus.Subscribe(b, a); err != nil {
			t.Fatal(err)
		}
		for range 2 { // idempotent
			if err := b.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		if err := bus.Publish(ctx, b, 1); err != bus.ErrClosed {
			t.Errorf("Publish: got %v; want ErrClosed", err)
		}
		if _, err := bus.Subscribe(b, bustest.NewRecorder[int]("r")); err != bus.ErrClosed {
			t.Errorf("Subscribe: got %v; want ErrClosed", err)
		}
		// The actor's mailbox is untouched: it still takes messages.
		if err := a.TrySend(1); err != nil {
			t.Errorf("TrySend after Close: got %v; want nil", err)
		}
		if !b.Closed() {
			t.Error("Closed: got false; want true")
		}
	})
	t.Run("in-flight publish finishes", func(t *testing.T) {
		b := bus.New()
		q := bustest.NewQueue[int]("q", 1)
		subscribe(t, b, q)
		publish(t, b, 1)
		pub := make(chan error, 1)
		go func() { pub <- bus.Publish(ctx, b, 2) }()
		if err := q.WaitSenders(ctx, 1); err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		go func() { closed <- b.Close(ctx) }()
		if _, err := q.Take(ctx); err != nil { // room for the waiting publish
			t.Fatal(err)
		}
		if err := <-pub; err != nil {
			t.Errorf("Publish: got %v; want nil", err)
		}
		if err := <-closed; err != nil {
			t.Errorf("Close: got %v; want nil", err)
		}
		if got, _ := q.Take(ctx); got != 2 {
			t.Errorf("got %d; want 2", got)
		}
	})
	t.Run("close deadline cancels waits", func(t *testing.T) {
		dl := bustest.NewDeadLetters()
		b := bus.New(bus.WithDeadLetterHook(dl.Record))
		q := bustest.NewQueue[int]("q", 1)
		subscribe(t, b, q)
		publish(t, b, 1)
		pub := make(chan error, 1)
		go func() { pub <- bus.Publish(context.Background(), b, 2) }()
		if err := q.WaitSenders(ctx, 1); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.Close(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Close: got %v; want context.Canceled", err)
		}
		if err := <-pub; !isAll(err, bus.ErrCanceled, bus.ErrClosed) {
			t.Errorf("Publish: got %v; want ErrCanceled and ErrClosed", err)
		}
		if d := dl.Events(); len(d) != 1 || d[0].Event != 2 {
			t.Errorf("got dead letters %+v; want event 2", d)
		}
	})
}

// A handler publishing into its own full mailbox gets an error instead of
// hanging; publishing to another actor works.
func TestNoSelfDeadlock(t *testing.T) {
	ctx := testCtx(t)
	b, dl := newBus(t)
	other := bustest.NewRecorder[string]("other")
	subscribe(t, b, other)
	errs := make(chan error, 3)
	a := actor.New("self", func(ctx context.Context, n int) error {
		if n == 0 {
			errs <- bus.Publish(ctx, b, 1) // room for one
			errs <- bus.Publish(ctx, b, 2) // full: would wait for itself
			errs <- bus.Publish(ctx, b, "to other")
		}
		return nil
	}, actor.WithMailbox(1))
	s := subscribe(t, b, a) // Block, no timeout
	run(t, a)
	publish(t, b, 0)
	if err := <-errs; err != nil {
		t.Errorf("first: got %v; want nil", err)
	}
	if err := <-errs; !isAll(err, bus.ErrRejected, actor.ErrWouldDeadlock) {
		t.Errorf("second: got %v; want ErrRejected and actor.ErrWouldDeadlock", err)
	}
	if err := <-errs; err != nil {
		t.Errorf("to other: got %v; want nil", err)
	}
	if err := bustest.Expect(ctx, other, "to other"); err != nil {
		t.Error(err)
	}
	if d := dl.Events(); len(d) != 1 || d[0].Event != 2 || s.Stats().Dropped.Rejected != 1 {
		t.Errorf("got dead letters %+v; want event 2, rejected", d)
	}
}

func TestBadInput(t *testing.T) {
	b, _ := newBus(t)
	rec := bustest.NewRecorder[int]("rec")
	subscribe(t, b, rec)
	var nilRec *bustest.Recorder[int]
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"nil bus", func() error { _, err := bus.Subscribe(nil, rec); return err }(), bus.ErrInvalid},
		{"nil inbox", func() error { _, err := bus.Subscribe[int](b, nil); return err }(), bus.ErrInvalid},
		{"typed nil inbox", func() error { _, err := bus.Subscribe[int](b, nilRec); return err }(), bus.ErrInvalid},
		{"duplicate", func() error { _, err := bus.Subscribe(b, rec); return err }(), bus.ErrDuplicate},
		{"invalid policy", func() error {
			_, err := bus.Subscribe(b, bustest.NewRecorder[int]("p"), bus.WithPolicy(bus.Policy(9)))
			return err
		}(), bus.ErrInvalid},
		{"negative timeout", func() error {
			_, err := bus.Subscribe(b, bustest.NewRecorder[int]("p"), bus.WithTimeout(-1))
			return err
		}(), bus.ErrInvalid},
		{"empty name", func() error {
			_, err := bus.Subscribe(b, bustest.NewRecorder[int]("p"), bus.WithName(""))
			return err
		}(), bus.ErrInvalid},
		{"DropOldest without Displace", func() error {
			_, err := bus.Subscribe(b, bustest.NewRecorder[int]("p"), bus.WithPolicy(bus.DropOldest))
			return err
		}(), bus.ErrInvalid},
		{"publish nil bus", bus.Publish(t.Context(), nil, 1), bus.ErrInvalid},
		{"publish nil event", bus.Publish[any](t.Context(), b, nil), bus.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("got %v; want %v", tt.err, tt.want)
			}
		})
	}
	// The same inbox under another name is still a duplicate; another
	// inbox type for the same events is not.
	if _, err := bus.Subscribe(b, rec, bus.WithName("again")); !errors.Is(err, bus.ErrDuplicate) {
		t.Errorf("renamed duplicate: got %v; want ErrDuplicate", err)
	}
	if len(b.Stats()) != 1 {
		t.Errorf("got %d subscriptions; want 1", len(b.Stats()))
	}
}

func TestOptionPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"WithLogger":         func() { bus.WithLogger(nil) },
		"WithDeadLetterHook": func() { bus.WithDeadLetterHook(nil) },
		"WithSlowHook":       func() { bus.WithSlowHook(nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("got no panic; want one")
				}
			}()
			f()
		})
	}
}
