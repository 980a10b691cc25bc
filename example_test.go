package troupe_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

type OrderCreated struct {
	ID  int
	SKU string
}

// The order service of the problem statement: the handler publishes
// OrderCreated and returns; email and inventory react on their own, each an
// actor under a supervisor. The email provider panics on order 2: the email
// actor is restarted, the poison order is reported as a dead letter, and
// inventory never notices.
func Example() {
	quiet := slog.New(slog.DiscardHandler)
	var mu sync.Mutex
	var log []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf(format, args...))
	}
	var done sync.WaitGroup
	done.Add(6) // 3 orders at each of 2 consumers

	email := actor.New("email", func(_ context.Context, o OrderCreated) error {
		if o.ID == 2 {
			panic("smtp: connection reset")
		}
		note("email: order %d confirmed", o.ID)
		done.Done()
		return nil
	}, actor.WithLogger(quiet), actor.WithDeadLetterHook(func(dl actor.DeadLetter) {
		note("email: order %d is a dead letter (panicked: %v)", dl.Msg.(OrderCreated).ID, errors.Is(dl.Reason, actor.ErrPanicked))
		done.Done()
	}))
	inventory := actor.New("inventory", func(_ context.Context, o OrderCreated) error {
		note("inventory: %s reserved for order %d", o.SKU, o.ID)
		done.Done()
		return nil
	})

	b := bus.New()
	for _, in := range []bus.Inbox[OrderCreated]{email, inventory} {
		if _, err := bus.Subscribe(b, in); err != nil {
			fmt.Println(err)
		}
	}

	root := supervisor.New("orders", supervisor.WithBackoff(0, 0), supervisor.WithLogger(quiet))
	_ = root.Add("email", email)
	_ = root.Add("inventory", inventory)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- root.Run(ctx) }()

	// The order handler: publish and move on.
	for id := 1; id <= 3; id++ {
		if err := bus.Publish(ctx, b, OrderCreated{ID: id, SKU: "book"}); err != nil {
			fmt.Println(err)
		}
	}
	done.Wait()
	cancel()
	fmt.Println("supervisor:", <-stopped)
	for _, c := range root.Tree() {
		fmt.Printf("%s restarted %d times\n", c.Path, c.Restarts)
	}
	// Each consumer's own lines are in order; sort across consumers.
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(log)
	for _, l := range log {
		fmt.Println(l)
	}
	// Output:
	// supervisor: <nil>
	// orders/email restarted 1 times
	// orders/inventory restarted 0 times
	// email: order 1 confirmed
	// email: order 2 is a dead letter (panicked: true)
	// email: order 3 confirmed
	// inventory: book reserved for order 1
	// inventory: book reserved for order 2
	// inventory: book reserved for order 3
}
