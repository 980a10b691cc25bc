package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/actor/actortest"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSendAfterFiresWhenTheClockSaysSo(t *testing.T) {
	clk := actortest.NewClock(epoch)
	got := make(chan string, 10)
	a := actor.New("t", func(_ context.Context, s string) error { got <- s; return nil }, actor.WithClock(clk))
	run(t, a)
	a.SendAfter(time.Minute, "later")
	clk.Advance(59 * time.Second)
	if err := a.TrySend("now"); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "now" {
		t.Fatalf("first message %q; want now (the timer is not due)", s)
	}
	clk.Advance(time.Second)
	if s := <-got; s != "later" {
		t.Fatalf("got %q; want later", s)
	}
	if clk.Pending() != 0 {
		t.Fatalf("Pending = %d after a one-shot fired", clk.Pending())
	}
}

func TestSendEveryUntilStopped(t *testing.T) {
	clk := actortest.NewClock(epoch)
	got := make(chan int, 10)
	a := actor.New("t", func(_ context.Context, n int) error { got <- n; return nil }, actor.WithClock(clk))
	run(t, a)
	tm := a.SendEvery(time.Second, 7)
	for range 3 {
		clk.Advance(time.Second)
		<-got
	}
	if !tm.Stop() {
		t.Fatal("Stop = false")
	}
	if tm.Stop() {
		t.Fatal("second Stop = true")
	}
	if clk.Pending() != 0 {
		t.Fatalf("Pending = %d after Stop", clk.Pending())
	}
}

func TestTimersCancelledWhenTheActorStops(t *testing.T) {
	clk := actortest.NewClock(epoch)
	a := actor.New("t", func(context.Context, int) error { return nil }, actor.WithClock(clk))
	stop := run(t, a)
	a.SendAfter(time.Hour, 1)
	tm := a.SendEvery(time.Second, 2)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if clk.Pending() != 0 {
		t.Fatalf("Pending = %d after the actor stopped; want its timers cancelled", clk.Pending())
	}
	if tm.Stop() {
		t.Fatal("Stop of a cancelled timer = true")
	}
	if after := a.SendAfter(time.Second, 3); after.Stop() || clk.Pending() != 0 {
		t.Fatal("a timer made after the actor stopped is pending")
	}
}

func TestTimerIntoFullMailboxIsADeadLetter(t *testing.T) {
	clk := actortest.NewClock(epoch)
	var dl deadLetters
	a := actor.New("t", func(context.Context, int) error { return nil },
		actor.WithClock(clk), actor.WithMailbox(1), actor.WithDeadLetterHook(dl.hook))
	_ = a.TrySend(1) // no Run: the mailbox stays full
	a.SendAfter(time.Second, 2)
	clk.Advance(time.Second)
	got := dl.get()
	if len(got) != 1 || got[0].Msg != 2 || !errors.Is(got[0].Reason, actor.ErrMailboxFull) {
		t.Fatalf("dead letters %v; want the timer's message with ErrMailboxFull", got)
	}
	a.Retire()
}

type sagaMsg struct {
	Kind string // "start", "done" or "timeout"
}

// A keyed handler schedules its own timeout with After; the key is not
// passivated while the timer is pending, and is once it fired and the key
// went idle.
func TestKeyedHandlerTimeoutAndPassivation(t *testing.T) {
	clk := actortest.NewClock(epoch)
	outcome := make(chan string, 4)
	orders := actor.NewKeyed("orders", func(id string) actor.Handler[sagaMsg] {
		var timeout actor.Timer
		return func(ctx context.Context, m sagaMsg) error {
			key, _ := actor.KeyOf[string](ctx)
			switch m.Kind {
			case "start":
				timeout = actor.After(ctx, time.Minute, sagaMsg{"timeout"})
			case "done":
				timeout.Stop()
				outcome <- key + " done"
			case "timeout":
				outcome <- key + " timed out"
			}
			return nil
		}
	}, actor.WithClock(clk), actor.WithIdleTimeout(10*time.Second))
	run(t, orders)
	ctx := t.Context()
	for _, id := range []string{"o1", "o2"} {
		if err := orders.TrySend(id, sagaMsg{"start"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.BlockUntil(3) // the sweep and two timeouts
	_ = orders.TrySend("o1", sagaMsg{"done"})
	if got := <-outcome; got != "o1 done" {
		t.Fatalf("got %q", got)
	}
	for _, id := range []string{"o1", "o2"} {
		if err := actortest.WaitIdle(ctx, orders, id); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(10 * time.Second)
	clk.Advance(10 * time.Second)
	if _, ok := orders.KeyStats("o1"); ok {
		t.Fatal("o1 not passivated after twice the idle timeout")
	}
	if _, ok := orders.KeyStats("o2"); !ok {
		t.Fatal("o2 passivated with its timeout pending")
	}
	clk.Advance(40 * time.Second)
	if got := <-outcome; got != "o2 timed out" {
		t.Fatalf("got %q", got)
	}
	if err := actortest.WaitIdle(ctx, orders, "o2"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	clk.Advance(10 * time.Second)
	if err := actortest.WaitGone(ctx, orders, "o2"); err != nil {
		t.Fatal(err)
	}
	if s := orders.Stats(); s.Passivated != 2 {
		t.Fatalf("Passivated = %d; want 2", s.Passivated)
	}
}

func TestAfterOutsideAHandlerPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	actor.After(context.Background(), time.Second, 1)
}

// A Keyed's SendAfter creates the key if needed and delivers to it; a
// pool's delivers to its mailbox; Every from a handler repeats until
// stopped.
func TestKeyedAndPoolTimers(t *testing.T) {
	clk := actortest.NewClock(epoch)
	got := make(chan string, 10)
	kd := actor.NewKeyed("k", func(key string) actor.Handler[string] {
		return func(ctx context.Context, s string) error {
			if s == "tick-start" {
				actor.Every(ctx, time.Second, "tick")
				return nil
			}
			got <- key + ":" + s
			return nil
		}
	}, actor.WithClock(clk))
	run(t, kd)
	if _, err := kd.SendAfter("a", time.Second, "hello"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if s := <-got; s != "a:hello" {
		t.Fatalf("got %q", s)
	}
	_ = kd.TrySend("b", "tick-start")
	clk.BlockUntil(1)
	for range 2 {
		clk.Advance(time.Second)
		if s := <-got; s != "b:tick" {
			t.Fatalf("got %q", s)
		}
	}
	p := actor.NewPool("p", 2, func(_ context.Context, s string) error { got <- "pool:" + s; return nil }, actor.WithClock(clk))
	run(t, p)
	p.SendAfter(time.Second, "later")
	clk.Advance(time.Second)
	for s := range got {
		if s == "pool:later" {
			break
		}
	}
}
