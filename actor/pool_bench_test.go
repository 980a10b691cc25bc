package actor_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// work is the handlers' per-message cost: a spin loop of about 1 µs on a
// 2020s x86 core (see BenchmarkWork), which no compiler removes because its
// result is kept.
func work(seed int) uint64 {
	x := uint64(seed) | 1
	for range 620 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var sink atomic.Uint64

// BenchmarkWork measures the per-message work alone.
func BenchmarkWork(b *testing.B) {
	var x uint64
	for i := 0; i < b.N; i++ {
		x += work(i)
	}
	sink.Store(x)
}

var poolSizes = []int{1, 2, 4}

// BenchmarkPoolBaseline is the floor the pool is measured against: n
// goroutines ranging over one buffered channel, doing the same work and the
// same counting as the pool's handler.
func BenchmarkPoolBaseline(b *testing.B) {
	for _, n := range poolSizes {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			ch := make(chan event, actor.DefaultMailboxSize)
			var handled atomic.Int64
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					for e := range ch {
						sink.Store(work(int(e.ID)))
						handled.Add(1)
					}
				})
			}
			for i := 0; i < b.N; i++ {
				ch <- event{ID: int64(i), SKU: "sku-1", Qty: 1}
			}
			close(ch)
			wg.Wait()
			if got := handled.Load(); got != int64(b.N) {
				b.Fatalf("got %d handled; want %d", got, b.N)
			}
		})
	}
}

// BenchmarkPool measures Send → handled throughput through a pool of n
// workers; compare with BenchmarkPoolBaseline of the same n.
func BenchmarkPool(b *testing.B) {
	for _, n := range poolSizes {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) { benchPool(b, n) })
	}
}

// BenchmarkPoolKeyed is BenchmarkPool with per-key order (1024 keys): every
// message goes through the dispatcher, one more channel hop.
func BenchmarkPoolKeyed(b *testing.B) {
	for _, n := range poolSizes {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			benchPool(b, n, actor.KeyBy(func(e event) uint64 { return uint64(e.ID) % 1024 }))
		})
	}
}

func benchPool(b *testing.B, n int, opts ...actor.PoolOption) {
	b.ReportAllocs()
	var handled atomic.Int64
	done := make(chan struct{})
	total := int64(b.N)
	p := actor.NewPool("bench", n, func(_ context.Context, e event) error {
		sink.Store(work(int(e.ID)))
		if handled.Add(1) == total {
			close(done)
		}
		return nil
	}, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Send(ctx, event{ID: int64(i), SKU: "sku-1", Qty: 1}); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
}
