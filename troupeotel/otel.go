package troupeotel

import (
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/troupe-go/troupe/troupeotel"

// System is the value of the attribute messaging.system.
const System = "troupe"

// The attribute keys, after the OpenTelemetry messaging semantic
// conventions where they apply, and troupe's own otherwise.
const (
	AttrSystem        = attribute.Key("messaging.system")
	AttrDestination   = attribute.Key("messaging.destination.name")
	AttrOperationType = attribute.Key("messaging.operation.type")
	AttrOperationName = attribute.Key("messaging.operation.name")
	AttrConsumerGroup = attribute.Key("messaging.consumer.group.name")
	AttrErrorType     = attribute.Key("error.type")
	// AttrDropReason is why a subscription did not get an event: newest,
	// oldest, timeout, canceled or rejected (see bus.Drops).
	AttrDropReason = attribute.Key("troupe.drop.reason")
	// AttrDeadLetterReason is why an actor did not handle a message it
	// accepted: panicked, drain_timeout or stopped (see
	// actor.DeadLetterCounts).
	AttrDeadLetterReason = attribute.Key("troupe.dead_letter.reason")
	// AttrChildPath is a supervisor child's path, such as "root/orders".
	AttrChildPath = attribute.Key("troupe.child.path")
	// AttrChildState is a supervisor child's state, such as "running".
	AttrChildState = attribute.Key("troupe.child.state")
	// AttrSupervisor is a supervisor's path.
	AttrSupervisor = attribute.Key("troupe.supervisor.path")
)

var systemAttr = AttrSystem.String(System)

// An Option configures an [Instrumentation].
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets the meter provider. The default is the global one
// (otel.GetMeterProvider) at the time [New] is called.
func WithMeterProvider(mp metric.MeterProvider) Option {
	if mp == nil {
		panic("troupeotel: WithMeterProvider: nil provider")
	}
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets the tracer provider. The default is the global
// one (otel.GetTracerProvider) at the time [New] is called. With a
// go.opentelemetry.io/otel/trace/noop provider, no span is started at all:
// metrics only.
func WithTracerProvider(tp trace.TracerProvider) Option {
	if tp == nil {
		panic("troupeotel: WithTracerProvider: nil provider")
	}
	return func(c *config) { c.tp = tp }
}

// An Instrumentation holds the instruments and the tracer that troupe's
// actors, pools, buses and supervisors report to. Make one with [New] and
// hand its options to the parts to instrument:
//
//   - [Instrumentation.ActorOptions] to actor.New and actor.NewPool: the
//     process span and the handling duration of each message;
//   - [Instrumentation.BusOptions] to bus.New: the publish span and the
//     sent-messages counter of each publish;
//   - [Instrumentation.ObserveActors], [Instrumentation.ObservePools],
//     [Instrumentation.ObserveKeyed], [Instrumentation.ObserveBus] and
//     [Instrumentation.ObserveSupervisor]: the counters and gauges read
//     from their stats at each collection;
//   - [Instrumentation.SupervisorHook] to supervisor.WithHook: give-ups.
//
// An Instrumentation is safe for concurrent use.
type Instrumentation struct {
	meter  metric.Meter
	tracer trace.Tracer
	// traces is false for a no-op tracer provider: no span is started.
	traces bool

	processDuration metric.Float64Histogram
	// routes counts the publishes for messaging.client.sent.messages (see
	// sentRoute).
	routes  sync.Map // reflect.Type → *sentRoute
	giveUps metric.Int64Counter

	actor actorInstruments
	keyed keyedInstruments
	sub   subInstruments
	child childInstruments
}

// New returns an Instrumentation reporting to the providers the options
// set, the global ones by default. It returns an error when an instrument
// cannot be made.
func New(opts ...Option) (*Instrumentation, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	in := &Instrumentation{
		meter:  c.mp.Meter(ScopeName),
		tracer: c.tp.Tracer(ScopeName),
	}
	_, noopTP := c.tp.(noop.TracerProvider)
	in.traces = !noopTP
	m := in.meter
	var err error
	if in.processDuration, err = m.Float64Histogram("messaging.process.duration",
		metric.WithDescription("Duration of handling a message, middleware included."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if _, err = m.Int64ObservableCounter("messaging.client.sent.messages",
		metric.WithDescription("Events published."), metric.WithUnit("{message}"),
		metric.WithInt64Callback(in.observeSent)); err != nil {
		return nil, err
	}
	if in.giveUps, err = m.Int64Counter("troupe.supervisor.give_ups",
		metric.WithDescription("Times a supervisor exceeded its restart intensity and gave up."),
		metric.WithUnit("{give_up}")); err != nil {
		return nil, err
	}
	if err := in.actor.init(m); err != nil {
		return nil, err
	}
	if err := in.keyed.init(m); err != nil {
		return nil, err
	}
	if err := in.sub.init(m); err != nil {
		return nil, err
	}
	if err := in.child.init(m); err != nil {
		return nil, err
	}
	return in, nil
}

// durationBuckets are the bucket boundaries of messaging.process.duration,
// in seconds: from 5µs, as an actor handles a message in microseconds, to
// 10s.
var durationBuckets = []float64{
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}
