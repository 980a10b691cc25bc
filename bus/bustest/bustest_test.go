package bustest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestRecorderConcurrent(t *testing.T) {
	ctx := ctxFor(t)
	r := bustest.NewRecorder[int]("r")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				if err := r.Offer(ctx, g*100+i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	got, err := bustest.WaitN(ctx, r, 400)
	wg.Wait()
	if err != nil || len(got) != 400 || r.Count() != 400 {
		t.Fatalf("got %d events, %v; want 400", len(got), err)
	}
	e, err := bustest.WaitFor(ctx, r, func(n int) bool { return n == 399 })
	if err != nil || e != 399 {
		t.Errorf("WaitFor: got %d, %v; want 399", e, err)
	}
	r.Reset()
	if r.Count() != 0 {
		t.Errorf("after Reset: got %d; want 0", r.Count())
	}
}

func TestExpect(t *testing.T) {
	tests := []struct {
		name    string
		publish []string
		want    []string
		wantErr bool
	}{
		{"exact", []string{"a", "b"}, []string{"a", "b"}, false},
		{"none", nil, nil, false},
		{"wrong order", []string{"b", "a"}, []string{"a", "b"}, true},
		{"extra", []string{"a", "b", "c"}, []string{"a", "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bustest.NewRecorder[string]("r")
			for _, e := range tt.publish {
				_ = r.Send(t.Context(), e)
			}
			if err := bustest.Expect(ctxFor(t), r, tt.want...); (err != nil) != tt.wantErr {
				t.Errorf("got %v; want error %v", err, tt.wantErr)
			}
		})
	}
}

// Waiting for what never comes ends with the context, naming what came.
func TestWaitTimesOut(t *testing.T) {
	r := bustest.NewRecorder[int]("late")
	r.Record(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := bustest.WaitN(ctx, r, 2)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v; want context.Canceled", err)
	}
	if want := "bustest: late: waited for 2 events; got 1 events [1]: context canceled"; err.Error() != want {
		t.Errorf("got %q; want %q", err, want)
	}
}

func TestQueue(t *testing.T) {
	ctx := ctxFor(t)
	q := bustest.NewQueue[int]("q", 2)
	if err := q.Offer(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_ = q.Offer(ctx, 2)
	if err := q.Offer(ctx, 3); !errors.Is(err, bus.ErrFull) {
		t.Errorf("Offer on full: got %v; want ErrFull", err)
	}
	old, evicted, err := q.Displace(ctx, 3)
	if old != 1 || !evicted || err != nil {
		t.Errorf("Displace: got %d, %v, %v; want 1, true, nil", old, evicted, err)
	}
	done := make(chan error, 1)
	go func() { done <- q.Send(ctx, 4) }()
	if err := q.WaitSenders(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if e, _ := q.Take(ctx); e != 2 {
		t.Errorf("Take: got %d; want 2", e)
	}
	if err := <-done; err != nil {
		t.Errorf("Send: got %v; want nil", err)
	}
	if got := fmt.Sprint(q.Drain(), q.Len(), q.Cap()); got != "[3 4] 0 2" {
		t.Errorf("got %s; want [3 4] 0 2", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = q.Offer(ctx, 1)
	_ = q.Offer(ctx, 2)
	if err := q.Send(cctx, 5); !errors.Is(err, bus.ErrFull) || !errors.Is(err, context.Canceled) {
		t.Errorf("Send canceled: got %v; want ErrFull and context.Canceled", err)
	}
}

// A Recorder is an inbox, and its Record method a dead-letter hook.
func Example() {
	ctx := context.Background()
	dead := bustest.NewDeadLetters()
	b := bus.New(bus.WithDeadLetterHook(dead.Record), bus.WithSlowHook(func(bus.SlowSubscriber) {}))
	got := bustest.NewRecorder[string]("got")
	full := bustest.NewQueue[string]("full", 1)
	_, _ = bus.Subscribe(b, got)
	_, _ = bus.Subscribe(b, full, bus.WithPolicy(bus.DropNewest))

	_ = bus.Publish(ctx, b, "hello")
	_ = bus.Publish(ctx, b, "world")

	fmt.Println(bustest.Expect(ctx, got, "hello", "world"))
	dl, _ := bustest.WaitN(ctx, dead, 1)
	fmt.Println(dl[0].Subscription, dl[0].Event, dl[0].Reason)
	// Output:
	// <nil>
	// full world bus: dropped newest: inbox full
}
