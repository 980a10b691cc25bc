package bus_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

// An actor is an Inbox without an adapter.
var _ bus.Inbox[OrderCreated] = (*actor.Actor[OrderCreated])(nil)
var _ bus.Displacer[OrderCreated] = (*actor.Actor[OrderCreated])(nil)
var _ bus.Depther = (*actor.Actor[OrderCreated])(nil)

func TestRouteByType(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBus(t)
	created := bustest.NewRecorder[OrderCreated]("created")
	orders := bustest.NewRecorder[OrderEvent]("orders")
	all := bustest.NewRecorder[any]("all")
	stock := bustest.NewRecorder[StockLow]("stock")
	strs := bustest.NewRecorder[fmt.Stringer]("stringers")
	subscribe(t, b, created)
	subscribe(t, b, orders)
	subscribe(t, b, all)
	subscribe(t, b, stock)
	subscribe(t, b, strs)

	publish(t, b, OrderCreated{ID: 1})
	publish(t, b, OrderCancelled{ID: 2})
	publish[OrderEvent](t, b, OrderCreated{ID: 3}) // routed by its dynamic type
	publish[any](t, b, StockLow{SKU: "x"})
	publish(t, b, 42)

	tests := []struct {
		name string
		err  error
	}{
		{"created", bustest.Expect(ctx, created, OrderCreated{1}, OrderCreated{3})},
		{"orders", bustest.Expect[OrderEvent](ctx, orders, OrderCreated{1}, OrderCancelled{2}, OrderCreated{3})},
		{"all", bustest.Expect[any](ctx, all, OrderCreated{1}, OrderCancelled{2}, OrderCreated{3}, StockLow{"x"}, 42)},
		{"stock", bustest.Expect(ctx, stock, StockLow{"x"})},
		{"stringers", bustest.Expect[fmt.Stringer](ctx, strs)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err != nil {
				t.Error(tt.err)
			}
		})
	}
}

func TestActorIsInbox(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBus(t)
	rec := bustest.NewRecorder[OrderCreated]("seen")
	a := actor.New("email", func(_ context.Context, o OrderCreated) error {
		rec.Record(o)
		return nil
	})
	run(t, a)
	subscribe(t, b, a)
	for i := range 3 {
		publish(t, b, OrderCreated{ID: i})
	}
	if err := bustest.Expect(ctx, rec, OrderCreated{0}, OrderCreated{1}, OrderCreated{2}); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if len(st) != 1 || st[0].Name != "email" || st[0].Delivered != 3 || st[0].Capacity != actor.DefaultMailboxSize {
		t.Errorf("got stats %+v; want email, 3 delivered, capacity %d", st, actor.DefaultMailboxSize)
	}
}

// The route of a type, once computed, follows later subscriptions and
// unsubscriptions, of the type itself and of interfaces it implements.
func TestRouteFollowsSubscriptions(t *testing.T) {
	b, _ := newBus(t)
	first := bustest.NewRecorder[OrderCreated]("first")
	subscribe(t, b, first)
	publish(t, b, OrderCreated{1}) // computes the route

	later := bustest.NewRecorder[OrderCreated]("later")
	sLater := subscribe(t, b, later)
	orders := bustest.NewRecorder[OrderEvent]("orders")
	sOrders := subscribe(t, b, orders)
	publish(t, b, OrderCreated{2})

	sLater.Unsubscribe()
	sOrders.Unsubscribe()
	sOrders.Unsubscribe() // idempotent
	publish(t, b, OrderCreated{3})

	for _, tt := range []struct {
		rec  *bustest.Recorder[OrderCreated]
		want []OrderCreated
	}{
		{first, []OrderCreated{{1}, {2}, {3}}},
		{later, []OrderCreated{{2}}},
	} {
		if got := tt.rec.Events(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v; want %v", tt.rec.Name(), got, tt.want)
		}
	}
	if got, want := orders.Events(), []OrderEvent{OrderCreated{2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("orders: got %v; want %v", got, want)
	}
	if st := b.Stats(); len(st) != 1 || st[0].Name != "first" {
		t.Errorf("got stats %+v; want only first", st)
	}
	if got := sLater.Stats().Delivered; got != 1 {
		t.Errorf("unsubscribed later: got %d delivered; want 1", got)
	}
}

// A user type implements Inbox: here one that keeps only a count.
type counter struct {
	name string
	n    chan int
}

func (c *counter) Name() string { return c.name }
func (c *counter) Send(ctx context.Context, e int) error {
	select {
	case c.n <- e:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", bus.ErrFull, ctx.Err())
	}
}
func (c *counter) Offer(_ context.Context, e int) error {
	select {
	case c.n <- e:
		return nil
	default:
		return bus.ErrFull
	}
}

func TestUserInbox(t *testing.T) {
	b, _ := newBus(t)
	c := &counter{name: "count", n: make(chan int, 4)}
	subscribe(t, b, c)
	publish(t, b, 7)
	if got := <-c.n; got != 7 {
		t.Errorf("got %d; want 7", got)
	}
	st := b.Stats()[0]
	if st.Queued != -1 || st.Capacity != -1 {
		t.Errorf("got depth %d/%d for an inbox without Len/Cap; want -1/-1", st.Queued, st.Capacity)
	}
}
