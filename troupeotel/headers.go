package troupeotel

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
)

// traceContext is the W3C trace context propagator.
var traceContext = propagation.TraceContext{}

// headerCarrier is a propagation.TextMapCarrier over message headers kept
// with their keys as given (NATS header keys are case-sensitive): W3C's
// lower-case traceparent and tracestate.
type headerCarrier map[string][]string

func (h headerCarrier) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h headerCarrier) Set(key, value string) { h[key] = []string{value} }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// InjectHeader writes the W3C trace context of ctx's span (traceparent,
// and tracestate when there is one) into the message headers h; it writes
// nothing when ctx has no valid span. With [ExtractHeader] it makes the
// header propagator of the JetStream bridge:
//
//	jetstream.Connect(url, jetstream.WithHeaderPropagator(troupeotel.InjectHeader, troupeotel.ExtractHeader))
//
// so that the span of a publish in one process is the parent of the
// handling of the event in another.
func InjectHeader(ctx context.Context, h map[string][]string) {
	traceContext.Inject(ctx, headerCarrier(h))
}

// ExtractHeader returns ctx with the span context of the W3C trace context
// in the message headers h as its remote span context, or ctx itself when
// h has none.
func ExtractHeader(ctx context.Context, h map[string][]string) context.Context {
	return traceContext.Extract(ctx, headerCarrier(h))
}
