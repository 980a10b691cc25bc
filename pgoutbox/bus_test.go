package pgoutbox_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/pgoutbox"
	"github.com/troupe-go/troupe/supervisor"
)

// A relay runs under a supervisor.
var _ supervisor.Runner = (*pgoutbox.Relay[event])(nil)

// Rows relayed to a bus reach an actor subscribed to it, in order.
func TestToBusDeliversToActor(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	b := bus.New(bus.WithLogger(quiet))
	s := newSink()
	a := actor.New("sink", actor.Handler[event](s.publish), actor.WithLogger(quiet))
	if _, err := bus.Subscribe(b, a); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	stop := start(t, newRelay(t, o, pgoutbox.ToBus[event](b)))
	db.write(o, events("k", 0, 50)...)
	s.await(t, 50)
	stop()
	for i, e := range s.all() {
		if e.N != i {
			t.Fatalf("event %d is %v; want N=%d", i, e, i)
		}
	}
}

// A closed bus refuses the event: the row stays for a relay publishing to a
// bus that is open.
func TestToBusClosedKeepsRow(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "k", N: 1})
	b := bus.New(bus.WithLogger(quiet))
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish := pgoutbox.ToBus[event](b)
	failed := make(chan error, 100)
	r := newRelay(t, o, func(ctx context.Context, e event) error {
		err := publish(ctx, e)
		failed <- err
		return err
	})
	stop := start(t, r)
	for range 2 {
		if err := <-failed; !errors.Is(err, bus.ErrClosed) {
			t.Fatalf("publish: %v; want bus.ErrClosed", err)
		}
	}
	stop()
	if rows, _ := db.count(o); rows != 1 {
		t.Errorf("%d rows left; want the row kept", rows)
	}
}

// A publish that panics ends Run; the supervisor restarts the relay, which
// publishes the batch again.
func TestPanickingPublishRestartedBySupervisor(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "k", N: 1}, event{Key: "k", N: 2})
	s := newSink()
	panicked := false
	r := newRelay(t, o, func(ctx context.Context, e event) error {
		if e.N == 2 && !panicked {
			panicked = true
			panic("publisher bug")
		}
		return s.publish(ctx, e)
	})
	restarted := make(chan struct{}, 1)
	sup := supervisor.New("root", supervisor.WithBackoff(0, 0), supervisor.WithLogger(quiet),
		supervisor.WithHook(func(e supervisor.Event) {
			if e.Kind == supervisor.Restarted {
				restarted <- struct{}{}
			}
		}))
	if err := sup.Add("outbox", r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	// N=1 was published before the panic and its removal undone with the
	// batch: it comes again, before N=2.
	got := s.await(t, 3)
	<-restarted
	cancel()
	if err := <-done; err != nil {
		t.Errorf("supervisor Run: %v", err)
	}
	if want := []event{{"k", 1}, {"k", 1}, {"k", 2}}; !slices.Equal(got, want) {
		t.Errorf("relayed %v; want %v", got, want)
	}
	if rows, _ := db.count(o); rows != 0 {
		t.Errorf("%d rows left; want 0", rows)
	}
}
