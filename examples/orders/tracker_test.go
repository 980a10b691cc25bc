package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/actor/actortest"
	"github.com/troupe-go/troupe/bus"
)

// The tracker completes an order when stock and email are both in,
// reports a rejected one, flags one whose email never came once its
// deadline passed, and passivates done orders; time is the test's clock.
func TestTrackerOutcomes(t *testing.T) {
	clk := actortest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	outcomes := map[string]string{}
	done := make(chan struct{}, 10)
	tr := NewTracker(time.Minute, time.Second, slog.New(slog.DiscardHandler), actor.WithClock(clk))
	tr.onDone = func(id, outcome string) {
		mu.Lock()
		outcomes[id] = outcome
		mu.Unlock()
		done <- struct{}{}
	}
	b := bus.New()
	if _, err := bus.Subscribe[Event](b, tr.Inbox()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error)
	go func() { stopped <- tr.Run(ctx) }()
	clk.BlockUntil(1) // the check for idle orders is armed

	publish := func(e Event) {
		if err := bus.Publish(ctx, b, e); err != nil {
			t.Fatal(err)
		}
	}
	publish(OrderCreated{ID: "ok"})
	publish(OrderCreated{ID: "rejected"})
	publish(OrderCreated{ID: "no-email"})
	publish(EmailSent{ID: "ok"}) // events of an order may come in any order
	publish(StockReserved{ID: "ok"})
	publish(OrderRejected{ID: "rejected"})
	publish(EmailSent{ID: "rejected"})
	publish(StockReserved{ID: "no-email"})
	<-done
	<-done
	for _, id := range []string{"ok", "rejected", "no-email"} {
		if err := actortest.WaitIdle(ctx, tr.keyed, id); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute) // the deadline of no-email; the others stopped theirs
	<-done
	mu.Lock()
	want := map[string]string{"ok": outcomeCompleted, "rejected": outcomeRejected, "no-email": outcomeOverdue}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Errorf("outcomes %v; want %v", outcomes, want)
	}
	mu.Unlock()
	if err := actortest.WaitIdle(ctx, tr.keyed, "no-email"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	clk.Advance(time.Second)
	got := tr.Stats()
	if want := (TrackerStats{Tracked: 3, Completed: 1, Rejected: 1, Overdue: 1, Passivated: 3}); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
