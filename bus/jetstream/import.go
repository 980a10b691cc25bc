package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// An Import feeds the events of type E stored in the bridge's stream to a
// handler, through a durable JetStream consumer and an actor.
//
// The consumer is named by the durable name given to [NewImport]: a
// restarted process that uses the same name resumes where the last one left
// off, and several processes using it share the work. Delivery is at least
// once: a message is acked only after the handler returned nil for it, so a
// crash at any point makes JetStream deliver it again, and a handler must be
// idempotent (key its effects by the event's ID, in a store the processes
// share when there are several).
//
// # Failures
//
// A handler that returns an error or panics has failed on the message: a
// panic is recovered with its stack (the error matches [ErrPanicked]) and
// never ends Run. By default the import keeps the order of its messages
// through failures: it calls the handler again on the same message after a
// backoff ([WithBackoff]) before it hands the next message to the handler,
// so a retry never overtakes a later message; the messages behind it wait,
// reported in progress to JetStream. [WithUnordered] trades that order for
// throughput: a failed message is naked with the backoff as its delay
// (never a bare Nak, which would burn the deliveries in microseconds), and
// the handler goes on with the next messages meanwhile.
//
// [WithMaxDeliver] bounds the handler attempts of a message (a failure
// while the connection to the broker is down does not count: the import
// waits for the connection and tries again): after the last failed one it
// is terminated and reported as a [DeadLetter] matching
// [ErrMaxDeliver], also copied to [WithDeadLetterSubject] if set. Only
// handler attempts count, not the deliveries of a message given back
// unhandled (at shutdown) or delivered again after AckWait; the count is
// kept by the process that holds the message, so a message whose process
// died starts its count again in the next one. A message that cannot be
// decoded, or whose [TypeHeader] names another type, is terminated and
// reported with its raw bytes ([ErrDecode], [ErrUnknownType]) before it
// reaches the handler.
//
// # Flow control
//
// The import pulls only as many messages as its mailbox has room for, and
// reports every message it holds (in the mailbox or in the handler) in
// progress to JetStream every third of AckWait: a slow handler slows the
// pulls, and a message waiting behind it is never delivered to another
// process meanwhile. AckWait ([WithAckWait]) then only bounds how long the
// messages of a process that died (or stopped answering) wait before
// JetStream delivers them to another.
//
// # Broker faults
//
// Run waits for the broker: when the stream or the consumer cannot be made
// ready, or a pull fails (the connection is down, the server lost its
// store, someone deleted the consumer), it logs the fault, waits with
// backoff, and makes the stream and the consumer again before it pulls
// again. A fault does not end Run.
//
// An Import is a [supervisor.Runner]. It is safe for concurrent use and
// must not be copied.
//
// [supervisor.Runner]: https://pkg.go.dev/github.com/troupe-go/troupe/supervisor#Runner
type Import[E any] struct {
	b       *Bridge
	durable string
	h       actor.Handler[E]
	cfg     importConfig
	r       route
	a       *actor.Actor[delivery[E]]
	held    held
	fails   failures
	running atomic.Bool
	mu      sync.Mutex    // orders dispatch and the closing of stop
	stop    chan struct{} // closed when the context of Run ends
	target  *bus.Bus      // the bus of NewImportToBus, nil for a handler

	acked, failed, panics, retried, naked, terminated, released atomic.Uint64
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
		cfg.maxAckPending = ackPendingImports * cfg.mailbox
	}
	im := &Import[E]{b: b, durable: durable, h: h, cfg: cfg, r: b.routeOf("NewImport", reflect.TypeFor[E]()), held: newHeld()}
	// A count not seen for longer than a message's slowest redelivery is
	// of a message that went to another process.
	im.fails.maxAge = 2 * (cfg.backoffMax + cfg.ackWait)
	im.a = actor.New(durable, im.handle,
		actor.WithMailbox(cfg.mailbox),
		actor.WithLogger(b.log),
		actor.WithDrainTimeout(cfg.drainTimeout),
		// handle settles and reports every message itself.
		actor.WithErrorHook(func(context.Context, string, any, error) {}),
		// A message still queued when the drain ended stays held: Run
		// gives it back when it ends.
		actor.WithDeadLetterHook(func(actor.DeadLetter) {}),
	)
	return im
}

// ackPendingImports is how many imports sharing one durable consumer its
// default MaxAckPending leaves room for, each holding a mailbox.
const ackPendingImports = 16

// Name returns the durable name given to [NewImport].
func (im *Import[E]) Name() string { return im.durable }

// Subject returns the subject the consumer filters on.
func (im *Import[E]) Subject() string { return im.r.subject }

// Run creates or updates the durable consumer (waiting for the broker, see
// Broker faults above), then pulls messages into the mailbox and handles
// them until ctx is done.
//
// When ctx is done it stops in order: nothing more is queued (what the
// pull in flight brings, within a second, is given back at the end); a
// message waiting for its next attempt is given back; the mailbox is
// handled for up to the drain timeout and what is left is given back
// (naked for another process); then Run returns nil. It never closes the
// connection. It returns an error matching [ErrStream] when the bridge requires an
// existing stream ([WithExistingStream]) that is missing, and an import
// made by [NewImportToBus] returns an error matching [ErrLoop] when its bus
// exports its events.
func (im *Import[E]) Run(ctx context.Context) error {
	if !im.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: import %s", ErrAlreadyRunning, im.durable)
	}
	defer im.running.Store(false)
	if err := im.checkLoop(); err != nil {
		return err
	}
	cons, err := im.ready(ctx, 0)
	if err != nil || cons == nil {
		return err
	}

	// The actor outlives ctx by its drain; the pull in flight when ctx
	// ends may still bring messages, given back at the end.
	actx, stopActor := context.WithCancel(context.WithoutCancel(ctx))
	defer stopActor()
	pctx, stopPull := context.WithCancel(ctx)
	defer stopPull()
	im.stop = make(chan struct{})
	tick := make(chan struct{})
	var wg sync.WaitGroup
	actorDone := make(chan error, 1)
	pullDone := make(chan struct{})
	wg.Go(func() { actorDone <- im.a.Run(actx) })
	wg.Go(func() { im.inProgress(tick) })
	wg.Go(func() { im.pull(pctx, cons); close(pullDone) })

	select {
	case <-ctx.Done():
	case err = <-actorDone: // not expected: handle recovers every panic
		actorDone = nil
	}
	stopPull()
	im.mu.Lock() // no dispatch queues a message after this
	close(im.stop)
	im.mu.Unlock()
	stopActor()
	if actorDone != nil {
		err = <-actorDone
	}
	<-pullDone
	close(tick)
	wg.Wait()
	// What the mailbox still held, what a retry was waiting with, what
	// the last pull brought: given back, once each.
	for _, m := range im.held.all() {
		im.release(m)
	}
	return err
}

// fetchWait bounds one pull request: how long a stopping import waits for
// the pull in flight, and how soon a silent broker is noticed.
const fetchWait = time.Second

// pull moves messages from the consumer to the mailbox, as many as it has
// room for, until ctx is done. A failed pull is a broker fault: pull logs
// it, waits with backoff and makes the stream and consumer ready again. A
// pull request to a consumer the server lost is not answered at all, so
// after a reconnection, and every few idle pulls, pull asks the server
// whether the consumer is still there.
func (im *Import[E]) pull(ctx context.Context, cons jetstream.Consumer) {
	idle := 0
	reconnects := im.b.nc.Stats().Reconnects
	for ctx.Err() == nil {
		n := im.cfg.mailbox - im.held.len()
		if n <= 0 {
			select {
			case <-im.held.room:
			case <-ctx.Done():
			}
			continue
		}
		got := 0
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(fetchWait))
		if err == nil {
			for msg := range batch.Messages() {
				got++
				im.dispatch(msg)
			}
			err = batch.Error()
		}
		if err == nil || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			if got > 0 {
				idle = 0
				continue
			}
			idle++
			r := im.b.nc.Stats().Reconnects
			if idle%checkAfterIdle != 0 && r == reconnects {
				continue
			}
			reconnects = r
			ictx, cancel := context.WithTimeout(ctx, fetchWait)
			_, err = cons.Info(ictx)
			cancel()
			if err == nil || ctx.Err() != nil {
				continue
			}
		}
		im.b.log.Warn("jetstream import cannot pull; making the consumer ready again", "import", im.durable, "error", err)
		im.b.streamLost()
		c, err := im.ready(ctx, 1)
		if c != nil && err == nil {
			cons = c
			im.b.log.Info("jetstream import pulls again", "import", im.durable)
		}
	}
}

// checkAfterIdle is how many pulls in a row that brought nothing make the
// import check that its consumer still exists.
const checkAfterIdle = 5

// ready makes the stream and the consumer ready, retrying with backoff
// while the broker is faulty, and logging it. It returns nil, nil when ctx
// ends first, and an error only for a missing stream the bridge must not
// create. failures is how many faults came before.
func (im *Import[E]) ready(ctx context.Context, failures int) (jetstream.Consumer, error) {
	for {
		if failures > 0 {
			t := time.NewTimer(im.cfg.delay(failures))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, nil
			}
		}
		cons, err := im.consumer(ctx)
		if err == nil || ctx.Err() != nil {
			return cons, nil
		}
		if im.b.cfg.existing && errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, err
		}
		failures++
		im.b.log.Warn("jetstream import waits for the broker", "import", im.durable, "attempt", failures, "error", err)
	}
}

// dispatch decodes msg and queues it: pull made room for it.
func (im *Import[E]) dispatch(msg jetstream.Msg) {
	im.held.add(msg)
	ev, err := im.decode(msg)
	if err != nil {
		im.terminate(msg, nil, err, 0)
		return
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	select {
	case <-im.stop:
		// Pulled as the import stopped: held, and given back when the
		// pull in flight ended (given back now, the same pull could
		// bring it again).
		return
	default:
	}
	if err := im.a.TrySend(delivery[E]{msg: msg, event: ev}); err != nil {
		im.b.log.Warn("jetstream import could not queue a message; giving it back", "import", im.durable, "error", err)
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
			err = fmt.Errorf("%w as %s: codec panicked: %v", ErrDecode, im.r.name, v)
		}
	}()
	if err := im.b.cfg.codec.Decode(msg.Data(), &ev); err != nil {
		return ev, fmt.Errorf("%w as %s: %w", ErrDecode, im.r.name, err)
	}
	return ev, nil
}

// handle runs the handler on one message until it succeeds, the message
// is given up, or (unordered) naked for a later attempt, and settles it.
// It reports everything itself and returns nil to the actor.
func (im *Import[E]) handle(ctx context.Context, d delivery[E]) error {
	seq := sequence(d.msg)
	hctx := im.b.cfg.extract(ctx, d.msg.Headers())
	for attempt := 1; ; attempt++ {
		err := im.call(hctx, d.event)
		if err == nil {
			im.ack(d.msg)
			im.fails.forget(seq)
			return nil
		}
		if im.givesBack(err) {
			im.release(d.msg)
			return nil
		}
		if im.stopping(ctx) {
			// Failed because the import is stopping: no attempt spent;
			// given back when Run ends.
			return nil
		}
		im.failed.Add(1)
		if !im.b.nc.IsConnected() {
			// The handler most likely needed the broker, and the message
			// could not be settled anyway: wait for the connection
			// without spending an attempt.
			attempt--
			im.b.log.Warn("jetstream import handler failed while disconnected; waiting for the connection", "import", im.durable,
				"subject", d.msg.Subject(), "error", firstLine(err))
			if !im.wait(ctx, im.cfg.delay(1)) {
				return nil // given back when Run ends
			}
			continue
		}
		n := attempt
		if im.cfg.unordered {
			n = im.fails.add(seq)
		}
		if n >= im.cfg.maxDeliver {
			im.fails.forget(seq)
			im.terminate(d.msg, d.event, fmt.Errorf("%w (%d): %w", ErrMaxDeliver, n, err), n)
			return nil
		}
		delay := im.cfg.delay(n)
		im.b.log.Warn("jetstream import handler failed; retrying", "import", im.durable,
			"subject", d.msg.Subject(), "attempt", n, "delay", delay, "error", firstLine(err))
		if im.cfg.unordered {
			im.naked.Add(1)
			if err := d.msg.NakWithDelay(delay); err != nil {
				im.b.log.Warn("jetstream nak failed", "import", im.durable, "error", err)
			}
			im.held.settle(d.msg)
			return nil
		}
		if !im.wait(ctx, delay) {
			return nil // given back when Run ends
		}
		im.retried.Add(1)
	}
}

// call runs the handler, turning a panic into an error matching
// [ErrPanicked] with the panic's value and stack.
func (im *Import[E]) call(ctx context.Context, e E) (err error) {
	defer func() {
		if v := recover(); v != nil {
			im.panics.Add(1)
			err = fmt.Errorf("%w: %v\n%s", ErrPanicked, v, debug.Stack())
		}
	}()
	return im.h(ctx, e)
}

// wait waits for d and reports whether the import may go on: not when ctx
// ended or the import is stopping.
func (im *Import[E]) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !im.stopping(ctx)
	case <-ctx.Done():
	case <-im.stop:
	}
	return false
}

// stopping reports whether the import is stopping or the handler's context
// ended.
func (im *Import[E]) stopping(ctx context.Context) bool {
	select {
	case <-im.stop:
		return true
	default:
		return ctx.Err() != nil
	}
}

// ack acknowledges a handled message.
func (im *Import[E]) ack(msg jetstream.Msg) {
	im.acked.Add(1)
	if err := msg.Ack(); err != nil {
		// JetStream will deliver it again: at least once.
		im.b.log.Warn("jetstream ack failed", "import", im.durable, "subject", msg.Subject(), "error", err)
	}
	im.held.settle(msg)
}

// release gives msg back unhandled for a later delivery.
func (im *Import[E]) release(msg jetstream.Msg) {
	im.released.Add(1)
	if err := msg.NakWithDelay(im.cfg.backoffMin); err != nil {
		im.b.log.Warn("jetstream nak failed", "import", im.durable, "error", err)
	}
	im.held.settle(msg)
}

// terminate stops the redelivery of msg, copies it to the dead-letter
// subject if there is one, and reports it. attempts is how many times the
// handler was called with it (0: never, the dead letter then counts the
// deliveries).
func (im *Import[E]) terminate(msg jetstream.Msg, ev any, reason error, attempts int) {
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
	if attempts > 0 {
		dl.Attempts = attempts
	}
	if im.cfg.deadSubject != "" {
		im.publishDead(dl)
	}
	im.terminated.Add(1)
	if err := msg.TermWithReason(firstLine(reason)); err != nil {
		im.b.log.Warn("jetstream term failed", "import", im.durable, "error", err)
	}
	im.held.settle(msg)
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

// sequence returns the stream sequence of msg, 0 if unknown.
func sequence(msg jetstream.Msg) uint64 {
	meta, err := msg.Metadata()
	if err != nil {
		return 0
	}
	return meta.Sequence.Stream
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
	// capacity, handled.
	Actor actor.Stats
	// Acked counts messages acked after their handler returned nil.
	Acked uint64
	// Failed counts handler attempts that failed (an error or a panic);
	// Panics those of them that panicked.
	Failed, Panics uint64
	// Retried counts the attempts made again in place after a failure
	// (the default, ordered import); Naked the failed messages given back
	// for a later redelivery ([WithUnordered]).
	Retried, Naked uint64
	// Terminated counts messages given up as dead letters; Released those
	// given back unhandled at shutdown.
	Terminated, Released uint64
}

// Stats returns a snapshot of the import's counters.
func (im *Import[E]) Stats() ImportStats {
	return ImportStats{
		Actor:      im.a.Stats(),
		Acked:      im.acked.Load(),
		Failed:     im.failed.Load(),
		Panics:     im.panics.Load(),
		Retried:    im.retried.Load(),
		Naked:      im.naked.Load(),
		Terminated: im.terminated.Load(),
		Released:   im.released.Load(),
	}
}
