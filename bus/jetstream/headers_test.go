package jetstream

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/bus"
)

type traceKey struct{}

// traceHeaders carries the string under traceKey in the "traceparent"
// header.
func traceHeaders() Option {
	return WithHeaderPropagator(
		func(ctx context.Context, h map[string][]string) {
			if v, ok := ctx.Value(traceKey{}).(string); ok {
				h["traceparent"] = []string{v}
			}
		},
		func(ctx context.Context, h map[string][]string) context.Context {
			if v := h["traceparent"]; len(v) == 1 {
				return context.WithValue(ctx, traceKey{}, v[0])
			}
			return ctx
		})
}

// What the publisher's context carries crosses JetStream in the headers,
// through Publish and through an exporter's inbox on a bus, to the
// context an import handles the message with; a message published without
// it gets no header.
func TestHeaderPropagatorCarriesContext(t *testing.T) {
	b := testBridge(t, serverURL(t), traceHeaders())
	x := NewExporter("export", b)
	run(t, x)
	local := bus.New()
	if _, err := Export[OrderCreated](local, x); err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 3)
	im := NewImport("traced", b, func(ctx context.Context, o OrderCreated) error {
		v, _ := ctx.Value(traceKey{}).(string)
		seen <- o.ID + "=" + v
		return nil
	})
	run(t, im)

	ctx := context.WithValue(context.Background(), traceKey{}, "00-trace-1")
	if err := Publish(ctx, b, OrderCreated{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.WithValue(ctx, traceKey{}, "00-trace-2"), local, OrderCreated{ID: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := Publish(context.Background(), b, OrderCreated{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 3 {
		got[recv(t, seen)] = true
	}
	for _, want := range []string{"a=00-trace-1", "b=00-trace-2", "c="} {
		if !got[want] {
			t.Errorf("handled %v; want %s among them", got, want)
		}
	}
}
