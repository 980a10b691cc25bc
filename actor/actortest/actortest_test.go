package actortest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/actor/actortest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The clock passivates an idle key in Advance, and WaitIdle and WaitGone
// tell the test when to advance and when it happened.
func TestClockDrivesPassivation(t *testing.T) {
	clk := actortest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	kd := actor.NewKeyed("k", func(string) actor.Handler[int] {
		return func(context.Context, int) error { return nil }
	}, actor.WithClock(clk), actor.WithIdleTimeout(time.Minute))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- kd.Run(ctx) }()
	clk.BlockUntil(1) // the Run armed its check for idle keys
	if err := kd.TrySend("a", 1); err != nil {
		t.Fatal(err)
	}
	if err := actortest.WaitIdle(ctx, kd, "a"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, ok := kd.KeyStats("a"); !ok {
		t.Fatal("passivated after one idle timeout; want between one and two")
	}
	clk.Advance(time.Minute)
	if err := actortest.WaitGone(ctx, kd, "a"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	kd := actor.NewKeyed("k", func(string) actor.Handler[int] {
		return func(context.Context, int) error { close(entered); <-release; return nil }
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- kd.Run(ctx) }()
	_ = kd.TrySend("a", 1)
	<-entered
	wctx, wcancel := context.WithCancel(t.Context())
	wcancel()
	if err := actortest.WaitIdle(wctx, kd, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitIdle of a busy key with an ended context = %v", err)
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
