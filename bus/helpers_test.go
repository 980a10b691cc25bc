package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

// The events of the tests.
type (
	OrderEvent     interface{ OrderID() int }
	OrderCreated   struct{ ID int }
	OrderCancelled struct{ ID int }
	StockLow       struct{ SKU string }
)

func (o OrderCreated) OrderID() int   { return o.ID }
func (o OrderCancelled) OrderID() int { return o.ID }

// testCtx returns a context that ends with the test, bounded so that a
// broken test fails rather than hangs.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run runs a until the test ends.
func run[M any](t *testing.T, a *actor.Actor[M]) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("actor %s: Run: %v", a.Name(), err)
		}
	})
}

// subscribe subscribes in to b or fails the test.
func subscribe[E any](t *testing.T, b *bus.Bus, in bus.Inbox[E], opts ...bus.SubscribeOption) *bus.Subscription {
	t.Helper()
	s, err := bus.Subscribe(b, in, opts...)
	if err != nil {
		t.Fatalf("Subscribe(%s): %v", in.Name(), err)
	}
	return s
}

// publish publishes e on b or fails the test.
func publish[E any](t *testing.T, b *bus.Bus, e E) {
	t.Helper()
	if err := bus.Publish(testCtx(t), b, e); err != nil {
		t.Fatalf("Publish(%v): %v", e, err)
	}
}

// publishInts starts n goroutines publishing ints on b, alternately as int
// and as any, until the stop it returns is called; stop waits for them and
// returns how many events they published. A publish error fails the test
// unless tolerate, if not nil, accepts it.
func publishInts(t *testing.T, b *bus.Bus, n int, tolerate func(error) bool) (stop func() uint64) {
	t.Helper()
	ctx := testCtx(t)
	var published atomic.Uint64
	done := make(chan struct{})
	var pubs sync.WaitGroup
	for range n {
		pubs.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				published.Add(1)
				var err error
				if i%2 == 0 {
					err = bus.Publish(ctx, b, i)
				} else {
					err = bus.Publish[any](ctx, b, i)
				}
				if err != nil && (tolerate == nil || !tolerate(err)) {
					t.Error(err)
					return
				}
			}
		})
	}
	return func() uint64 {
		close(done)
		pubs.Wait()
		return published.Load()
	}
}

// newBus returns a bus whose dead letters are recorded.
func newBus(t *testing.T, opts ...bus.Option) (*bus.Bus, *bustest.Recorder[bus.DeadLetter]) {
	t.Helper()
	dl := bustest.NewDeadLetters()
	b := bus.New(append([]bus.Option{bus.WithDeadLetterHook(dl.Record), bus.WithSlowHook(func(bus.SlowSubscriber) {})}, opts...)...)
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b, dl
}

// isAll reports whether err matches every target.
func isAll(err error, targets ...error) bool {
	for _, t := range targets {
		if !errors.Is(err, t) {
			return false
		}
	}
	return err != nil
}
