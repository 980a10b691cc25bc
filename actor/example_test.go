package actor_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/troupe-go/troupe/actor"
)

type OrderCreated struct {
	ID  int
	SKU string
}

func Example() {
	done := make(chan struct{})
	a := actor.New("email", func(_ context.Context, o OrderCreated) error {
		fmt.Printf("email for order %d (%s)\n", o.ID, o.SKU)
		if o.ID == 3 {
			close(done)
		}
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- a.Run(ctx) }()

	for id := 1; id <= 3; id++ {
		if err := a.Send(ctx, OrderCreated{ID: id, SKU: "book"}); err != nil {
			fmt.Println("send:", err)
		}
	}
	<-done
	cancel()
	fmt.Println("run:", <-stopped)
	fmt.Println("after stop:", a.TrySend(OrderCreated{ID: 4}))
	s := a.Stats()
	fmt.Println("handled:", s.Handled, "queued:", s.Queued)
	// Output:
	// email for order 1 (book)
	// email for order 2 (book)
	// email for order 3 (book)
	// run: <nil>
	// after stop: actor: stopped
	// handled: 3 queued: 0
}

func ExampleActor_Run_panic() {
	a := actor.New("fragile", func(_ context.Context, n int) error {
		if n == 0 {
			panic("division by zero")
		}
		fmt.Println("100 /", n, "=", 100/n)
		return nil
	}, actor.WithDeadLetterHook(func(dl actor.DeadLetter) {
		fmt.Printf("dead letter: %v (%v)\n", dl.Msg, errors.Is(dl.Reason, actor.ErrPanicked))
	}), actor.WithLogger(discard))

	_ = a.TrySend(0)
	_ = a.TrySend(4)
	err := a.Run(context.Background())
	var perr *actor.PanicError
	fmt.Println("run ended by panic:", errors.As(err, &perr), perr.Value)

	// A supervisor would call Run again; the queued message survived.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for a.Stats().Handled == 0 {
		}
		cancel()
	}()
	_ = a.Run(ctx)
	// Output:
	// dead letter: 0 (true)
	// run ended by panic: true division by zero
	// 100 / 4 = 25
}

func ExampleAsk() {
	a := actor.New("square", func(_ context.Context, r actor.Request[int, int]) error {
		r.Reply(r.Msg*r.Msg, nil)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = a.Run(ctx) }()

	n, err := actor.Ask[int, int](ctx, a, 12)
	fmt.Println(n, err)
	// Output: 144 <nil>
}
