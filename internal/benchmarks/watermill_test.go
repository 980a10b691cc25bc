package benchmarks

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// The watermill peers: watermill's pubsub/gochannel with an output buffer
// of 1024, one goroutine per subscription handling and acking messages.
// WatermillRaw carries the event in a fixed binary encoding (the transport
// alone), WatermillJSON as JSON. Messages get a constant UUID, sparing
// watermill the cost of generating one per message.
//
// gochannel's Publish does not wait: it starts a goroutine per message and
// subscriber. To keep memory bounded, as a 1024 buffer would, the publisher
// takes one of Buffer credits per message and the handler returns it.

const wmTopic = "event"

type wmCodec struct {
	enc func(Event) []byte
	dec func([]byte) Event
}

var (
	wmRaw  = wmCodec{enc: encode, dec: decode}
	wmJSON = wmCodec{
		enc: mustJSON,
		dec: func(p []byte) Event {
			var e Event
			if err := json.Unmarshal(p, &e); err != nil {
				panic(err)
			}
			return e
		},
	}
)

// wmBench is one watermill setup: a GoChannel, its subscriber goroutines
// and the publishers' credits.
type wmBench struct {
	codec   wmCodec
	pub     *gochannel.GoChannel
	wg      sync.WaitGroup
	credits chan struct{}
}

func newWM(codec wmCodec) *wmBench {
	return &wmBench{
		codec:   codec,
		pub:     gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: Buffer}, watermill.NopLogger{}),
		credits: make(chan struct{}, Buffer),
	}
}

// subscribe starts a subscriber calling h on topic.
func (w *wmBench) subscribe(b *testing.B, ctx context.Context, topic string, h func(Event)) {
	msgs, err := w.pub.Subscribe(ctx, topic)
	if err != nil {
		b.Fatal(err)
	}
	w.wg.Go(func() {
		for m := range msgs {
			h(w.codec.dec(m.Payload))
			m.Ack()
			<-w.credits
		}
	})
}

func (w *wmBench) publish(b *testing.B, e Event, fanOut int) {
	for range fanOut {
		w.credits <- struct{}{}
	}
	if err := w.pub.Publish(wmTopic, message.NewMessage("bench", w.codec.enc(e))); err != nil {
		b.Error(err)
	}
}

func (w *wmBench) close(b *testing.B) {
	if err := w.pub.Close(); err != nil {
		b.Fatal(err)
	}
	w.wg.Wait()
}

func wmOneSub(b *testing.B, codec wmCodec, unrelated int) {
	b.ReportAllocs()
	w := newWM(codec)
	ctx := b.Context()
	for i := range unrelated {
		w.subscribe(b, ctx, "other-"+strconv.Itoa(i), func(Event) {})
	}
	s := newSink(b.N)
	w.subscribe(b, ctx, wmTopic, s.Handle)
	b.ResetTimer()
	for i := range b.N {
		w.publish(b, newEvent(i), 1)
	}
	s.wait(b)
	b.StopTimer()
	w.close(b)
}

func BenchmarkOneSub_WatermillRaw(b *testing.B)  { wmOneSub(b, wmRaw, 0) }
func BenchmarkOneSub_WatermillJSON(b *testing.B) { wmOneSub(b, wmJSON, 0) }

func wmFanOut(b *testing.B, codec wmCodec) {
	b.ReportAllocs()
	w := newWM(codec)
	sinks := newSinks(FanOut, b.N)
	for _, s := range sinks {
		w.subscribe(b, b.Context(), wmTopic, s.Handle)
	}
	b.ResetTimer()
	for i := range b.N {
		w.publish(b, newEvent(i), FanOut)
	}
	waitAll(b, sinks)
	b.StopTimer()
	w.close(b)
}

func BenchmarkFanOut10_WatermillRaw(b *testing.B)  { wmFanOut(b, wmRaw) }
func BenchmarkFanOut10_WatermillJSON(b *testing.B) { wmFanOut(b, wmJSON) }

func wmPub4(b *testing.B, codec wmCodec) {
	b.ReportAllocs()
	w := newWM(codec)
	s := newSink(b.N)
	w.subscribe(b, b.Context(), wmTopic, s.Handle)
	b.ResetTimer()
	publishConcurrently(b, Publishers, func(i int) { w.publish(b, newEvent(i), 1) })
	s.wait(b)
	b.StopTimer()
	w.close(b)
}

func BenchmarkPub4_WatermillRaw(b *testing.B)  { wmPub4(b, wmRaw) }
func BenchmarkPub4_WatermillJSON(b *testing.B) { wmPub4(b, wmJSON) }

func wmLatency(b *testing.B, codec wmCodec) {
	w := newWM(codec)
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	w.subscribe(b, b.Context(), wmTopic, func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	})
	roundTrips(b, handled, func(i int) { w.publish(b, newEvent(i), 1) })
	w.close(b)
}

func BenchmarkLatency_WatermillRaw(b *testing.B)  { wmLatency(b, wmRaw) }
func BenchmarkLatency_WatermillJSON(b *testing.B) { wmLatency(b, wmJSON) }

func BenchmarkUnrelated1_WatermillRaw(b *testing.B)   { wmOneSub(b, wmRaw, 0) }
func BenchmarkUnrelated10k_WatermillRaw(b *testing.B) { wmOneSub(b, wmRaw, Unrelated) }
