package troupeotel_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
	"github.com/troupe-go/troupe/troupeotel"
)

type Placed struct{ ID int }

var (
	system    = troupeotel.AttrSystem.String("troupe")
	sendAttrs = []attribute.KeyValue{system, troupeotel.AttrOperationType.String("send"), troupeotel.AttrOperationName.String("send"), troupeotel.AttrDestination.String("troupeotel_test.Placed")}
	processOf = func(name string) []attribute.KeyValue {
		return []attribute.KeyValue{system, troupeotel.AttrOperationType.String("process"), troupeotel.AttrOperationName.String("process"), troupeotel.AttrDestination.String(name)}
	}
	errTestType = troupeotel.AttrErrorType.String("*errors.errorString")
)

// A publish makes a producer span in the publisher, and the handling of
// the event a consumer span that is its child, linked to it, with the
// messaging attributes; a handler error sets the process span's status
// and error.type.
func TestPublishAndProcessSpans(t *testing.T) {
	in, _, sr := setup(t)
	b := bus.New(in.BusOptions()...)
	a := actor.New("billing", func(_ context.Context, p Placed) error {
		if p.ID == 2 {
			return errors.New("card declined")
		}
		return nil
	}, append(in.ActorOptions(), actor.WithErrorHook(func(context.Context, string, any, error) {}))...)
	if _, err := bus.Subscribe(b, bus.Inbox[Placed](a)); err != nil {
		t.Fatal(err)
	}
	run(t, a)
	for id := 1; id <= 2; id++ {
		if err := bus.Publish(t.Context(), b, Placed{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both handled", func() bool { s := a.Stats(); return s.Handled+s.Failed == 2 })

	spans := sr.Ended()
	var sends, processes []sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch s.SpanKind() {
		case trace.SpanKindProducer:
			sends = append(sends, s)
		case trace.SpanKindConsumer:
			processes = append(processes, s)
		}
	}
	if len(sends) != 2 || len(processes) != 2 || len(spans) != 4 {
		t.Fatalf("got %d spans (%d send, %d process); want 2 and 2", len(spans), len(sends), len(processes))
	}
	for i := range 2 {
		send, proc := sends[i], processes[i]
		if send.Name() != "send troupeotel_test.Placed" || proc.Name() != "process billing" {
			t.Errorf("span names %q, %q; want send troupeotel_test.Placed, process billing", send.Name(), proc.Name())
		}
		if !sameAttrs(send.Attributes(), sendAttrs) {
			t.Errorf("send attributes %v; want %v", send.Attributes(), sendAttrs)
		}
		if proc.Parent().SpanID() != send.SpanContext().SpanID() || proc.SpanContext().TraceID() != send.SpanContext().TraceID() {
			t.Errorf("process span %d: parent %v; want the send span %v", i, proc.Parent(), send.SpanContext())
		}
		if !proc.Parent().IsRemote() {
			t.Errorf("process span %d: parent is not remote", i)
		}
		if l := proc.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != send.SpanContext().SpanID() {
			t.Errorf("process span %d: links %v; want one to the send span", i, l)
		}
		want := processOf("billing")
		if i == 1 {
			want = append(want, errTestType)
		}
		if !sameAttrs(proc.Attributes(), want) {
			t.Errorf("process span %d attributes %v; want %v", i, proc.Attributes(), want)
		}
	}
	if st := processes[0].Status(); st.Code != codes.Unset {
		t.Errorf("process span 0 status %v; want unset", st)
	}
	if st := processes[1].Status(); st.Code != codes.Error || st.Description != "card declined" {
		t.Errorf("process span 1 status %v; want error card declined", st)
	}
}

// A message sent from a handler, with its context, is handled in a child
// of that handler's process span; a message sent without a span is
// handled in a root span, even when the actor's Run context holds one.
func TestProcessSpanChainsThroughSends(t *testing.T) {
	in, _, sr := setup(t)
	ship := actor.New("ship", func(context.Context, int) error { return nil }, in.ActorOptions()...)
	bill := actor.New("bill", func(ctx context.Context, id int) error { return ship.Send(ctx, id) }, in.ActorOptions()...)
	run(t, ship)
	// bill runs with a context holding a span: its messages must not be
	// made children of it.
	runCtx, runSpan := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "run")
	defer runSpan.End()
	stopped := make(chan error, 1)
	runCtx, cancel := context.WithCancel(runCtx)
	go func() { stopped <- bill.Run(runCtx) }()
	defer func() { cancel(); <-stopped }()

	if err := bill.Send(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	// ship may handle the message, and count it, before bill's handler has
	// returned from the Send that woke ship and ended its span: both spans
	// have ended once both actors have counted their message.
	waitFor(t, "bill and ship handled", func() bool { return bill.Stats().Handled == 1 && ship.Stats().Handled == 1 })
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("got %d spans; want 2", len(spans))
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	billSpan, shipSpan := byName["process bill"], byName["process ship"]
	if billSpan == nil || shipSpan == nil {
		t.Fatalf("got spans %v; want process bill and process ship", byName)
	}
	if billSpan.Parent().IsValid() || len(billSpan.Links()) != 0 {
		t.Errorf("process bill: parent %v, links %v; want a root span without links", billSpan.Parent(), billSpan.Links())
	}
	if shipSpan.Parent().SpanID() != billSpan.SpanContext().SpanID() {
		t.Errorf("process ship: parent %v; want process bill %v", shipSpan.Parent(), billSpan.SpanContext())
	}
}

// The handling duration histogram counts each message, with error.type on
// failures; the sent counter each publish; the observable instruments
// report the actor's and the subscription's stats exactly.
func TestActorAndBusMetrics(t *testing.T) {
	in, reader, _ := setup(t)
	b := bus.New(append(in.BusOptions(), bus.WithLogger(discard))...)
	a := actor.New("billing", func(_ context.Context, p Placed) error {
		if p.ID%3 == 0 {
			return errors.New("declined")
		}
		return nil
	}, append(in.ActorOptions(), actor.WithMailbox(4), actor.WithErrorHook(func(context.Context, string, any, error) {}))...)
	if _, err := bus.Subscribe(b, bus.Inbox[Placed](a), bus.WithPolicy(bus.DropNewest), bus.WithName("billing-sub")); err != nil {
		t.Fatal(err)
	}
	regA, err := in.ObserveActors(a)
	if err != nil {
		t.Fatal(err)
	}
	defer regA.Unregister()
	regB, err := in.ObserveBus(b)
	if err != nil {
		t.Fatal(err)
	}
	defer regB.Unregister()

	// The actor is not running yet: 4 fill its mailbox, 2 are dropped.
	for id := 1; id <= 6; id++ {
		if err := bus.Publish(t.Context(), b, Placed{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	m := collect(t, reader)
	dest := troupeotel.AttrDestination.String("billing")
	if v, _ := point(m["troupe.actor.mailbox.depth"], system, dest); v != 4 {
		t.Errorf("mailbox depth %d; want 4", v)
	}
	if v, _ := point(m["troupe.actor.mailbox.capacity"], system, dest); v != 4 {
		t.Errorf("mailbox capacity %d; want 4", v)
	}
	run(t, a)
	waitFor(t, "4 handled", func() bool { s := a.Stats(); return s.Handled+s.Failed == 4 })
	m = collect(t, reader)
	for name, want := range map[string]int64{
		"troupe.actor.handled": 3, "troupe.actor.failed": 1, "troupe.actor.panics": 0,
		"troupe.actor.mailbox.depth": 0,
	} {
		if v, ok := point(m[name], system, dest); !ok || v != want {
			t.Errorf("%s = %d (found %v); want %d", name, v, ok, want)
		}
	}
	for reason, want := range map[string]int64{"panicked": 0, "drain_timeout": 0, "stopped": 0} {
		if v, ok := point(m["troupe.actor.dead_letters"], system, dest, troupeotel.AttrDeadLetterReason.String(reason)); !ok || v != want {
			t.Errorf("troupe.actor.dead_letters reason %s = %d (found %v); want %d", reason, v, ok, want)
		}
	}
	proc := processOf("billing")
	if n, _ := histCount(m["messaging.process.duration"], proc...); n != 3 {
		t.Errorf("messaging.process.duration count %d; want 3", n)
	}
	if n, _ := histCount(m["messaging.process.duration"], append(proc, troupeotel.AttrErrorType.String("*errors.errorString"))...); n != 1 {
		t.Errorf("messaging.process.duration count with error.type %d; want 1", n)
	}
	if v, _ := point(m["messaging.client.sent.messages"], sendAttrs...); v != 6 {
		t.Errorf("messaging.client.sent.messages %d; want 6", v)
	}
	sub := []attribute.KeyValue{system, troupeotel.AttrDestination.String("troupeotel_test.Placed"), troupeotel.AttrConsumerGroup.String("billing-sub")}
	if v, _ := point(m["messaging.client.consumed.messages"], sub...); v != 4 {
		t.Errorf("messaging.client.consumed.messages %d; want 4", v)
	}
	for reason, want := range map[string]int64{"newest": 2, "oldest": 0, "timeout": 0, "canceled": 0, "rejected": 0} {
		if v, ok := point(m["troupe.bus.dropped"], append(sub, troupeotel.AttrDropReason.String(reason))...); !ok || v != want {
			t.Errorf("troupe.bus.dropped reason %s = %d (found %v); want %d", reason, v, ok, want)
		}
	}
}

// Pools are observed as actors, summed over their workers.
func TestPoolMetrics(t *testing.T) {
	in, reader, _ := setup(t)
	p := actor.NewPool("resize", 3, func(context.Context, int) error { return nil }, actor.WithMailbox(8))
	reg, err := in.ObservePools(p)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	for i := range 5 {
		if err := p.TrySend(i); err != nil {
			t.Fatal(err)
		}
	}
	run(t, p)
	waitFor(t, "5 handled", func() bool { return p.Stats().Handled == 5 })
	m := collect(t, reader)
	dest := troupeotel.AttrDestination.String("resize")
	if v, _ := point(m["troupe.actor.handled"], system, dest); v != 5 {
		t.Errorf("troupe.actor.handled %d; want 5", v)
	}
	if v, _ := point(m["troupe.actor.mailbox.capacity"], system, dest); v != 8 {
		t.Errorf("troupe.actor.mailbox.capacity %d; want 8", v)
	}
}

// A supervisor's children report their restarts as a counter and their
// state; the hook counts give-ups.
func TestSupervisorMetrics(t *testing.T) {
	in, reader, _ := setup(t)
	var events []supervisor.EventKind
	root := supervisor.New("root",
		supervisor.WithIntensity(2, time.Hour),
		supervisor.WithBackoff(0, 0),
		supervisor.WithLogger(discard),
		supervisor.WithHook(in.SupervisorHook(func(e supervisor.Event) { events = append(events, e.Kind) })))
	if err := root.Add("flaky", supervisor.RunnerFunc(func(context.Context) error { return errors.New("boom") })); err != nil {
		t.Fatal(err)
	}
	reg, err := in.ObserveSupervisor(root)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	if err := root.Run(context.Background()); !errors.Is(err, supervisor.ErrTooManyRestarts) {
		t.Fatalf("Run: got %v; want ErrTooManyRestarts", err)
	}
	tree := root.Tree()
	if len(tree) != 1 || tree[0].Restarts != 2 {
		t.Fatalf("tree %+v; want one child restarted twice", tree)
	}
	m := collect(t, reader)
	path := troupeotel.AttrChildPath.String("root/flaky")
	if v, _ := point(m["troupe.supervisor.restarts"], system, path); v != 2 {
		t.Errorf("troupe.supervisor.restarts %d; want 2", v)
	}
	for _, st := range []supervisor.State{supervisor.StateIdle, supervisor.StateRunning, supervisor.StateCrashLooping,
		supervisor.StateStopped, supervisor.StateFailed, supervisor.StateAbandoned} {
		want := int64(0)
		if st == tree[0].State {
			want = 1
		}
		if v, ok := point(m["troupe.supervisor.child.state"], system, path, troupeotel.AttrChildState.String(st.String())); !ok || v != want {
			t.Errorf("troupe.supervisor.child.state %v = %d (found %v); want %d", st, v, ok, want)
		}
	}
	if v, _ := point(m["troupe.supervisor.give_ups"], system, troupeotel.AttrSupervisor.String("root")); v != 1 {
		t.Errorf("troupe.supervisor.give_ups %d; want 1", v)
	}
	if !slices.Contains(events, supervisor.GaveUp) {
		t.Errorf("the next hook got %v; want GaveUp among them", events)
	}
}

func sameAttrs(a, b []attribute.KeyValue) bool {
	sa, sb := attribute.NewSet(a...), attribute.NewSet(b...)
	return sa.Equals(&sb) && len(a) == len(b)
}

// Dead letters are reported by reason, with the panics.
func TestDeadLetterMetrics(t *testing.T) {
	in, reader, _ := setup(t)
	a := actor.New("poisoned", func(_ context.Context, m int) error {
		if m == 1 {
			panic("poison")
		}
		return nil
	}, actor.WithLogger(discard))
	reg, err := in.ObserveActors(a)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	_ = a.TrySend(1)
	_ = a.TrySend(2)
	if err := a.Run(context.Background()); err == nil {
		t.Fatal("Run: got nil; want the panic")
	}
	a.Retire()
	m := collect(t, reader)
	dest := troupeotel.AttrDestination.String("poisoned")
	for reason, want := range map[string]int64{"panicked": 1, "drain_timeout": 0, "stopped": 1} {
		if v, ok := point(m["troupe.actor.dead_letters"], system, dest, troupeotel.AttrDeadLetterReason.String(reason)); !ok || v != want {
			t.Errorf("troupe.actor.dead_letters reason %s = %d (found %v); want %d", reason, v, ok, want)
		}
	}
	if v, _ := point(m["troupe.actor.panics"], system, dest); v != 1 {
		t.Errorf("troupe.actor.panics %d; want 1", v)
	}
}

// Keyed actors report their live keys, the keys created, passivated and
// removed, the restarts and the dead letters over all keys.
func TestKeyedMetrics(t *testing.T) {
	in, reader, _ := setup(t)
	kd := actor.NewKeyed("orders", func(int) actor.Handler[int] {
		return func(_ context.Context, n int) error {
			if n < 0 {
				panic("bad order")
			}
			return nil
		}
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {}),
		actor.WithKeyRestarts(0, time.Hour))
	reg, err := in.ObserveKeyed(kd)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	run(t, kd)
	for key := range 3 {
		if err := kd.TrySend(key, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := kd.TrySend(7, -1); err != nil { // panics: key 7 is removed, its message dead-lettered
		t.Fatal(err)
	}
	waitFor(t, "key 7 removed", func() bool { return kd.Stats().Removed == 1 })
	m := collect(t, reader)
	dest := troupeotel.AttrDestination.String("orders")
	for name, want := range map[string]int64{
		"troupe.keyed.keys": 3, "troupe.keyed.created": 4, "troupe.keyed.passivated": 0,
		"troupe.keyed.removed": 1, "troupe.keyed.restarts": 1,
	} {
		if v, ok := point(m[name], system, dest); !ok || v != want {
			t.Errorf("%s = %d (found %v); want %d", name, v, ok, want)
		}
	}
	for reason, want := range map[string]int64{"panicked": 1, "drain_timeout": 0, "stopped": 0} {
		if v, ok := point(m["troupe.actor.dead_letters"], system, dest, troupeotel.AttrDeadLetterReason.String(reason)); !ok || v != want {
			t.Errorf("troupe.actor.dead_letters reason %s = %d (found %v); want %d", reason, v, ok, want)
		}
	}
}

// A pool and keyed actors instrumented with PoolOptions and KeyedOptions
// handle each message in a process span named after them, a child of the
// sender's span.
func TestPoolAndKeyedOptionsTrace(t *testing.T) {
	in, _, sr := setup(t)
	pool := actor.NewPool("pack", 2, func(context.Context, int) error { return nil }, in.PoolOptions()...)
	keyed := actor.NewKeyed("cart", func(string) actor.Handler[int] {
		return func(context.Context, int) error { return nil }
	}, in.KeyedOptions()...)
	run(t, pool)
	run(t, keyed)

	ctx, sender := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "send")
	defer sender.End()
	if err := pool.Send(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := keyed.Send(ctx, "ada", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both handled", func() bool { return len(sr.Ended()) == 2 })
	names := map[string]bool{}
	for _, s := range sr.Ended() {
		names[s.Name()] = true
		if s.Parent().SpanID() != sender.SpanContext().SpanID() {
			t.Errorf("%s: parent %v; want the sender's span %v", s.Name(), s.Parent(), sender.SpanContext())
		}
	}
	if !names["process pack"] || !names["process cart"] {
		t.Errorf("spans %v; want process pack and process cart", names)
	}
}
