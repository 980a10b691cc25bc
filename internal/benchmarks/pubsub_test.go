package benchmarks

import (
	"strconv"
	"sync"
	"testing"

	"github.com/cskr/pubsub"
)

// The PubSub peer: cskr/pubsub with capacity 1024 (its command channel and
// every subscriber channel), one goroutine draining each subscriber channel.

const psTopic = "event"

// psDrain starts a goroutine handling what ch receives until it is closed.
func psDrain(wg *sync.WaitGroup, ch <-chan any, h func(Event)) {
	wg.Go(func() {
		for m := range ch {
			h(m.(Event))
		}
	})
}

func BenchmarkOneSub_PubSub(b *testing.B) {
	b.ReportAllocs()
	ps := pubsub.New(Buffer)
	s := newSink(b.N)
	var wg sync.WaitGroup
	psDrain(&wg, ps.Sub(psTopic), s.Handle)
	b.ResetTimer()
	for i := range b.N {
		ps.Pub(newEvent(i), psTopic)
	}
	s.wait(b)
	b.StopTimer()
	ps.Shutdown()
	wg.Wait()
}

func BenchmarkFanOut10_PubSub(b *testing.B) {
	b.ReportAllocs()
	ps := pubsub.New(Buffer)
	sinks := newSinks(FanOut, b.N)
	var wg sync.WaitGroup
	for _, s := range sinks {
		psDrain(&wg, ps.Sub(psTopic), s.Handle)
	}
	b.ResetTimer()
	for i := range b.N {
		ps.Pub(newEvent(i), psTopic)
	}
	waitAll(b, sinks)
	b.StopTimer()
	ps.Shutdown()
	wg.Wait()
}

func BenchmarkPub4_PubSub(b *testing.B) {
	b.ReportAllocs()
	ps := pubsub.New(Buffer)
	s := newSink(b.N)
	var wg sync.WaitGroup
	psDrain(&wg, ps.Sub(psTopic), s.Handle)
	b.ResetTimer()
	publishConcurrently(b, Publishers, func(i int) { ps.Pub(newEvent(i), psTopic) })
	s.wait(b)
	b.StopTimer()
	ps.Shutdown()
	wg.Wait()
}

func BenchmarkLatency_PubSub(b *testing.B) {
	ps := pubsub.New(Buffer)
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	var wg sync.WaitGroup
	psDrain(&wg, ps.Sub(psTopic), func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	})
	roundTrips(b, handled, func(i int) { ps.Pub(newEvent(i), psTopic) })
	ps.Shutdown()
	wg.Wait()
}

func pubSubUnrelated(b *testing.B, unrelated int) {
	b.ReportAllocs()
	ps := pubsub.New(Buffer)
	for i := range unrelated {
		// Unbuffered: they never receive anything.
		ps.AddSub(make(chan any), "other-"+strconv.Itoa(i))
	}
	s := newSink(b.N)
	var wg sync.WaitGroup
	psDrain(&wg, ps.Sub(psTopic), s.Handle)
	b.ResetTimer()
	for i := range b.N {
		ps.Pub(newEvent(i), psTopic)
	}
	s.wait(b)
	b.StopTimer()
	ps.Shutdown()
	wg.Wait()
}

func BenchmarkUnrelated1_PubSub(b *testing.B)   { pubSubUnrelated(b, 0) }
func BenchmarkUnrelated10k_PubSub(b *testing.B) { pubSubUnrelated(b, Unrelated) }
