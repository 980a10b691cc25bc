package troupeotel

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// Propagator is the actor.Propagator of OpenTelemetry: it carries the span
// context of a sender's context (the publish span, or the span of a handler
// that sends) across an actor's mailbox, to the handler's context as a
// remote span context, which the process span of [Instrumentation.HandleMiddleware]
// is a child of and links to. A message sent without a span carries nothing
// and is handled without a parent span, whatever the actor's Run context
// holds. It carries the span context itself, not a W3C header: nothing is
// formatted or parsed.
type Propagator struct{}

// Extract returns the valid span context of ctx, or nil.
func (Propagator) Extract(ctx context.Context) any {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return sc
}

// Inject returns ctx with carried, a span context from Extract, as its
// remote span context; with nil, ctx without a span context.
func (Propagator) Inject(ctx context.Context, carried any) context.Context {
	if sc, ok := carried.(trace.SpanContext); ok {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		return trace.ContextWithSpanContext(ctx, trace.SpanContext{})
	}
	return ctx
}

// ActorOptions returns the options that instrument an actor (give them to
// actor.New or actor.NewFrom, after any middleware of your own that should
// run outside them): the [Propagator], unless the tracer provider is a
// no-op one, and [Instrumentation.HandleMiddleware]. [Instrumentation.PoolOptions]
// and [Instrumentation.KeyedOptions] are the same options for a pool and
// for keyed actors.
func (in *Instrumentation) ActorOptions() []actor.Option {
	mw := actor.WithMiddleware(in.HandleMiddleware())
	if !in.traces {
		return []actor.Option{mw}
	}
	return []actor.Option{actor.WithPropagator(Propagator{}), mw}
}

// PoolOptions returns [Instrumentation.ActorOptions] for actor.NewPool.
func (in *Instrumentation) PoolOptions() []actor.PoolOption {
	return as[actor.PoolOption](in.ActorOptions())
}

// KeyedOptions returns [Instrumentation.ActorOptions] for actor.NewKeyed:
// each key's handling gets its span, as an actor's message does.
func (in *Instrumentation) KeyedOptions() []actor.KeyedOption {
	return as[actor.KeyedOption](in.ActorOptions())
}

// as returns opts as options of the wider type O, which every
// actor.Option implements.
func as[O any](opts []actor.Option) []O {
	out := make([]O, len(opts))
	for i, o := range opts {
		out[i] = any(o).(O)
	}
	return out
}

// BusOptions returns the options that instrument a bus (give them to
// bus.New): [Instrumentation.PublishMiddleware].
func (in *Instrumentation) BusOptions() []bus.Option {
	return []bus.Option{bus.WithMiddleware(in.PublishMiddleware())}
}

// HandleMiddleware returns the actor middleware that wraps the handling of
// each message in a process span and records its duration in the
// histogram messaging.process.duration.
//
// The span, of kind consumer, is named "process <actor>" and is a child of
// the span context the [Propagator] carried from the sender (the publish
// span of [Instrumentation.PublishMiddleware]), with a link to it. Its
// attributes and the histogram's: messaging.system "troupe",
// messaging.operation.type and .name "process", messaging.destination.name
// the actor's or pool's name, and error.type, the error's Go type, when
// the handler (or an inner middleware) returned an error, which also sets
// the span's status. A panic ends the span with the panic recorded before
// it goes on up.
func (in *Instrumentation) HandleMiddleware() actor.Middleware {
	return func(next actor.HandleFunc) actor.HandleFunc {
		// A middleware is made once per loop: an actor's one, or each of a
		// pool's workers, which handles one message at a time. So its
		// cache of the actor's attributes needs no lock.
		var name, spanName string
		var attrs []attribute.KeyValue
		var ok metric.RecordOption
		return func(ctx context.Context, m actor.Message) (err error) {
			if m.Actor != name {
				name, spanName = m.Actor, "process "+m.Actor
				attrs = []attribute.KeyValue{systemAttr, processType, processName, AttrDestination.String(name)}
				ok = metric.WithAttributeSet(attribute.NewSet(attrs...))
			}
			start := time.Now()
			if in.traces {
				var span trace.Span
				ctx, span = in.startProcess(ctx, spanName, attrs)
				defer endSpan(span, &err)
			}
			err = next(ctx, m)
			d := time.Since(start).Seconds()
			if err == nil {
				in.processDuration.Record(ctx, d, ok)
			} else {
				in.processDuration.Record(ctx, d, metric.WithAttributes(append(attrs, errorType(err))...))
			}
			return err
		}
	}
}

var (
	processType = AttrOperationType.String("process")
	processName = AttrOperationName.String("process")
	sendType    = AttrOperationType.String("send")
	sendName    = AttrOperationName.String("send")
)

func (in *Instrumentation) startProcess(ctx context.Context, name string, attrs []attribute.KeyValue) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	return in.tracer.Start(ctx, name, opts...)
}

// endSpan ends span, with the error *err or the panic under way.
func endSpan(span trace.Span, err *error) {
	if v := recover(); v != nil {
		span.SetStatus(codes.Error, fmt.Sprint("panic: ", v))
		span.SetAttributes(AttrErrorType.String("panic"))
		span.End()
		panic(v)
	}
	if *err != nil {
		span.RecordError(*err)
		span.SetStatus(codes.Error, (*err).Error())
		span.SetAttributes(errorType(*err))
	}
	span.End()
}

// errorType returns the error.type attribute of err: its Go type.
func errorType(err error) attribute.KeyValue {
	return AttrErrorType.String(reflect.TypeOf(err).String())
}

// PublishMiddleware returns the bus middleware that wraps each publish in
// a publish span and counts it in messaging.client.sent.messages.
//
// The span, of kind producer, is named "send <type>", after the event's Go
// type, its route; the context with it is the one the bus delivers with, so
// an actor with the [Propagator] handles the event in a child of it. Its
// attributes and the counter's: messaging.system "troupe",
// messaging.operation.type and .name "send", messaging.destination.name
// the event's type, and error.type, the error's Go type, when Publish
// returns an error.
func (in *Instrumentation) PublishMiddleware() bus.Middleware {
	return func(next bus.PublishFunc) bus.PublishFunc {
		return func(ctx context.Context, p bus.Publication) (err error) {
			r := in.route(p.Type)
			if in.traces {
				var span trace.Span
				ctx, span = in.tracer.Start(ctx, r.spanName, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(r.attrs...))
				defer endSpan(span, &err)
			}
			err = next(ctx, p)
			r.count(err)
			return err
		}
	}
}

// A sentRoute is what the publish middleware keeps of one event type: the
// span name and attributes, made once, and the count of successful
// publishes, which an observable counter reports: an atomic add costs a
// publish less than a synchronous instrument's, whose attributes the SDK
// checks on each call.
type sentRoute struct {
	spanName string
	attrs    []attribute.KeyValue
	set      attribute.Set
	sent     atomic.Int64
	failed   sync.Map // error.type → *failedCount
}

// failedCount counts the publishes of a route that failed with one
// error.type.
type failedCount struct {
	set attribute.Set
	n   atomic.Int64
}

// count counts a publish that returned err.
func (r *sentRoute) count(err error) {
	if err == nil {
		r.sent.Add(1)
		return
	}
	typ := reflect.TypeOf(err).String()
	f, ok := r.failed.Load(typ)
	if !ok {
		f, _ = r.failed.LoadOrStore(typ, &failedCount{set: attribute.NewSet(append(r.attrs, AttrErrorType.String(typ))...)})
	}
	f.(*failedCount).n.Add(1)
}

func (in *Instrumentation) route(t reflect.Type) *sentRoute {
	if r, ok := in.routes.Load(t); ok {
		return r.(*sentRoute)
	}
	name := t.String()
	attrs := []attribute.KeyValue{systemAttr, sendType, sendName, AttrDestination.String(name)}
	r := &sentRoute{spanName: "send " + name, attrs: attrs, set: attribute.NewSet(attrs...)}
	v, _ := in.routes.LoadOrStore(t, r)
	return v.(*sentRoute)
}

// observeSent reports the successful publishes of each event type.
func (in *Instrumentation) observeSent(_ context.Context, o metric.Int64Observer) error {
	in.routes.Range(func(_, v any) bool {
		r := v.(*sentRoute)
		o.Observe(r.sent.Load(), metric.WithAttributeSet(r.set))
		r.failed.Range(func(_, v any) bool {
			f := v.(*failedCount)
			o.Observe(f.n.Load(), metric.WithAttributeSet(f.set))
			return true
		})
		return true
	})
	return nil
}
