package observer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/observer"
	"github.com/troupe-go/troupe/supervisor"
)

// Order is the event the test service handles; an order for SKU "boom"
// makes its handler panic.
type Order struct{ SKU string }

// service is a small supervised program for the page to show: a supervisor
// running an actor "orders" subscribed to Order on a bus, with a recorder
// wired into the dead-letter hooks, and keyed actors "skus", one per SKU,
// sent every order.
type service struct {
	bus       *bus.Bus
	orders    *actor.Actor[Order]
	skus      *actor.Keyed[string, Order]
	root      *supervisor.Supervisor
	dead      *observer.DeadLetters
	page      *observer.Handler
	restarted chan struct{} // receives each restart of "orders"

	stop func()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startService(t *testing.T, interval time.Duration) *service {
	t.Helper()
	s := &service{restarted: make(chan struct{}, 16)}
	s.dead = observer.NewDeadLetters(10, nil)
	s.bus = bus.New(bus.WithDeadLetterHook(s.dead.Bus), bus.WithLogger(quiet))
	s.orders = actor.New("orders", func(_ context.Context, o Order) error {
		switch o.SKU {
		case "boom":
			panic("cannot handle SKU boom")
		case "bad":
			return errors.New("bad order")
		}
		return nil
	}, actor.WithDeadLetterHook(s.dead.Actor), actor.WithLogger(quiet))
	if _, err := bus.Subscribe[Order](s.bus, s.orders, bus.WithName("orders"), bus.WithPolicy(bus.DropNewest)); err != nil {
		t.Fatal(err)
	}
	s.skus = actor.NewKeyed("skus", func(string) actor.Handler[Order] {
		return func(context.Context, Order) error { return nil }
	}, actor.WithLogger(quiet))
	s.root = supervisor.New("shop", supervisor.WithLogger(quiet), supervisor.WithBackoff(time.Millisecond, time.Millisecond),
		supervisor.WithHook(func(e supervisor.Event) {
			if e.Kind == supervisor.Restarted && e.Child == "orders" {
				s.restarted <- struct{}{}
			}
		}))
	if err := s.root.Add("orders", s.orders); err != nil {
		t.Fatal(err)
	}
	s.page = observer.New(observer.Options{
		Tree:          s.root.Tree,
		Mailboxes:     []func() actor.Stats{s.orders.Stats},
		Keyed:         []func() actor.KeyedStats{s.skus.Stats},
		Subscriptions: s.bus.Stats,
		DeadLetters:   s.dead,
		Interval:      interval,
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.root.Run(ctx); err != nil {
			t.Errorf("supervisor Run = %v; want nil", err)
		}
	})
	skusRan := make(chan struct{})
	wg.Go(func() {
		defer close(skusRan)
		if err := s.skus.Run(ctx); err != nil {
			t.Errorf("keyed Run = %v; want nil", err)
		}
	})
	s.stop = func() {
		cancel()
		wg.Wait()
		_ = s.bus.Close(context.Background())
	}
	t.Cleanup(s.stop)
	// Nothing else waits for the keyed actors' Run to begin, and the page
	// shows them running only once it has: a snapshot taken before would
	// show skus stopped.
	for !s.skus.Stats().Running {
		select {
		case <-skusRan:
			t.Fatal("keyed Run returned before it began")
		default:
		}
		runtime.Gosched()
	}
	return s
}

// publish publishes an order, sends it to its SKU's keyed actor, and fails
// the test on an error.
func (s *service) publish(t *testing.T, sku string) {
	t.Helper()
	if err := bus.Publish(context.Background(), s.bus, Order{SKU: sku}); err != nil {
		t.Fatal(err)
	}
	if err := s.skus.Send(context.Background(), sku, Order{SKU: sku}); err != nil {
		t.Fatal(err)
	}
}
