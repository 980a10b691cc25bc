package jetstream

import "context"

// WithHeaderPropagator makes the bridge carry what a context holds for
// tracing (a W3C traceparent, say) in the headers of the messages it
// publishes, and back into the context of the handler that imports them.
// inject is called with the publisher's context and the headers of each
// message [Publish] and an [Inbox] (Send, Offer) encode, on the caller's
// goroutine; extract with the context an import handles a message with
// and the message's headers, and returns the context to handle it with
// (for [NewImportToBus], the context the event is published with on the
// local bus). The headers are the message's nats.Header as a plain map,
// so that an implementation need not import nats.go: the package
// troupeotel provides one over OpenTelemetry's W3C trace context
// propagator. inject must not remove or change the headers the bridge
// sets (Troupe-Type, Nats-Msg-Id). Without this option nothing is added.
// It panics if inject or extract is nil.
func WithHeaderPropagator(inject func(ctx context.Context, h map[string][]string), extract func(ctx context.Context, h map[string][]string) context.Context) Option {
	if inject == nil || extract == nil {
		panic("jetstream: WithHeaderPropagator: nil inject or extract")
	}
	return func(c *config) { c.injectHeader, c.extractHeader = inject, extract }
}

// inject adds what ctx carries to h, when the bridge has a header
// propagator.
func (c *config) inject(ctx context.Context, h map[string][]string) {
	if c.injectHeader != nil {
		c.injectHeader(ctx, h)
	}
}

// extract returns ctx with what h carries, when the bridge has a header
// propagator.
func (c *config) extract(ctx context.Context, h map[string][]string) context.Context {
	if c.extractHeader != nil {
		return c.extractHeader(ctx, h)
	}
	return ctx
}
