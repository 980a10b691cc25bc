package troupeotel_test

import (
	"context"
	"sync/atomic"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/troupeotel"
)

type benchEvent struct {
	ID  int64
	SKU string
	Qty int
}

// benchPublish measures Publish → handled through one actor, the bus and
// the actor built with the options given.
func benchPublish(b *testing.B, busOpts []bus.Option, actorOpts []actor.Option) {
	b.ReportAllocs()
	bs := bus.New(busOpts...)
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	a := actor.New("bench", func(_ context.Context, e benchEvent) error {
		if handled.Add(1) == n {
			close(done)
		}
		return nil
	}, actorOpts...)
	if _, err := bus.Subscribe(bs, bus.Inbox[benchEvent](a)); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- a.Run(ctx) }()
	pctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bus.Publish(pctx, bs, benchEvent{ID: int64(i), SKU: "sku-1", Qty: 1}); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	cancel()
	<-stopped
}

// BenchmarkPublishNoInstrumentation is the baseline: no middleware, no
// propagator.
func BenchmarkPublishNoInstrumentation(b *testing.B) { benchPublish(b, nil, nil) }

// BenchmarkPublishMetrics instruments with metrics only (a no-op tracer
// provider): the histogram and the sent counter on each message.
func BenchmarkPublishMetrics(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	in, err := troupeotel.New(troupeotel.WithMeterProvider(mp), troupeotel.WithTracerProvider(noop.NewTracerProvider()))
	if err != nil {
		b.Fatal(err)
	}
	benchPublish(b, in.BusOptions(), in.ActorOptions())
}

// BenchmarkPublishTracing instruments with metrics and tracing, every span
// sampled and dropped by a processor that does nothing.
func BenchmarkPublishTracing(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) }()
	in, err := troupeotel.New(troupeotel.WithMeterProvider(mp), troupeotel.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	benchPublish(b, in.BusOptions(), in.ActorOptions())
}
