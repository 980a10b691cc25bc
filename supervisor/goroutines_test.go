package supervisor_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// TestIdleChildCostsOneGoroutineBeyondItsRun counts the goroutines of 1,000
// idle actors, each a child of one supervisor and subscribed to a bus, as a
// service runs them: at most two per child, the one that calls the actor's
// Run and one more.
func TestIdleChildCostsOneGoroutineBeyondItsRun(t *testing.T) {
	const n = 1000
	sup := newIdleTree(t, n)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	if err := sup.Start(ctx); err != nil { // returns once every child's Run has begun
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	running := runtime.NumGoroutine() - before
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d goroutines for %d children (%.2f per child)", running, n, float64(running)/n)
	if running > 2*n+1 { // +1: Run's own goroutine
		t.Errorf("%d goroutines for %d children: more than 2 per child", running, n)
	}
}

// newIdleTree returns a supervisor of n idle actors, each subscribed to a
// bus, as a service runs them.
func newIdleTree(tb testing.TB, n int) *supervisor.Supervisor {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := bus.New(bus.WithLogger(discard))
	sup := supervisor.New("root", supervisor.WithLogger(discard))
	for i := range n {
		a := actor.New("idle", func(context.Context, int) error { return nil }, actor.WithMailbox(16), actor.WithLogger(discard))
		if _, err := bus.Subscribe[int](b, a); err != nil {
			tb.Fatal(err)
		}
		if err := sup.Add(strconv.Itoa(i), a); err != nil {
			tb.Fatal(err)
		}
	}
	return sup
}

// BenchmarkStartStop10k measures the start of 10,000 supervised actors
// (Start returns once every child's Run has begun, in order) and their
// shutdown (Run returns once every child has stopped, in reverse order), as
// start-ms and stop-ms per tree. Building the tree is not timed.
func BenchmarkStartStop10k(b *testing.B) {
	const n = 10_000
	b.ReportAllocs()
	var start, stop time.Duration
	for range b.N {
		b.StopTimer()
		sup := newIdleTree(b, n)
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()
		t0 := time.Now()
		if err := sup.Start(ctx); err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sup.Run(ctx) }()
		t1 := time.Now()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		start, stop = start+t1.Sub(t0), stop+time.Since(t1)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms")
}

// BenchmarkStartStop10kBaseline is the floor: the same 10,000 actors, each
// run on a goroutine of its own and stopped by one cancel, without a
// supervisor (start-ms does not wait for the Runs to begin).
func BenchmarkStartStop10kBaseline(b *testing.B) {
	const n = 10_000
	b.ReportAllocs()
	var start, stop time.Duration
	for range b.N {
		b.StopTimer()
		discard := slog.New(slog.NewTextHandler(io.Discard, nil))
		bs := bus.New(bus.WithLogger(discard))
		actors := make([]*actor.Actor[int], n)
		for i := range actors {
			actors[i] = actor.New("idle", func(context.Context, int) error { return nil }, actor.WithMailbox(16), actor.WithLogger(discard))
			if _, err := bus.Subscribe[int](bs, actors[i]); err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		b.StartTimer()
		t0 := time.Now()
		for _, a := range actors {
			wg.Go(func() { _ = a.Run(ctx) })
		}
		t1 := time.Now()
		cancel()
		wg.Wait()
		start, stop = start+t1.Sub(t0), stop+time.Since(t1)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms")
}
