package actor_test

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// heapAndStacks returns the bytes of heap objects and goroutine stacks in
// use, after a garbage collection.
func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// BenchmarkKeyedIdleKeyMemory reports the memory an idle key costs: heap
// and stacks after b.N keys each handled one message, divided by b.N. The
// baseline beside it, BenchmarkActorIdleMemory, is a plain actor parked
// in its Run. Run with -benchtime=100000x (or 1000000x).
func BenchmarkKeyedIdleKeyMemory(b *testing.B) {
	var wg sync.WaitGroup
	kd := actor.NewKeyed("idle", func(int) actor.Handler[OrderCreated] {
		return func(context.Context, OrderCreated) error { wg.Done(); return nil }
	}, actor.WithMaxKeys(max(b.N, 1)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- kd.Run(ctx) }()
	before := heapAndStacks()
	b.ResetTimer()
	wg.Add(b.N)
	for i := range b.N {
		if err := kd.TrySend(i, OrderCreated{ID: i}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	waitParked(kd)
	after := heapAndStacks()
	b.ReportMetric(float64(after-before)/float64(b.N), "B/key")
	cancel()
	<-done
}

// waitParked waits until no key runs a goroutine: each key's goroutine
// exits right after its handler returns.
func waitParked[K comparable, M any](kd *actor.Keyed[K, M]) {
	for range 1000 {
		if runtime.NumGoroutine() < 10 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkActorIdleMemory is the baseline of BenchmarkKeyedIdleKeyMemory:
// b.N plain actors, each parked in its Run after one message.
func BenchmarkActorIdleMemory(b *testing.B) {
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	before := heapAndStacks()
	var runs sync.WaitGroup
	wg.Add(b.N)
	for i := range b.N {
		a := actor.New("idle", func(context.Context, OrderCreated) error { wg.Done(); return nil })
		runs.Go(func() { _ = a.Run(ctx) })
		_ = a.TrySend(OrderCreated{ID: i})
	}
	wg.Wait()
	after := heapAndStacks()
	b.ReportMetric(float64(after-before)/float64(b.N), "B/actor")
	cancel()
	runs.Wait()
}

// BenchmarkKeyedSendExistingKey is a send to an existing key and its
// handling, one message at a time from one sender (publish → handled),
// beside BenchmarkActorSendHandled, the same with a plain actor.
func BenchmarkKeyedSendExistingKey(b *testing.B) {
	handled := make(chan struct{}, 1)
	kd := actor.NewKeyed("send", func(int) actor.Handler[OrderCreated] {
		return func(context.Context, OrderCreated) error { handled <- struct{}{}; return nil }
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- kd.Run(ctx) }()
	_ = kd.TrySend(1, OrderCreated{})
	<-handled
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := kd.Send(ctx, 1, OrderCreated{ID: i}); err != nil {
			b.Fatal(err)
		}
		<-handled
	}
	b.StopTimer()
	cancel()
	<-done
}

// BenchmarkActorSendHandled is the baseline of
// BenchmarkKeyedSendExistingKey.
func BenchmarkActorSendHandled(b *testing.B) {
	handled := make(chan struct{}, 1)
	a := actor.New("send", func(context.Context, OrderCreated) error { handled <- struct{}{}; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := a.Send(ctx, OrderCreated{ID: i}); err != nil {
			b.Fatal(err)
		}
		<-handled
	}
	b.StopTimer()
	cancel()
	<-done
}

// BenchmarkKeyedStream is a stream of sends to existing keys, the
// handler doing nothing: the throughput of keyed actors, beside
// BenchmarkActorStream.
func BenchmarkKeyedStream(b *testing.B) {
	var wg sync.WaitGroup
	kd := actor.NewKeyed("stream", func(int) actor.Handler[OrderCreated] {
		return func(context.Context, OrderCreated) error { wg.Done(); return nil }
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- kd.Run(ctx) }()
	b.ReportAllocs()
	wg.Add(b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := kd.Send(ctx, i&7, OrderCreated{ID: i}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	cancel()
	<-done
}

// BenchmarkActorStream is the baseline of BenchmarkKeyedStream.
func BenchmarkActorStream(b *testing.B) {
	var wg sync.WaitGroup
	a := actor.New("stream", func(context.Context, OrderCreated) error { wg.Done(); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	b.ReportAllocs()
	wg.Add(b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := a.Send(ctx, OrderCreated{ID: i}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	cancel()
	<-done
}

// BenchmarkKeyedSpawn is the first message to a new key until its handler
// runs; it reports the median and the 99th percentile.
func BenchmarkKeyedSpawn(b *testing.B) {
	handled := make(chan struct{}, 1)
	kd := actor.NewKeyed("spawn", func(int) actor.Handler[OrderCreated] {
		return func(context.Context, OrderCreated) error { handled <- struct{}{}; return nil }
	}, actor.WithMaxKeys(max(b.N, 1)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- kd.Run(ctx) }()
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := kd.TrySend(i, OrderCreated{ID: i}); err != nil {
			b.Fatal(err)
		}
		<-handled
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	cancel()
	<-done
}
