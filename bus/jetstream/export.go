package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/troupe-go/troupe/actor"
)

// An Exporter publishes events to JetStream asynchronously, in the order
// they were accepted, from an actor of its own: an [Inbox] encodes an event
// and queues the message, and the exporter's Run publishes it and waits for
// the ack, retrying with backoff. An event JetStream did not acknowledge
// after every attempt, or still queued when the exporter stopped, is reported
// to the dead-letter hook: nothing accepted is dropped silently.
//
// An Exporter is a [supervisor.Runner]. Its queue belongs to it, not to one
// Run: events queued before a restart are published after it. It is safe for
// concurrent use and must not be copied.
//
// [supervisor.Runner]: https://pkg.go.dev/github.com/troupe-go/troupe/supervisor#Runner
type Exporter struct {
	b   *Bridge
	cfg exportConfig
	a   *actor.Actor[*nats.Msg]

	published, failed atomic.Uint64
	// onPublished, set by benchmarks only, is called after each ack.
	onPublished func()
}

// NewExporter returns an exporter named name publishing through b. It
// panics if name is empty or b is nil.
func NewExporter(name string, b *Bridge, opts ...ExportOption) *Exporter {
	if name == "" {
		panic("jetstream: NewExporter: empty name")
	}
	if b == nil {
		panic(fmt.Sprintf("jetstream: NewExporter(%q): nil bridge", name))
	}
	cfg := exportConfig{
		common:   defaultCommon(DefaultExportMailbox),
		attempts: DefaultPublishAttempts,
		timeout:  DefaultPublishTimeout,
	}
	for _, o := range opts {
		o.applyExport(&cfg)
	}
	x := &Exporter{b: b, cfg: cfg}
	x.a = actor.New(name, x.handle,
		actor.WithMailbox(cfg.mailbox),
		actor.WithLogger(b.log),
		actor.WithDrainTimeout(cfg.drainTimeout),
		// handle reports its failures itself, as dead letters.
		actor.WithErrorHook(func(context.Context, string, any, error) {}),
		actor.WithDeadLetterHook(func(dl actor.DeadLetter) {
			reason := dl.Reason
			if reason == actor.ErrStopped || reason == actor.ErrDrainTimeout {
				reason = fmt.Errorf("%w: %w", ErrStopped, reason)
			}
			x.deadLetter(dl.Msg.(*nats.Msg), reason, dl.Attempts)
		}),
	)
	return x
}

// Name returns the name given to [NewExporter].
func (x *Exporter) Name() string { return x.a.Name() }

// Retire reports the events still queued for export as dead letters, when
// the exporter's supervisor will not run it again (it implements
// supervisor.Retirer), instead of leaving them in memory unreported. Run may
// be called again afterwards.
func (x *Exporter) Retire() { x.a.Retire() }

// Run makes sure the stream exists ([Bridge.EnsureStream]) and publishes
// queued events until ctx is done; then it publishes what is queued for up
// to the drain timeout, reports the rest as dead letters and returns nil.
// It returns an error matching [ErrStream] when the stream cannot be made
// ready, leaving the queue for the next Run.
func (x *Exporter) Run(ctx context.Context) error {
	if err := x.b.EnsureStream(ctx); err != nil {
		return err
	}
	return x.a.Run(ctx)
}

// handle publishes one message, retrying with backoff, and reports it as a
// dead letter when the last attempt failed. Only attempts made while the
// connection is up count: while it is down the exporter waits for it,
// however long, so that a broker outage never turns events into dead
// letters. An event given up after an attempt whose ack did not come in
// time may have been stored: its reason also matches [ErrMaybeStored].
func (x *Exporter) handle(ctx context.Context, m *nats.Msg) error {
	var err error
	attempt, waits := 0, 0
	maybeStored := false
	for {
		pctx, cancel := context.WithTimeout(ctx, x.cfg.timeout)
		err = x.b.publish(pctx, m)
		cancel()
		if err == nil {
			x.published.Add(1)
			if x.onPublished != nil {
				x.onPublished()
			}
			return nil
		}
		if x.b.nc.IsConnected() {
			attempt++
			waits = attempt
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				maybeStored = true
			}
			if attempt >= x.cfg.attempts {
				break
			}
			x.b.log.Warn("jetstream publish failed; retrying", "exporter", x.Name(), "subject", m.Subject, "attempt", attempt, "error", err)
		} else {
			waits++
			if waits == 1 || waits%10 == 0 {
				x.b.log.Warn("jetstream publish waits for the connection", "exporter", x.Name(), "subject", m.Subject, "error", err)
			}
		}
		if ctx.Err() != nil {
			break
		}
		t := time.NewTimer(x.cfg.delay(max(waits, 1)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ErrStopped, err)
	}
	if maybeStored {
		err = fmt.Errorf("%w: %w", ErrMaybeStored, err)
	}
	x.failed.Add(1)
	x.deadLetter(m, err, attempt)
	return err
}

func (x *Exporter) deadLetter(m *nats.Msg, reason error, attempts int) {
	dl := DeadLetter{
		Subject:  m.Subject,
		Type:     m.Header.Get(TypeHeader),
		MsgID:    m.Header.Get(MsgIDHeader),
		Data:     m.Data,
		Header:   m.Header,
		Reason:   reason,
		Attempts: attempts,
	}
	report(x.b, x.cfg.onDeadLetter, "exporter", x.Name(), dl)
}

// report hands dl to hook, or logs it.
func report(b *Bridge, hook func(DeadLetter), kind, name string, dl DeadLetter) {
	if hook != nil {
		hook(dl)
		return
	}
	b.log.Error("jetstream dead letter", kind, name, "subject", dl.Subject, "type", dl.Type,
		"msg_id", dl.MsgID, "attempts", dl.Attempts, "reason", dl.Reason, "data", string(dl.Data))
}

// ExportStats is a snapshot of an exporter's counters.
type ExportStats struct {
	// Actor holds the counters of the exporter's actor: queued events,
	// capacity, and so on.
	Actor actor.Stats
	// Published counts events JetStream acknowledged; Failed those given
	// up after the last attempt.
	Published, Failed uint64
}

// Stats returns a snapshot of the exporter's counters.
func (x *Exporter) Stats() ExportStats {
	return ExportStats{Actor: x.a.Stats(), Published: x.published.Load(), Failed: x.failed.Load()}
}

// Inbox is where events of type E enter an [Exporter]: its Send and Offer
// encode the event on the caller's goroutine (so that a later change to a
// pointed-to event does not change what is published, and an encoding error
// is the caller's), give it its Nats-Msg-Id, and queue it for the exporter.
// It satisfies the bus's Inbox interface, so subscribing it to a bus exports
// every event of type E published there: [Export] does that.
//
// An Inbox is safe for concurrent use.
type Inbox[E any] struct {
	x    *Exporter
	r    route
	name string
}

// NewInbox returns the inbox of x for events of type E. It panics if x is
// nil or E has no type name (see [WithTypeName]).
func NewInbox[E any](x *Exporter) *Inbox[E] {
	if x == nil {
		panic("jetstream: NewInbox: nil exporter")
	}
	r := x.b.routeOf("NewInbox", reflect.TypeFor[E]())
	in := &Inbox[E]{x: x, r: r, name: x.Name() + "/" + r.name}
	exportNames.Store(in.name, true) // for the loop check of NewImportToBus
	return in
}

// Name returns "<exporter>/<TypeName>".
func (in *Inbox[E]) Name() string { return in.name }

// Subject returns the subject events of type E are published to.
func (in *Inbox[E]) Subject() string { return in.r.subject }

// Send encodes e and queues it, waiting for room until ctx is done. It
// returns an error matching [ErrEncode] when e cannot be encoded, and the
// exporter actor's errors (actor.ErrMailboxFull with ctx's error,
// actor.ErrStopped) when it was not queued.
func (in *Inbox[E]) Send(ctx context.Context, e E) error {
	m, err := in.x.b.message(in.r, e)
	if err != nil {
		return err
	}
	in.x.b.cfg.inject(ctx, m.Header)
	return in.x.a.Send(ctx, m)
}

// Offer encodes e and queues it if there is room, without waiting, whatever
// ctx, whose values only count. It returns actor.ErrMailboxFull when the
// queue is full.
func (in *Inbox[E]) Offer(ctx context.Context, e E) error {
	m, err := in.x.b.message(in.r, e)
	if err != nil {
		return err
	}
	in.x.b.cfg.inject(ctx, m.Header)
	return in.x.a.TrySend(m)
}
