package bus

import (
	"context"
	"fmt"
	"reflect"
)

// A Publication is what a [Middleware] sees of a publish: the event and its
// type, the type it is routed by (the dynamic type when the event was
// published through an interface type).
type Publication struct {
	// Type is the event's type, which names its route.
	Type reflect.Type
	// Event is the event.
	Event any
}

// A PublishFunc delivers one publication: the bus's delivery, wrapped in
// the middleware after it.
type PublishFunc func(ctx context.Context, p Publication) error

// A Middleware wraps each [Publish] on a bus: it returns a PublishFunc that
// does its work (log, time, check, start a span and pass it on in the
// context) and calls next, or returns an error without calling it, which
// Publish then returns and nothing is delivered. The context next is
// called with is the one the inboxes' Offer and Send get: what it carries
// is what a propagator (see actor.WithPropagator) takes to the handlers.
type Middleware func(next PublishFunc) PublishFunc

// WithMiddleware adds middleware around every [Publish] on the bus. The
// first middleware given, over all WithMiddleware options in order, is the
// outermost: it sees each publish first and its next calls the second, and
// so on; the last one's next delivers the event. Without middleware (the
// default) Publish costs nothing more; with middleware, each event is put
// in an interface value, which allocates unless it is a pointer or another
// type that fits an interface value without boxing. It panics if a
// middleware is nil.
func WithMiddleware(mw ...Middleware) Option {
	for i, m := range mw {
		if m == nil {
			panic(fmt.Sprintf("bus: WithMiddleware: middleware %d is nil", i))
		}
	}
	mw = append([]Middleware(nil), mw...)
	return func(c *config) { c.middleware = append(c.middleware, mw...) }
}

// chain composes the bus's middleware around its delivery, or leaves
// b.publish nil when there is none.
func (b *Bus) chain() {
	if len(b.cfg.middleware) == 0 {
		return
	}
	next := PublishFunc(func(ctx context.Context, p Publication) error { return b.publishAny(ctx, p.Event) })
	for i := len(b.cfg.middleware) - 1; i >= 0; i-- {
		next = b.cfg.middleware[i](next)
	}
	b.publish = next
}

// publishVia publishes v through the middleware.
func (b *Bus) publishVia(ctx context.Context, v any) error {
	if v == nil {
		return errNilEvent
	}
	return b.publish(ctx, Publication{Type: reflect.TypeOf(v), Event: v})
}
