package benchmarks

import (
	"strconv"
	"testing"

	evbus "github.com/asaskevich/EventBus"
)

// The EventBus peer: asaskevich/EventBus with SubscribeAsync(transactional),
// which runs each handler call on a goroutine of its own, one at a time per
// handler. It has no buffer to set.

const evTopic = "event"

func BenchmarkOneSub_EventBus(b *testing.B) {
	b.ReportAllocs()
	bus := evbus.New()
	s := newSink(b.N)
	if err := bus.SubscribeAsync(evTopic, s.Handle, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		bus.Publish(evTopic, newEvent(i))
	}
	s.wait(b)
	b.StopTimer()
	bus.WaitAsync()
}

func BenchmarkFanOut10_EventBus(b *testing.B) {
	b.ReportAllocs()
	bus := evbus.New()
	sinks := newSinks(FanOut, b.N)
	for _, s := range sinks {
		if err := bus.SubscribeAsync(evTopic, s.Handle, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		bus.Publish(evTopic, newEvent(i))
	}
	waitAll(b, sinks)
	b.StopTimer()
	bus.WaitAsync()
}

func BenchmarkPub4_EventBus(b *testing.B) {
	b.ReportAllocs()
	bus := evbus.New()
	s := newSink(b.N)
	if err := bus.SubscribeAsync(evTopic, s.Handle, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	publishConcurrently(b, Publishers, func(i int) { bus.Publish(evTopic, newEvent(i)) })
	s.wait(b)
	b.StopTimer()
	bus.WaitAsync()
}

func BenchmarkLatency_EventBus(b *testing.B) {
	bus := evbus.New()
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	if err := bus.SubscribeAsync(evTopic, func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	}, true); err != nil {
		b.Fatal(err)
	}
	roundTrips(b, handled, func(i int) { bus.Publish(evTopic, newEvent(i)) })
	bus.WaitAsync()
}

func eventBusUnrelated(b *testing.B, unrelated int) {
	b.ReportAllocs()
	bus := evbus.New()
	for i := range unrelated {
		if err := bus.Subscribe("other-"+strconv.Itoa(i), func(Event) {}); err != nil {
			b.Fatal(err)
		}
	}
	s := newSink(b.N)
	if err := bus.SubscribeAsync(evTopic, s.Handle, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		bus.Publish(evTopic, newEvent(i))
	}
	s.wait(b)
	b.StopTimer()
	bus.WaitAsync()
}

func BenchmarkUnrelated1_EventBus(b *testing.B)   { eventBusUnrelated(b, 0) }
func BenchmarkUnrelated10k_EventBus(b *testing.B) { eventBusUnrelated(b, Unrelated) }
