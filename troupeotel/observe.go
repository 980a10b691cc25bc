package troupeotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// actorInstruments are read from an actor's or pool's Stats.
type actorInstruments struct {
	handled, failed, panics, deadLetters, evicted metric.Int64ObservableCounter
	depth, capacity                               metric.Int64ObservableGauge
	oldestWait                                    metric.Float64ObservableGauge
}

func (a *actorInstruments) init(m metric.Meter) (err error) {
	counter := func(name, desc string) metric.Int64ObservableCounter {
		if err != nil {
			return nil
		}
		var c metric.Int64ObservableCounter
		c, err = m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit("{message}"))
		return c
	}
	a.handled = counter("troupe.actor.handled", "Messages the handler returned nil for.")
	a.failed = counter("troupe.actor.failed", "Messages the handler returned an error for.")
	a.panics = counter("troupe.actor.panics", "Handler panics.")
	a.deadLetters = counter("troupe.actor.dead_letters", "Messages accepted and reported as dead letters.")
	a.evicted = counter("troupe.actor.evicted", "Messages removed unhandled to make room (drop-oldest).")
	if err != nil {
		return err
	}
	if a.depth, err = m.Int64ObservableGauge("troupe.actor.mailbox.depth",
		metric.WithDescription("Messages accepted and not handled yet."), metric.WithUnit("{message}")); err != nil {
		return err
	}
	if a.capacity, err = m.Int64ObservableGauge("troupe.actor.mailbox.capacity",
		metric.WithDescription("Size of the mailbox."), metric.WithUnit("{message}")); err != nil {
		return err
	}
	a.oldestWait, err = m.Float64ObservableGauge("troupe.actor.mailbox.oldest_wait",
		metric.WithDescription("How long the oldest queued message has been waiting."), metric.WithUnit("s"))
	return err
}

func (a *actorInstruments) list() []metric.Observable {
	return []metric.Observable{a.handled, a.failed, a.panics, a.deadLetters, a.evicted, a.depth, a.capacity, a.oldestWait}
}

func (a *actorInstruments) observe(o metric.Observer, s actor.Stats) {
	set := metric.WithAttributeSet(attribute.NewSet(systemAttr, AttrDestination.String(s.Name)))
	o.ObserveInt64(a.handled, int64(s.Handled), set)
	o.ObserveInt64(a.failed, int64(s.Failed), set)
	o.ObserveInt64(a.panics, int64(s.Panics), set)
	a.observeDeadLetters(o, s.Name, s.DeadLettersBy)
	o.ObserveInt64(a.evicted, int64(s.Evicted), set)
	o.ObserveInt64(a.depth, int64(s.Queued), set)
	o.ObserveInt64(a.capacity, int64(s.Capacity), set)
	o.ObserveFloat64(a.oldestWait, s.OldestWait.Seconds(), set)
}

// observeDeadLetters reports the dead letters of the actor (pool, keyed
// actor) called name, by reason, zero or not.
func (a *actorInstruments) observeDeadLetters(o metric.Observer, name string, by actor.DeadLetterCounts) {
	for _, d := range []struct {
		reason string
		n      uint64
	}{
		{"panicked", by.Panicked},
		{"drain_timeout", by.DrainTimeout},
		{"stopped", by.Stopped},
	} {
		o.ObserveInt64(a.deadLetters, int64(d.n), metric.WithAttributes(systemAttr, AttrDestination.String(name), AttrDeadLetterReason.String(d.reason)))
	}
}

// A Statser is an actor: anything whose Stats returns actor.Stats.
type Statser interface{ Stats() actor.Stats }

// A PoolStatser is a pool: anything whose Stats returns actor.PoolStats.
type PoolStatser interface{ Stats() actor.PoolStats }

// ObserveActors reports the counters and gauges of the actors at each
// collection, read from their Stats, with the attributes messaging.system
// "troupe" and messaging.destination.name the actor's name:
// troupe.actor.handled, .failed, .panics, .dead_letters (with
// troupe.dead_letter.reason: panicked, drain_timeout, stopped; every
// reason is reported, zero or not) and .evicted (monotonic counters,
// {message}), troupe.actor.mailbox.depth and
// .capacity (gauges, {message}) and troupe.actor.mailbox.oldest_wait
// (gauge, s). Unregister the returned registration when the actors are
// gone.
func (in *Instrumentation) ObserveActors(actors ...Statser) (metric.Registration, error) {
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, a := range actors {
			in.actor.observe(o, a.Stats())
		}
		return nil
	}, in.actor.list()...)
}

// ObservePools is [Instrumentation.ObserveActors] for pools: the same
// instruments, summed over each pool's workers.
func (in *Instrumentation) ObservePools(pools ...PoolStatser) (metric.Registration, error) {
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, p := range pools {
			in.actor.observe(o, p.Stats().Stats)
		}
		return nil
	}, in.actor.list()...)
}

// keyedInstruments are read from a Keyed's Stats; its dead letters go to
// the actors' troupe.actor.dead_letters.
type keyedInstruments struct {
	keys                                  metric.Int64ObservableGauge
	created, passivated, removed, restart metric.Int64ObservableCounter
}

func (k *keyedInstruments) init(m metric.Meter) (err error) {
	if k.keys, err = m.Int64ObservableGauge("troupe.keyed.keys",
		metric.WithDescription("Keys a keyed actor holds an actor for."), metric.WithUnit("{key}")); err != nil {
		return err
	}
	counter := func(name, desc, unit string) metric.Int64ObservableCounter {
		if err != nil {
			return nil
		}
		var c metric.Int64ObservableCounter
		c, err = m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		return c
	}
	k.created = counter("troupe.keyed.created", "Keys' actors created by a key's first message.", "{key}")
	k.passivated = counter("troupe.keyed.passivated", "Keys' actors stopped after their idle timeout.", "{key}")
	k.removed = counter("troupe.keyed.removed", "Keys' actors removed after too many panics or a failed factory.", "{key}")
	k.restart = counter("troupe.keyed.restarts", "Restarts of keys' actors after a panic.", "{restart}")
	return err
}

// A KeyedStatser is a keyed actor: anything whose Stats returns
// actor.KeyedStats, as *actor.Keyed's does.
type KeyedStatser interface{ Stats() actor.KeyedStats }

// ObserveKeyed reports the counters of the keyed actors at each
// collection, read from their Stats (which visits no key: the cost does
// not grow with the keys), with the attributes messaging.system "troupe"
// and messaging.destination.name the Keyed's name: troupe.keyed.keys (a
// gauge, {key}: the live keys), troupe.keyed.created, .passivated and
// .removed (monotonic counters, {key}), troupe.keyed.restarts (a
// monotonic counter, {restart}), and troupe.actor.dead_letters, the
// actors' counter, with troupe.dead_letter.reason as for
// [Instrumentation.ObserveActors], over all keys. Unregister the returned
// registration when the keyed actors are gone.
func (in *Instrumentation) ObserveKeyed(keyed ...KeyedStatser) (metric.Registration, error) {
	k := &in.keyed
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, kd := range keyed {
			s := kd.Stats()
			set := metric.WithAttributeSet(attribute.NewSet(systemAttr, AttrDestination.String(s.Name)))
			o.ObserveInt64(k.keys, int64(s.Keys), set)
			o.ObserveInt64(k.created, int64(s.Created), set)
			o.ObserveInt64(k.passivated, int64(s.Passivated), set)
			o.ObserveInt64(k.removed, int64(s.Removed), set)
			o.ObserveInt64(k.restart, int64(s.Restarted), set)
			in.actor.observeDeadLetters(o, s.Name, s.DeadLettersBy)
		}
		return nil
	}, k.keys, k.created, k.passivated, k.removed, k.restart, in.actor.deadLetters)
}

// subInstruments are read from a bus's Stats.
type subInstruments struct {
	consumed, dropped metric.Int64ObservableCounter
	queued            metric.Int64ObservableGauge
}

func (s *subInstruments) init(m metric.Meter) (err error) {
	if s.consumed, err = m.Int64ObservableCounter("messaging.client.consumed.messages",
		metric.WithDescription("Events a subscription's inbox accepted."), metric.WithUnit("{message}")); err != nil {
		return err
	}
	if s.dropped, err = m.Int64ObservableCounter("troupe.bus.dropped",
		metric.WithDescription("Events a subscription did not get, by reason."), metric.WithUnit("{message}")); err != nil {
		return err
	}
	s.queued, err = m.Int64ObservableGauge("troupe.bus.queued",
		metric.WithDescription("Events in a subscription's inbox, for inboxes that report it."), metric.WithUnit("{message}"))
	return err
}

// ObserveBus reports the counters of each live subscription of b at each
// collection, read from b.Stats, with the attributes messaging.system
// "troupe", messaging.destination.name the event type and
// messaging.consumer.group.name the subscription's name:
// messaging.client.consumed.messages (events delivered), troupe.bus.dropped
// (with troupe.drop.reason: newest, oldest, timeout, canceled, rejected;
// every reason is reported, zero or not) and troupe.bus.queued (a gauge,
// for inboxes that report their depth).
func (in *Instrumentation) ObserveBus(b *bus.Bus) (metric.Registration, error) {
	s := &in.sub
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, st := range b.Stats() {
			attrs := []attribute.KeyValue{systemAttr, AttrDestination.String(st.Type.String()), AttrConsumerGroup.String(st.Name)}
			o.ObserveInt64(s.consumed, int64(st.Delivered), metric.WithAttributes(attrs...))
			for _, d := range []struct {
				reason string
				n      uint64
			}{
				{"newest", st.Dropped.Newest},
				{"oldest", st.Dropped.Oldest},
				{"timeout", st.Dropped.Timeout},
				{"canceled", st.Dropped.Canceled},
				{"rejected", st.Dropped.Rejected},
			} {
				o.ObserveInt64(s.dropped, int64(d.n), metric.WithAttributes(append(attrs, AttrDropReason.String(d.reason))...))
			}
			if st.Queued >= 0 {
				o.ObserveInt64(s.queued, int64(st.Queued), metric.WithAttributes(attrs...))
			}
		}
		return nil
	}, s.consumed, s.dropped, s.queued)
}

// childInstruments are read from a supervisor's Tree.
type childInstruments struct {
	restarts metric.Int64ObservableCounter
	state    metric.Int64ObservableGauge
}

func (c *childInstruments) init(m metric.Meter) (err error) {
	if c.restarts, err = m.Int64ObservableCounter("troupe.supervisor.restarts",
		metric.WithDescription("Restarts of a supervisor's child, over every Run of its supervisor."), metric.WithUnit("{restart}")); err != nil {
		return err
	}
	c.state, err = m.Int64ObservableGauge("troupe.supervisor.child.state",
		metric.WithDescription("1 for the state a supervisor's child is in, 0 for the others."), metric.WithUnit("1"))
	return err
}

// states are the states a child may be in, for the state gauge.
var states = []supervisor.State{
	supervisor.StateIdle, supervisor.StateRunning, supervisor.StateCrashLooping,
	supervisor.StateStopped, supervisor.StateFailed, supervisor.StateAbandoned,
}

// A Treer is a supervisor: anything whose Tree returns the supervision
// tree, as *supervisor.Supervisor's does.
type Treer interface{ Tree() []supervisor.ChildInfo }

// ObserveSupervisor reports each child in the tree of s at each
// collection, read from s.Tree, with the attributes messaging.system
// "troupe" and troupe.child.path the child's path:
// troupe.supervisor.restarts (a monotonic counter: a supervisor keeps its
// children's counts over its own restarts) and
// troupe.supervisor.child.state (a gauge, 1 for the child's state and 0
// for the others, with troupe.child.state the state's name).
func (in *Instrumentation) ObserveSupervisor(s Treer) (metric.Registration, error) {
	c := &in.child
	return in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, ci := range s.Tree() {
			path := AttrChildPath.String(ci.Path)
			o.ObserveInt64(c.restarts, int64(ci.Restarts), metric.WithAttributes(systemAttr, path))
			for _, st := range states {
				v := int64(0)
				if st == ci.State {
					v = 1
				}
				o.ObserveInt64(c.state, v, metric.WithAttributes(systemAttr, path, AttrChildState.String(st.String())))
			}
		}
		return nil
	}, c.restarts, c.state)
}

// SupervisorHook returns a supervisor hook (for supervisor.WithHook) that
// counts give-ups in troupe.supervisor.give_ups, with the attribute
// troupe.supervisor.path, and then calls next, if not nil, with every
// event. One hook may serve a whole tree.
func (in *Instrumentation) SupervisorHook(next func(supervisor.Event)) func(supervisor.Event) {
	return func(e supervisor.Event) {
		if e.Kind == supervisor.GaveUp {
			in.giveUps.Add(context.Background(), 1, metric.WithAttributes(systemAttr, AttrSupervisor.String(e.Path)))
		}
		if next != nil {
			next(e)
		}
	}
}
