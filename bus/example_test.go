package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// An order service publishes OrderCreated; an email actor receives it.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b := bus.New()

	handled := make(chan struct{})
	email := actor.New("email", func(_ context.Context, o OrderCreated) error {
		fmt.Println("email for order", o.ID)
		handled <- struct{}{}
		return nil
	})
	wg.Go(func() { _ = email.Run(ctx) })
	if _, err := bus.Subscribe(b, email); err != nil {
		fmt.Println(err)
	}

	for id := 1; id <= 2; id++ {
		if err := bus.Publish(ctx, b, OrderCreated{ID: id}); err != nil {
			fmt.Println(err)
		}
		<-handled
	}
	fmt.Println("close:", b.Close(ctx))
	fmt.Println("publish after close:", bus.Publish(ctx, b, OrderCreated{ID: 3}))
	cancel()
	wg.Wait()
	fmt.Println("delivered:", b.Stats()[0].Delivered)
	// Output:
	// email for order 1
	// email for order 2
	// close: <nil>
	// publish after close: bus: closed
	// delivered: 2
}

// A subscription to an interface type receives every event whose type
// implements it: here analytics sees all events, audit every OrderEvent.
func ExampleSubscribe_interface() {
	ctx := context.Background()
	b := bus.New()
	analytics := actor.New("analytics", func(context.Context, any) error { return nil })
	audit := actor.New("audit", func(context.Context, OrderEvent) error { return nil })
	for _, err := range []error{
		subscribeErr(bus.Subscribe[any](b, analytics)),
		subscribeErr(bus.Subscribe[OrderEvent](b, audit)),
	} {
		if err != nil {
			fmt.Println(err)
		}
	}

	_ = bus.Publish(ctx, b, OrderCreated{ID: 1})
	_ = bus.Publish(ctx, b, OrderCancelled{ID: 1})
	_ = bus.Publish(ctx, b, StockLow{SKU: "book"})

	for _, s := range b.Stats() {
		fmt.Printf("%s (%v): %d events\n", s.Name, s.Type, s.Delivered)
	}
	// Output:
	// analytics (interface {}): 3 events
	// audit (bus_test.OrderEvent): 2 events
}

func subscribeErr(_ *bus.Subscription, err error) error { return err }

// A DropOldest subscription keeps the newest events; the evicted ones go to
// the dead-letter hook.
func ExampleWithPolicy_dropOldest() {
	b := bus.New(bus.WithDeadLetterHook(func(dl bus.DeadLetter) {
		fmt.Printf("dead letter for %s: %v (%v)\n", dl.Subscription, dl.Event, errors.Is(dl.Reason, bus.ErrDroppedOldest))
	}), bus.WithSlowHook(func(s bus.SlowSubscriber) {
		fmt.Printf("%s is slow: %d/%d queued\n", s.Subscription, s.Queued, s.Capacity)
	}))
	// An actor that is not running yet: its mailbox of 2 fills up.
	prices := actor.New("prices", func(context.Context, int) error { return nil }, actor.WithMailbox(2))
	if _, err := bus.Subscribe(b, prices, bus.WithPolicy(bus.DropOldest)); err != nil {
		fmt.Println(err)
	}
	for price := 100; price <= 104; price++ {
		_ = bus.Publish(context.Background(), b, price)
	}
	s := b.Stats()[0]
	fmt.Println("delivered:", s.Delivered, "evicted:", s.Dropped.Oldest, "queued:", s.Queued)
	// Output:
	// dead letter for prices: 100 (true)
	// prices is slow: 2/2 queued
	// dead letter for prices: 101 (true)
	// dead letter for prices: 102 (true)
	// delivered: 5 evicted: 3 queued: 2
}
