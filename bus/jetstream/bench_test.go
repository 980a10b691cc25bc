package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// The benchmarks run troupe and plain nats.go side by side against the same
// server (in-process, or $NATS_URL): the ratio of each pair is troupe's
// cost. Both sides encode JSON, set a Nats-Msg-Id, wait for the publish ack
// and ack each consumed message; the consumers pull in batches of the same
// size.

const benchBatch = DefaultImportMailbox

func BenchmarkExport(b *testing.B) {
	url := serverURL(b)
	b.Run("nats", func(b *testing.B) {
		br := testBridge(b, url)
		ctx := context.Background()
		if err := br.EnsureStream(ctx); err != nil {
			b.Fatal(err)
		}
		subject := br.cfg.prefix + ".OrderCreated"
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			data, err := json.Marshal(OrderCreated{ID: fmt.Sprint(i), Total: i})
			if err != nil {
				b.Fatal(err)
			}
			m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{MsgIDHeader: {nuid.Next()}}}
			if _, err := br.js.PublishMsg(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("troupe", func(b *testing.B) {
		br := testBridge(b, url)
		x := NewExporter("export", br)
		done := make(chan struct{})
		n := 0
		x.onPublished = func() {
			if n++; n == b.N {
				close(done)
			}
		}
		run(b, x)
		in := NewInbox[benchEvent](x)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := in.Send(ctx, benchEvent{ID: fmt.Sprint(i), Total: i}); err != nil {
				b.Fatal(err)
			}
		}
		recv(b, done)
	})
}

// benchEvent is OrderCreated without an EventID method: its ID is
// generated, like the nats side's.
type benchEvent struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

// fill stores n events in br's stream, outside the benchmark's timer.
func fill(b *testing.B, br *Bridge, n int) {
	b.Helper()
	ctx := context.Background()
	if err := br.EnsureStream(ctx); err != nil {
		b.Fatal(err)
	}
	r := br.routeOf("fill", typeOf[benchEvent]())
	for i := range n {
		m, err := br.message(r, benchEvent{ID: fmt.Sprint(i), Total: i})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := br.js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-br.js.PublishAsyncComplete():
	case <-ctx.Done():
	}
}

func BenchmarkImport(b *testing.B) {
	url := serverURL(b)
	b.Run("nats", func(b *testing.B) {
		br := testBridge(b, url)
		b.StopTimer()
		fill(b, br, b.N)
		ctx := context.Background()
		cons, err := br.js.CreateConsumer(ctx, br.Stream(), jetstream.ConsumerConfig{
			Durable: "plain", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 2 * benchBatch,
		})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		n := 0
		b.ReportAllocs()
		b.StartTimer()
		cc, err := cons.Consume(func(m jetstream.Msg) {
			var e benchEvent
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				b.Error(err)
			}
			if err := m.Ack(); err != nil {
				b.Error(err)
			}
			if n++; n == b.N {
				close(done)
			}
		}, jetstream.PullMaxMessages(benchBatch))
		if err != nil {
			b.Fatal(err)
		}
		recv(b, done)
		b.StopTimer()
		cc.Stop()
		<-cc.Closed()
	})
	b.Run("troupe", func(b *testing.B) {
		br := testBridge(b, url)
		b.StopTimer()
		fill(b, br, b.N)
		done := make(chan struct{})
		n := 0
		im := NewImport("troupe", br, func(_ context.Context, e benchEvent) error {
			if n++; n == b.N {
				close(done)
			}
			return nil
		})
		b.ReportAllocs()
		b.StartTimer()
		stop := run(b, im)
		recv(b, done)
		b.StopTimer()
		stop()
	})
}
