package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// countingActor is an actor counting what it handles; stop stops it after it has
// handled what it accepted.
type countingActor[M any] struct {
	*actor.Actor[M]
	handled atomic.Uint64
	stop    func()
}

func newCounter[M any](t *testing.T, name string, mailbox int) *countingActor[M] {
	t.Helper()
	c := &countingActor[M]{}
	c.Actor = actor.New(name, func(context.Context, M) error {
		c.handled.Add(1)
		return nil
	}, actor.WithMailbox(mailbox))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("actor %s: Run: %v", name, err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// Actors subscribe and unsubscribe while events are published: an actor
// gets nothing once Unsubscribe has returned, and every subscription's
// Delivered is what its actor handled.
func TestActorSubscriptionsChurn(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBus(t)
	steady := newCounter[int](t, "steady", 1024)
	steadySub := subscribe[int](t, b, steady)
	// A wait for room in an actor unsubscribed meanwhile is canceled and
	// reported.
	unsubscribed := func(err error) bool { return errors.Is(err, bus.ErrUnsubscribed) }
	stopPublishing := publishInts(t, b, 4, unsubscribed)
	var published atomic.Uint64 // by the churning goroutines
	var churn sync.WaitGroup
	for w := range 4 {
		churn.Go(func() {
			for i := range 50 {
				name := fmt.Sprintf("churn-%d-%d", w, i)
				var s *bus.Subscription
				var handled func() uint64
				var stopActor func()
				if (w+i)%2 == 0 {
					c := newCounter[int](t, name, 16)
					s, handled, stopActor = subscribe[int](t, b, c), c.handled.Load, c.stop
				} else {
					c := newCounter[any](t, name, 16)
					s, handled, stopActor = subscribe[any](t, b, c), c.handled.Load, c.stop
				}
				for range 10 {
					if err := bus.Publish(ctx, b, -1); err != nil && !unsubscribed(err) {
						t.Error(err)
					}
					published.Add(1)
				}
				s.Unsubscribe()
				delivered := s.Stats().Delivered
				stopActor() // handles what it accepted
				if got := handled(); got != delivered {
					t.Errorf("%s: handled %d; its subscription delivered %d before Unsubscribe returned", name, got, delivered)
				}
				if delivered < 10 {
					t.Errorf("%s: delivered %d; want at least the 10 events published while subscribed", name, delivered)
				}
			}
		})
	}
	churn.Wait()
	want := stopPublishing() + published.Load()
	if got := steadySub.Stats().Delivered; got != want {
		t.Errorf("steady: Delivered %d; want all %d published", got, want)
	}
	steady.stop()
	if got := steady.handled.Load(); got != want {
		t.Errorf("steady: handled %d; want %d", got, want)
	}
}

// Close while events are published to actors: once Close has returned no
// actor gets another event, and every event a publish accepted is either
// delivered or reported as a dead letter, per subscription.
func TestCloseWhilePublishingToActors(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	dead := map[string]uint64{}
	b := bus.New(bus.WithDeadLetterHook(func(d bus.DeadLetter) {
		mu.Lock()
		dead[d.Subscription]++
		mu.Unlock()
	}), bus.WithSlowHook(func(bus.SlowSubscriber) {}))
	var subs []*bus.Subscription
	var actors []*countingActor[int]
	for i, p := range []bus.Policy{bus.Block, bus.DropNewest, bus.DropOldest} {
		c := newCounter[int](t, fmt.Sprintf("a%d", i), 8)
		actors = append(actors, c)
		subs = append(subs, subscribe[int](t, b, c, bus.WithPolicy(p)))
	}
	var accepted atomic.Uint64
	var pubs sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	for range 4 {
		pubs.Go(func() {
			for i := 0; ; i++ {
				err := bus.Publish(ctx, b, i)
				if err == bus.ErrClosed {
					return
				}
				accepted.Add(1)
				if i == 100 {
					once.Do(func() { close(started) })
				}
			}
		})
	}
	<-started
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var atClose []uint64
	for _, s := range subs {
		atClose = append(atClose, s.Stats().Delivered)
	}
	pubs.Wait()
	for i, s := range subs {
		st := s.Stats()
		if st.Delivered != atClose[i] {
			t.Errorf("%s: delivered %d after Close returned, %d before", st.Name, st.Delivered, atClose[i])
		}
		actors[i].stop()
		if got := actors[i].handled.Load() + actors[i].Stats().Evicted; got != st.Delivered {
			t.Errorf("%s: handled and evicted %d; delivered %d", st.Name, got, st.Delivered)
		}
		mu.Lock()
		d := dead[st.Name]
		mu.Unlock()
		// An evicted event was delivered, and reported.
		if got, want := st.Delivered+d-st.Dropped.Oldest, accepted.Load(); got != want {
			t.Errorf("%s: delivered %d + dead letters %d - evicted %d = %d; want the %d events accepted", st.Name, st.Delivered, d, st.Dropped.Oldest, got, want)
		}
	}
}
