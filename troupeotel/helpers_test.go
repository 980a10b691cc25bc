package troupeotel_test

import (
	"context"
	"log/slog"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/troupe-go/troupe/troupeotel"
)

// setup returns an Instrumentation reporting to an in-memory metric reader
// and span recorder.
func setup(t *testing.T) (*troupeotel.Instrumentation, *sdkmetric.ManualReader, *tracetest.SpanRecorder) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	in, err := troupeotel.New(troupeotel.WithMeterProvider(mp), troupeotel.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	return in, reader, sr
}

// collect returns the metrics of reader by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// point returns the value of the int64 sum or gauge m at the data point
// with exactly the attributes kv, and whether there is one.
func point(m metricdata.Metrics, kv ...attribute.KeyValue) (int64, bool) {
	want := attribute.NewSet(kv...)
	var pts []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		pts = d.DataPoints
	case metricdata.Gauge[int64]:
		pts = d.DataPoints
	}
	for _, p := range pts {
		if p.Attributes.Equals(&want) {
			return p.Value, true
		}
	}
	return 0, false
}

// histCount returns the count of the float64 histogram m at the data
// point with exactly the attributes kv.
func histCount(m metricdata.Metrics, kv ...attribute.KeyValue) (uint64, bool) {
	want := attribute.NewSet(kv...)
	h, _ := m.Data.(metricdata.Histogram[float64])
	for _, p := range h.DataPoints {
		if p.Attributes.Equals(&want) {
			return p.Count, true
		}
	}
	return 0, false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// run runs r until the test ends.
func run(t *testing.T, r interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

var discard = slog.New(slog.DiscardHandler)
