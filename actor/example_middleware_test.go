package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// userKey is the context key of the user a request is made for.
type userKey struct{}

// userPropagator carries the user from the sender's context to the
// handler's.
type userPropagator struct{}

func (userPropagator) Extract(ctx context.Context) any { return ctx.Value(userKey{}) }

func (userPropagator) Inject(ctx context.Context, carried any) context.Context {
	if carried == nil {
		return ctx
	}
	return context.WithValue(ctx, userKey{}, carried)
}

// Middleware wraps the handler: here a timing middleware outside an
// authorisation check, which sees the user the propagator carried from
// the sender's context.
func ExampleWithMiddleware() {
	timing := func(next actor.HandleFunc) actor.HandleFunc {
		return func(ctx context.Context, m actor.Message) error {
			start := time.Now()
			err := next(ctx, m)
			_ = time.Since(start) // record it in a histogram
			fmt.Printf("%s handled %v: error %v\n", m.Actor, m.Msg, err)
			return err
		}
	}
	errForbidden := errors.New("forbidden")
	auth := func(next actor.HandleFunc) actor.HandleFunc {
		return func(ctx context.Context, m actor.Message) error {
			if ctx.Value(userKey{}) != "admin" {
				return errForbidden
			}
			return next(ctx, m)
		}
	}
	done := make(chan struct{})
	a := actor.New("refunds", func(ctx context.Context, orderID int) error {
		fmt.Println("refund order", orderID, "for", ctx.Value(userKey{}))
		return nil
	},
		actor.WithPropagator(userPropagator{}),
		actor.WithMiddleware(timing, auth),
		actor.WithErrorHook(func(_ context.Context, _ string, msg any, err error) {
			if msg == 2 {
				close(done)
			}
		}),
	)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- a.Run(ctx) }()

	_ = a.Send(context.WithValue(ctx, userKey{}, "admin"), 1)
	_ = a.Send(context.WithValue(ctx, userKey{}, "guest"), 2)
	<-done
	cancel()
	fmt.Println("run:", <-stopped)
	// Output:
	// refund order 1 for admin
	// refunds handled 1: error <nil>
	// refunds handled 2: error forbidden
	// run: <nil>
}
