// Package troupeotel instruments troupe with OpenTelemetry: metrics and
// spans for actors, pools, buses and supervisors, named and attributed
// after the OpenTelemetry messaging semantic conventions where they apply.
//
// It is a module of its own, so that a program using troupe without it has
// no OpenTelemetry module in its graph.
//
// # Setup
//
// Make an [Instrumentation] with [New] (the global providers by default,
// or [WithMeterProvider] and [WithTracerProvider]) and give its options to
// what you build:
//
//	otelIn, err := troupeotel.New()
//	b := bus.New(otelIn.BusOptions()...)
//	a := actor.New("billing", handle, otelIn.ActorOptions()...)
//	p := actor.NewPool("pack", 4, pack, otelIn.PoolOptions()...)
//	carts := actor.NewKeyed("carts", newCart, otelIn.KeyedOptions()...)
//	reg, err := otelIn.ObserveActors(a)
//
// # Spans
//
// Each publish on an instrumented bus is a producer span "send <type>";
// each message an instrumented actor handles is a consumer span "process
// <actor>", a child of the span of the context it was sent with (the
// publish span, or the process span of a handler that sent it) and linked
// to it: the [Propagator] carries the span context across the mailbox.
// Across processes, the JetStream bridge carries it in W3C traceparent
// headers with [InjectHeader] and [ExtractHeader].
//
// # Metrics
//
//   - messaging.process.duration (histogram, s): handling of each message,
//     by actor ([Instrumentation.HandleMiddleware]);
//   - messaging.client.sent.messages (counter): publishes, by event type
//     ([Instrumentation.PublishMiddleware]);
//   - troupe.actor.handled, .failed, .panics, .dead_letters (by reason),
//     .evicted
//     (counters) and troupe.actor.mailbox.depth, .capacity, .oldest_wait
//     (gauges), by actor or pool ([Instrumentation.ObserveActors],
//     [Instrumentation.ObservePools]);
//   - troupe.keyed.keys (gauge), troupe.keyed.created, .passivated,
//     .removed, .restarts and troupe.actor.dead_letters (by reason)
//     (counters), by keyed actor ([Instrumentation.ObserveKeyed]);
//   - messaging.client.consumed.messages and troupe.bus.dropped (by
//     troupe.drop.reason) (counters) and troupe.bus.queued (gauge), by
//     subscription ([Instrumentation.ObserveBus]);
//   - troupe.supervisor.restarts (counter) and troupe.supervisor.child.state
//     (gauge), by child ([Instrumentation.ObserveSupervisor]), and
//     troupe.supervisor.give_ups (counter, [Instrumentation.SupervisorHook]).
//
// The counters and gauges are read from Stats and Tree at each collection
// and cost the message path nothing; the histogram and the spans are
// recorded per message by middleware (see actor.WithMiddleware and
// bus.WithMiddleware), which composes with middleware of your own.
package troupeotel
