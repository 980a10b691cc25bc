package troupeotel_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-go/troupe/troupeotel"
)

// InjectHeader writes the span's W3C traceparent under the lower-case key,
// and ExtractHeader reads it back as a remote span context.
func TestHeaderRoundTrip(t *testing.T) {
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	h := map[string][]string{"Nats-Msg-Id": {"x"}}
	troupeotel.InjectHeader(ctx, h)
	if got := h["traceparent"]; len(got) != 1 || got[0] != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent %q; want the span's", got)
	}
	if len(h) != 2 {
		t.Errorf("headers %v; want Nats-Msg-Id and traceparent only", h)
	}
	got := trace.SpanContextFromContext(troupeotel.ExtractHeader(context.Background(), h))
	if !got.IsRemote() || got.TraceID() != traceID || got.SpanID() != spanID || !got.IsSampled() {
		t.Errorf("extracted %v; want the remote span context %v", got, sc)
	}

	empty := map[string][]string{}
	troupeotel.InjectHeader(context.Background(), empty)
	if len(empty) != 0 {
		t.Errorf("headers without a span: %v; want none", empty)
	}
	if sc := trace.SpanContextFromContext(troupeotel.ExtractHeader(context.Background(), empty)); sc.IsValid() {
		t.Errorf("extracted %v from no headers; want none", sc)
	}
}
