package troupeotel_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/troupeotel"
)

type OrderPlaced struct{ ID int }

// Instrument a bus and an actor: the publish and process spans of each
// event, linked; the handling duration histogram; and the actor's counters
// read at each collection. A program would give its own exporters (OTLP,
// Prometheus) to the providers; the in-memory ones here show what they get.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	defer func() { _ = tp.Shutdown(ctx); _ = mp.Shutdown(ctx) }()

	otelIn, err := troupeotel.New(troupeotel.WithTracerProvider(tp), troupeotel.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}
	b := bus.New(otelIn.BusOptions()...)
	handled := make(chan struct{})
	billing := actor.New("billing", func(ctx context.Context, o OrderPlaced) error {
		close(handled)
		return nil
	}, otelIn.ActorOptions()...)
	if _, err := bus.Subscribe(b, bus.Inbox[OrderPlaced](billing)); err != nil {
		panic(err)
	}
	reg, err := otelIn.ObserveActors(billing)
	if err != nil {
		panic(err)
	}
	defer func() { _ = reg.Unregister() }()

	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- billing.Run(runCtx) }()
	if err := bus.Publish(ctx, b, OrderPlaced{ID: 1}); err != nil {
		panic(err)
	}
	<-handled
	stop()
	<-stopped

	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name, s.SpanKind)
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			if m.Name == "troupe.actor.handled" || m.Name == "messaging.client.sent.messages" {
				fmt.Println(m.Name, d.DataPoints[0].Value)
			}
		case metricdata.Histogram[float64]:
			fmt.Println(m.Name, "count", d.DataPoints[0].Count)
		}
	}
	// Unordered output:
	// send troupeotel_test.OrderPlaced producer
	// process billing consumer
	// messaging.process.duration count 1
	// messaging.client.sent.messages 1
	// troupe.actor.handled 1
}
