package actor_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

type customerEvent struct {
	Customer string
	N        int
}

// The bus delivers to a Keyed through its By view, and a supervisor runs
// it like any actor: per-customer order holds end to end.
func TestKeyedUnderSupervisorFromTheBus(t *testing.T) {
	const customers, per = 10, 50
	var mu sync.Mutex
	got := map[string][]int{}
	var wg sync.WaitGroup
	wg.Add(customers * per)
	kd := actor.NewKeyed("email", func(c string) actor.Handler[customerEvent] {
		return func(_ context.Context, e customerEvent) error {
			mu.Lock()
			got[c] = append(got[c], e.N)
			mu.Unlock()
			wg.Done()
			return nil
		}
	})
	sup := supervisor.New("root")
	if err := sup.Add("email", kd); err != nil {
		t.Fatal(err)
	}
	stop := run(t, sup)
	b := bus.New()
	if _, err := bus.Subscribe(b, kd.By(func(e customerEvent) string { return e.Customer })); err != nil {
		t.Fatal(err)
	}
	for i := range per {
		for c := range customers {
			if err := bus.Publish(context.Background(), b, customerEvent{string(rune('a' + c)), i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("supervisor Run = %v", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for c, ns := range got {
		for i, n := range ns {
			if n != i {
				t.Fatalf("customer %s: event %d is %d; want publish order", c, i, n)
			}
		}
	}
}

var _ bus.Depther = (*actor.KeyedInbox[string, customerEvent])(nil)

// The bus sees a Keyed's depth through its By view: the messages its keys
// hold, against one key's mailbox; a key stuck with a full mailbox keeps
// the subscription slow, and is reported slow once.
func TestKeyedInboxDepth(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	kd := actor.NewKeyed("email", func(c string) actor.Handler[customerEvent] {
		return func(_ context.Context, e customerEvent) error {
			if c == "stuck" && e.N == 0 {
				close(entered)
				<-release
			}
			return nil
		}
	}, actor.WithMailbox(4))
	stop := run(t, kd)
	var slow sync.WaitGroup
	slow.Add(1) // a second report would panic on a negative count
	b := bus.New(bus.WithLogger(discard), bus.WithDeadLetterHook(func(bus.DeadLetter) {}),
		bus.WithSlowHook(func(bus.SlowSubscriber) { slow.Done() }))
	in := kd.By(func(e customerEvent) string { return e.Customer })
	if _, err := bus.Subscribe(b, in, bus.WithPolicy(bus.DropNewest)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	publish := func(c string, n int) {
		t.Helper()
		if err := bus.Publish(ctx, b, customerEvent{c, n}); err != nil {
			t.Fatal(err)
		}
	}
	publish("stuck", 0)
	<-entered
	for n := 1; n <= 6; n++ { // 4 find room, 2 are dropped
		publish("stuck", n)
		if n <= 3 {
			publish("other", n) // finds room: the subscription is still slow
		}
	}
	slow.Wait()
	st := b.Stats()[0]
	if st.Capacity != 4 || st.Queued < 5 || !st.Slow || st.Dropped.Newest != 2 {
		t.Fatalf("bus stats %+v; want Queued ≥ 5 (the stuck key's), Capacity 4, Slow, 2 dropped", st)
	}
	close(release)
	waitIdle(t, "the keys to drain", func() bool { return in.Len() == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
