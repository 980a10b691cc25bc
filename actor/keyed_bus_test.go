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
