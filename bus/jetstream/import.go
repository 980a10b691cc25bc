package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/panics"
)

// An Import feeds the events of type E stored in the bridge's stream to a
// handler, through a durable JetStream consumer and an actor.
//
// The consumer is named by the durable name given to [NewImport]: a
// restarted process that uses the same name resumes where the last one left
// off, and several processes using it share the work. Delivery is at least
// once: a message is acked only after the handler returned nil for it, so a
// crash at any point makes JetStream deliver it again, and a handler must be
// idempotent (key its effects by the event's ID).
//
//   - A handler error naks the message with a delay (NakWithDelay, with the
//     backoff of [WithBackoff]; never a bare Nak, which would ignore the
//     backoff and burn the deliveries in microseconds).
//   - A handler panic is recovered by the actor, which ends Run with an
//     actor.PanicError for the supervisor to restart it; the message is
//     naked with a delay like an error.
//   - A message whose handler failed on its last allowed delivery
//     ([WithMaxDeliver]) is terminated and reported as a [DeadLetter]
//     matching [ErrMaxDeliver]; also copied to [WithDeadLetterSubject] if
//     set.
//   - A message that cannot be decoded, or whose [TypeHeader] names another
//     type, is terminated and reported with its raw bytes ([ErrDecode],
//     [ErrUnknownType]) before it reaches the mailbox: it neither crashes
//     nor blocks the import.
//
// Flow control: the import pulls at most one mailbox of messages ahead, and
// the consumer's MaxAckPending defaults to two mailboxes, so a slow handler
// slows the pulls instead of piling up messages whose AckWait runs out. A
// message the handler has held for a third of AckWait is reported
// InProgress to JetStream, so a long handler is not redelivered meanwhile.
//
// An Import is a [supervisor.Runner]. Its mailbox belongs to it, not to one
// Run. It is safe for concurrent use and must not be copied.
//
// [supervisor.Runner]: https://pkg.go.dev/github.com/troupe-go/troupe/supervisor#Runner
type Import[E any] struct {
	b       *Bridge
	durable string
	h       actor.Handler[E]
	cfg     importConfig
	r       route
	a       *actor.Actor[delivery[E]]
	hb      heartbeat
	running atomic.Bool
	target  *bus.Bus // the bus of NewImportToBus, nil for a handler

	acked, naked, terminated, released atomic.Uint64
}

// delivery is one message in the mailbox, with its decoded event.
type delivery[E any] struct {
	msg   jetstream.Msg
	event E
}

// NewImport returns an import of the events of type E from b's stream,
// through the durable consumer named durable, to h. The consumer is created
// or updated when Run starts. It panics if durable is not a valid consumer
// name, b or h is nil, or E has no type name (see [WithTypeName]).
func NewImport[E any](durable string, b *Bridge, h actor.Handler[E], opts ...ImportOption) *Import[E] {
	checkToken("NewImport", "durable", durable)
	if b == nil {
		panic(fmt.Sprintf("jetstream: NewImport(%q): nil bridge", durable))
	}
	if h == nil {
		panic(fmt.Sprintf("jetstream: NewImport(%q): nil handler", durable))
	}
	cfg := importConfig{
		common:     defaultCommon(DefaultImportMailbox),
		maxDeliver: DefaultMaxDeliver,
		ackWait:    DefaultAckWait,
	}
	for _, o := range opts {
		o.applyImport(&cfg)
	}
	if cfg.maxAckPending == 0 {
		cfg.maxAckPending = 2 * cfg.mailbox
	}
	im := &Import[E]{b: b, durable: durable, h: h, cfg: cfg, r: b.routeOf("NewImport", reflect.TypeFor[E]())}
	im.a = actor.New(durable, im.handle,
		actor.WithMailbox(cfg.mailbox),
		actor.WithLogger(b.log),
		actor.WithDrainTimeout(cfg.drainTimeout),
		// handle logs and naks failures itself.
		actor.WithErrorHook(func(context.Context, string, any, error) {}),
		actor.WithDeadLetterHook(im.actorDeadLetter),
	)
	return im
}

// Name returns the durable name given to [NewImport].
func (im *Import[E]) Name() string { return im.durable }

// Subject returns the subject the consumer filters on.
func (im *Import[E]) Subject() string { return im.r.subject }

// Retire gives back the messages the import pulled but did not handle (a
// Run that ended with a handler panic leaves them queued for the next Run),
// so that JetStream redelivers them at once instead of after AckWait, when
// the import's supervisor will not run it again (it implements
// supervisor.Retirer). Run may be called again afterwards.
func (im *Import[E]) Retire() { im.a.Retire() }

// Run creates or updates the durable consumer, then pulls messages into the
// mailbox and handles them until ctx is done or the handler panics.
//
// When ctx is done it stops in order: no more pulls; the messages already
// pulled go to the mailbox while there is room (the rest are naked for
// another consumer); the mailbox is handled for up to the drain timeout and
// what is left is naked too; then Run returns nil. It never closes the
// connection. When the handler panics, Run stops the same way but leaves
// the mailbox for the next Run and returns the actor.PanicError. It returns
// an error matching [ErrStream] or [ErrConsumer] when the stream or
// consumer cannot be made ready, or when the consumer ends under it (the
// connection closed, the consumer deleted); an import made by
// [NewImportToBus] returns an error matching [ErrLoop] when its bus exports
// its events.
func (im *Import[E]) Run(ctx context.Context) error {
	if !im.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: import %s", ErrAlreadyRunning, im.durable)
	}
	defer im.running.Store(false)
	if err := im.checkLoop(); err != nil {
		return err
	}
	cons, err := im.consumer(ctx)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(im.cfg.mailbox), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConsumer, im.durable, err)
	}

	// The actor outlives ctx by its drain; the pulls stop with ctx; a
	// blocked Next is abandoned only if the drain of the iterator hangs.
	actx, stopActor := context.WithCancel(context.WithoutCancel(ctx))
	defer stopActor()
	pctx, stopPull := context.WithCancel(ctx)
	defer stopPull()
	nctx, stopNext := context.WithCancel(context.Background())
	defer stopNext()

	var wg sync.WaitGroup
	actorDone := make(chan error, 1)
	pullDone := make(chan error, 1)
	hbStop := make(chan struct{})
	wg.Go(func() { actorDone <- im.a.Run(actx) })
	wg.Go(func() { pullDone <- im.pull(pctx, nctx, it) })
	wg.Go(func() { im.heartbeat(hbStop) })

	select {
	case <-ctx.Done():
	case err = <-actorDone:
		actorDone = nil
	case err = <-pullDone:
		pullDone = nil
	}

	// Stop pulling; what the iterator holds is still dispatched.
	it.Drain()
	stopPull()
	if pullDone != nil {
		t := time.NewTimer(im.cfg.drainTimeout)
		select {
		case perr := <-pullDone:
			err = cmp(err, perr)
		case <-t.C:
			stopNext()
			err = cmp(err, <-pullDone)
		}
		t.Stop()
	}
	// Let the mailbox finish.
	if actorDone != nil {
		stopActor()
		err = cmp(err, <-actorDone)
	}
	close(hbStop)
	wg.Wait()
	return err
}

// cmp returns the first error that is not nil.
func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// pull moves messages from the iterator to the mailbox until the iterator
// ends. An end that Run did not ask for is an error.
func (im *Import[E]) pull(pctx, nctx context.Context, it jetstream.MessagesContext) error {
	next := jetstream.NextContext(nctx)
	for {
		msg, err := it.Next(next)
		switch {
		case err == nil:
			im.dispatch(pctx, msg)
		case pctx.Err() != nil:
			return nil
		case errors.Is(err, jetstream.ErrNoHeartbeat):
			// The iterator has started over with a new pull request.
			im.b.log.Warn("jetstream import missed the server's heartbeats; pulling again", "import", im.durable)
		default:
			return fmt.Errorf("%w: %s: %w", ErrConsumer, im.durable, err)
		}
	}
}

// pullHeartbeat is how often the server tells a waiting pull request that
// it is still there. The iterator sends a new request only when Next finds
// too few messages asked for; if that check comes while its previous
// request is still being sent, it is skipped, and no request is left on the
// server until two heartbeats are missed and the iterator starts over (Next
// returns ErrNoHeartbeat, and pull goes on). The default heartbeat, 15 s,
// stalled an import for 30 s that way.
const pullHeartbeat = time.Second

// dispatch decodes msg and queues it, waiting for room until ctx is done.
func (im *Import[E]) dispatch(ctx context.Context, msg jetstream.Msg) {
	ev, err := im.decode(msg)
	if err != nil {
		im.terminate(msg, nil, err)
		return
	}
	if err := im.a.Send(ctx, delivery[E]{msg: msg, event: ev}); err != nil {
		im.release(msg)
	}
}

// decode returns the event in msg. A codec panic is an error too.
func (im *Import[E]) decode(msg jetstream.Msg) (ev E, err error) {
	if t := msg.Headers().Get(TypeHeader); t != "" && t != im.r.name {
		return ev, fmt.Errorf("%w: %q, want %q", ErrUnknownType, t, im.r.name)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w as %s: %w", ErrDecode, im.r.name, panics.New(v, 0))
		}
	}()
	if err := im.b.cfg.codec.Decode(msg.Data(), &ev); err != nil {
		return ev, fmt.Errorf("%w as %s: %w", ErrDecode, im.r.name, err)
	}
	return ev, nil
}

// handle runs the handler on one message and settles it.
func (im *Import[E]) handle(ctx context.Context, d delivery[E]) error {
	im.hb.begin(d.msg)
	err := im.h(ctx, d.event)
	im.hb.end()
	if err == nil {
		im.acked.Add(1)
		if aerr := d.msg.Ack(); aerr != nil {
			// JetStream will deliver it again: at least once.
			im.b.log.Warn("jetstream ack failed", "import", im.durable, "subject", d.msg.Subject(), "error", aerr)
		}
		return nil
	}
	if im.givesBack(err) {
		im.release(d.msg)
		return err
	}
	im.failed(d.msg, d.event, err)
	return err
}

// actorDeadLetter settles a message the actor gave up: the handler panicked
// on it, or the import stopped before handling it.
func (im *Import[E]) actorDeadLetter(dl actor.DeadLetter) {
	d := dl.Msg.(delivery[E])
	if errors.Is(dl.Reason, actor.ErrPanicked) {
		im.hb.end()
		im.failed(d.msg, d.event, dl.Reason)
		return
	}
	im.release(d.msg)
}

// failed naks msg for a redelivery after a backoff, or terminates it after
// its last allowed delivery.
func (im *Import[E]) failed(msg jetstream.Msg, ev E, cause error) {
	n := deliveries(msg)
	if n >= im.cfg.maxDeliver {
		im.terminate(msg, ev, fmt.Errorf("%w (%d): %w", ErrMaxDeliver, n, cause))
		return
	}
	delay := im.cfg.delay(n)
	im.naked.Add(1)
	im.b.log.Warn("jetstream import handler failed; redelivering", "import", im.durable,
		"subject", msg.Subject(), "deliveries", n, "delay", delay, "error", firstLine(cause))
	if err := msg.NakWithDelay(delay); err != nil {
		im.b.log.Warn("jetstream nak failed", "import", im.durable, "error", err)
	}
}

// release gives msg back unhandled for a later delivery.
func (im *Import[E]) release(msg jetstream.Msg) {
	im.released.Add(1)
	if err := msg.NakWithDelay(im.cfg.backoffMin); err != nil {
		im.b.log.Warn("jetstream nak failed", "import", im.durable, "error", err)
	}
}

// terminate stops the redelivery of msg, copies it to the dead-letter
// subject if there is one, and reports it.
func (im *Import[E]) terminate(msg jetstream.Msg, ev any, reason error) {
	dl := DeadLetter{
		Subject:  msg.Subject(),
		Type:     msg.Headers().Get(TypeHeader),
		MsgID:    msg.Headers().Get(MsgIDHeader),
		Data:     msg.Data(),
		Header:   msg.Headers(),
		Event:    ev,
		Reason:   reason,
		Attempts: 1,
	}
	if meta, err := msg.Metadata(); err == nil {
		dl.Attempts = int(meta.NumDelivered)
		dl.Stream, dl.Sequence = meta.Stream, meta.Sequence.Stream
	}
	if im.cfg.deadSubject != "" {
		im.publishDead(dl)
	}
	im.terminated.Add(1)
	if err := msg.TermWithReason(firstLine(reason)); err != nil {
		im.b.log.Warn("jetstream term failed", "import", im.durable, "error", err)
	}
	report(im.b, im.cfg.onDeadLetter, "import", im.durable, dl)
}

// publishDead copies a dead letter to the dead-letter subject. Its
// Nats-Msg-Id is derived from the original's, so a copy made again after a
// crash is dropped by JetStream.
func (im *Import[E]) publishDead(dl DeadLetter) {
	h := nats.Header{}
	for k, v := range dl.Header {
		h[k] = append([]string(nil), v...)
	}
	h.Set(ReasonHeader, firstLine(dl.Reason))
	h.Set("Troupe-Dead-Subject", dl.Subject)
	if dl.MsgID != "" {
		h.Set(MsgIDHeader, dl.MsgID+".dead")
	} else {
		h.Del(MsgIDHeader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultPublishTimeout)
	defer cancel()
	m := &nats.Msg{Subject: im.cfg.deadSubject, Data: dl.Data, Header: h}
	if err := im.b.publish(ctx, m); err != nil {
		im.b.log.Error("jetstream dead-letter copy failed", "import", im.durable, "subject", im.cfg.deadSubject, "error", err)
	}
}

// deliveries returns how many times msg has been delivered.
func deliveries(msg jetstream.Msg) int {
	meta, err := msg.Metadata()
	if err != nil {
		return 1
	}
	return int(meta.NumDelivered)
}

// firstLine returns the first line of err's text, at most 256 bytes: a
// panic's stack does not belong in a header.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}

// ImportStats is a snapshot of an import's counters.
type ImportStats struct {
	// Actor holds the counters of the import's actor: queued messages,
	// capacity, handled, failed, panics.
	Actor actor.Stats
	// Acked counts messages acked after their handler returned nil; Naked
	// those given back for a redelivery after a failure; Terminated those
	// given up as dead letters; Released those given back unhandled at
	// shutdown.
	Acked, Naked, Terminated, Released uint64
}

// Stats returns a snapshot of the import's counters.
func (im *Import[E]) Stats() ImportStats {
	return ImportStats{
		Actor:      im.a.Stats(),
		Acked:      im.acked.Load(),
		Naked:      im.naked.Load(),
		Terminated: im.terminated.Load(),
		Released:   im.released.Load(),
	}
}
