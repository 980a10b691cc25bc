package actor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
)

type Payment struct{ Kind string }

// A handler schedules a message to itself with After: here a payment
// that times out unless confirmed first.
func ExampleAfter() {
	done := make(chan struct{})
	a := actor.New("payment", func(ctx context.Context, p Payment) error {
		switch p.Kind {
		case "started":
			fmt.Println("payment started; waiting 10ms for a confirmation")
			actor.After(ctx, 10*time.Millisecond, Payment{"timeout"})
		case "timeout":
			fmt.Println("no confirmation: payment cancelled")
			close(done)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- a.Run(ctx) }()
	_ = a.Send(ctx, Payment{"started"})
	<-done
	cancel()
	fmt.Println("run:", <-stopped)
	// Output:
	// payment started; waiting 10ms for a confirmation
	// no confirmation: payment cancelled
	// run: <nil>
}
