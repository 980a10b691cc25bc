package actor

import (
	"context"
	"fmt"
)

// A Propagator decides what of a sender's context travels with a message
// to the handler's context: a trace's span context, a request id. Without
// one (the default), nothing does, and the mailbox keeps nothing beside the
// messages.
//
// Extract is called by [Actor.Send], [Actor.Offer] and [Actor.Displace]
// (and a [Pool]'s) with the sender's context, before the message is put
// in the mailbox; it returns what is to travel, nil for nothing. It must
// not block. [Actor.TrySend], which has no context, carries nothing.
//
// Inject is called on the actor's goroutine before each message is
// handled, with the handler's context and what Extract returned for the
// message (nil when the message was sent without a context); it returns
// the context to handle the message with, ctx itself when carried is nil.
// It must derive the returned context from ctx: the handler's context
// carries the Run's cancellation and marks the actor's own goroutine.
//
// The package troupeotel provides an OpenTelemetry Propagator, carrying
// the sender's span context.
type Propagator interface {
	Extract(ctx context.Context) any
	Inject(ctx context.Context, carried any) context.Context
}

// WithPropagator sets the [Propagator] of the actor's or pool's mailbox,
// replacing any set before. It panics if p is nil.
func WithPropagator(p Propagator) Option {
	if p == nil {
		panic("actor: WithPropagator: nil propagator")
	}
	return func(c *config) { c.extrasToSet().propagator = p }
}

// A Message is what a [Middleware] sees of a message being handled: the
// name of the actor or pool handling it and the message itself.
type Message struct {
	// Actor is the name of the actor or pool.
	Actor string
	// Msg is the message, of the actor's message type M.
	Msg any
}

// A HandleFunc handles one message: the actor's [Handler], wrapped in the
// middleware after it.
type HandleFunc func(ctx context.Context, m Message) error

// A Middleware wraps the handling of each message: it returns a HandleFunc
// that does its work (log, time, check, start a span) and calls next, or
// returns an error without calling it. Its error counts as the handler's:
// it is counted as failed and goes to the error hook. A panic in a
// middleware is a panic of the handler.
type Middleware func(next HandleFunc) HandleFunc

// WithMiddleware adds middleware around the actor's or pool's handler. The
// first middleware given, over all WithMiddleware options in order, is the
// outermost: it sees each message first and its next calls the second, and
// so on; the last one's next calls the handler. Each message is handled
// with the context the [Propagator] (if any) made, so the middleware sees
// what the sender's context carried.
//
// Without middleware (the default), the handler is called directly and a
// message costs nothing more; with middleware, each message is put in an
// interface value for [Message.Msg], which allocates unless M is a pointer
// or another type that fits an interface value without boxing. It panics if
// a middleware is nil.
func WithMiddleware(mw ...Middleware) Option {
	for i, m := range mw {
		if m == nil {
			panic(fmt.Sprintf("actor: WithMiddleware: middleware %d is nil", i))
		}
	}
	mw = append([]Middleware(nil), mw...)
	return func(c *config) { c.extrasToSet().middleware = append(c.extrasToSet().middleware, mw...) }
}

// chain returns h wrapped in the middleware mw, the first outermost, or
// nil when there is none.
func chain[M any](h Handler[M], mw []Middleware) HandleFunc {
	if len(mw) == 0 {
		return nil
	}
	next := HandleFunc(func(ctx context.Context, m Message) error { return h(ctx, m.Msg.(M)) })
	for i := len(mw) - 1; i >= 0; i-- {
		next = mw[i](next)
	}
	return next
}

// extract returns what ctx carries along with a message, through the
// mailbox's propagator, nil when there is none.
func (c *config) extract(ctx context.Context) any {
	if c.extra == nil || c.extra.propagator == nil {
		return nil
	}
	return c.extra.propagator.Extract(ctx)
}
