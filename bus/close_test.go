package bus_test

import (
	"errors"
	"go/build"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

// A publish concurrent with Close delivers to every subscription or to
// none: it returns nil, every inbox having the event, or ErrClosed, none
// having it. An actor and a user inbox are delivered to the same way.
func TestClosePublishAllOrNothing(t *testing.T) {
	const pubs, perPub = 4, 5000
	ctx := testCtx(t)
	b, dl := newBus(t)
	// Room for every event: no delivery waits.
	a := newCounter[int](t, "actor", pubs*perPub)
	aSub := subscribe[int](t, b, a)
	user := &tally{}
	uSub := subscribe[int](t, b, user)
	var ok atomic.Uint64
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range pubs {
		wg.Go(func() {
			for i := range perPub {
				if i == 100 {
					once.Do(func() { close(started) })
				}
				switch err := bus.Publish(ctx, b, i); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, bus.ErrClosed) && !errors.As(err, new(*bus.DeliveryError)):
					return
				default:
					t.Errorf("Publish: got %v; want nil or ErrClosed alone", err)
					return
				}
			}
		})
	}
	<-started
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	atClose := [2]uint64{aSub.Stats().Delivered, uSub.Stats().Delivered}
	wg.Wait()
	a.stop()
	want := ok.Load()
	for _, c := range []struct {
		what string
		got  uint64
	}{
		{"actor Delivered at Close", atClose[0]},
		{"actor Delivered", aSub.Stats().Delivered},
		{"actor handled", a.handled.Load()},
		{"user inbox Delivered at Close", atClose[1]},
		{"user inbox Delivered", uSub.Stats().Delivered},
		{"user inbox accepted", uint64(user.n.Load())},
	} {
		if c.got != want {
			t.Errorf("%s: got %d; want the %d publishes that returned nil", c.what, c.got, want)
		}
	}
	if d := dl.Events(); len(d) != 0 {
		t.Errorf("got %d dead letters, first %+v; want none", len(d), d[0])
	}
}

// Close waits for a wait for room that has begun, and cuts off one that a
// publish had yet to begin: its event, offered already, is reported.
func TestCloseCutsOffWaitNotBegun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		dl := bustest.NewDeadLetters()
		b := bus.New(bus.WithDeadLetterHook(dl.Record), bus.WithSlowHook(func(bus.SlowSubscriber) {}))
		first := bustest.NewQueue[int]("first", 1)
		second := bustest.NewQueue[int]("second", 1)
		subscribe(t, b, first)
		subscribe(t, b, second)
		publish(t, b, 1) // both full
		pub := make(chan error, 1)
		go func() { pub <- bus.Publish(ctx, b, 2) }()
		synctest.Wait() // waiting for room in first
		closed := make(chan error, 1)
		go func() { closed <- b.Close(ctx) }()
		synctest.Wait() // Close waits for the wait in first
		if _, err := first.Take(ctx); err != nil {
			t.Fatal(err)
		}
		err := <-pub
		var de *bus.DeliveryError
		if !isAll(err, bus.ErrCanceled, bus.ErrClosed) || !errors.As(err, &de) || de.Subscription != "second" {
			t.Errorf("Publish: got %v; want second's delivery canceled by Close", err)
		}
		if err := <-closed; err != nil {
			t.Errorf("Close: got %v; want nil", err)
		}
		if got := first.Drain(); len(got) != 1 || got[0] != 2 {
			t.Errorf("first: got %v; want [2]", got)
		}
		if got := second.Drain(); len(got) != 1 || got[0] != 1 {
			t.Errorf("second: got %v; want [1]", got)
		}
		if d := dl.Events(); len(d) != 1 || d[0].Subscription != "second" || d[0].Event != 2 {
			t.Errorf("got dead letters %+v; want second's event 2", d)
		}
	})
}

// The bus knows an Inbox, not the actor type.
func TestBusDoesNotImportActor(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkg.Imports {
		if p == "github.com/troupe-go/troupe/actor" {
			t.Errorf("package bus imports %s", p)
		}
	}
}
