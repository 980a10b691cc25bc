package actor_test

import (
	"context"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// event is the small struct message the benchmarks send.
type event struct {
	ID  int64
	SKU string
	Qty int
}

// BenchmarkBaselineChannel is the floor: a bare buffered channel drained by
// one goroutine, with the same per-message work as the actor's handler.
func BenchmarkBaselineChannel(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan event, actor.DefaultMailboxSize)
	done := make(chan struct{})
	var sum int
	go func() {
		for e := range ch {
			sum += e.Qty
		}
		close(done)
	}()
	for i := 0; i < b.N; i++ {
		ch <- event{ID: int64(i), SKU: "sku-1", Qty: 1}
	}
	close(ch)
	<-done
	if sum != b.N {
		b.Fatalf("got %d handled; want %d", sum, b.N)
	}
}

// BenchmarkSend measures Send → handled throughput through an actor.
func BenchmarkSend(b *testing.B) {
	b.ReportAllocs()
	var sum int
	done := make(chan struct{})
	n := b.N
	a := actor.New("bench", func(_ context.Context, e event) error {
		sum += e.Qty
		if sum == n {
			close(done)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- a.Run(ctx) }()
	for i := 0; i < b.N; i++ {
		if err := a.Send(ctx, event{ID: int64(i), SKU: "sku-1", Qty: 1}); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSend4 measures Send → handled throughput with four goroutines
// sending to one actor at once: the mailbox under contention, without the
// bus.
func BenchmarkSend4(b *testing.B) {
	const senders = 4
	b.ReportAllocs()
	var sum int
	done := make(chan struct{})
	n := b.N / senders * senders
	a := actor.New("bench", func(_ context.Context, e event) error {
		sum += e.Qty
		if sum == n {
			close(done)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- a.Run(ctx) }()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := range n / senders {
				if err := a.Send(ctx, event{ID: int64(i), SKU: "sku-1", Qty: 1}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n > 0 {
		<-done
	}
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
}
