package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus/jetstream"
	"github.com/troupe-go/troupe/supervisor"
)

// Roles of a process when the orders cross processes through NATS (-nats).
const (
	roleAll     = "all"     // the whole service in one process, email through JetStream
	roleAPI     = "api"     // order handler, inventory, analytics; OrderCreated published to JetStream
	roleWorkers = "workers" // only the email consumer, imported from JetStream
)

// emailDurable is the JetStream consumer of the email workers: every worker
// process uses it, so they share the orders and a restarted one resumes
// where the last one stopped.
const emailDurable = "email"

// emailAckWait is how long JetStream waits for the ack of an order before it
// delivers it again to a worker.
const emailAckWait = 5 * time.Second

// EventID makes the order's ID the JetStream message ID, so that an order
// published twice (a publish retried after a lost ack) is stored once, and
// the email workers key their idempotence by it.
func (e OrderCreated) EventID() string { return e.ID }

// hooks lets the tests watch a run of the whole program: the orders placed
// and the emails sent. It travels in run's context.
type hooks struct {
	placed    func(id string)
	emailed   func(id string)
	wrapEmail func(supervisor.Runner) supervisor.Runner // the email subtree
}

type hooksKey struct{}

func withHooks(ctx context.Context, h hooks) context.Context {
	return context.WithValue(ctx, hooksKey{}, h)
}

func hooksFrom(ctx context.Context) hooks {
	h, _ := ctx.Value(hooksKey{}).(hooks)
	return h
}

// sentLog is a worker's audit record of the orders it emailed, kept in a
// file (-sent): one order ID a line, appended once the order was recorded
// in the shared bucket. Which orders to skip is the bucket's call, not
// this file's. It is safe for concurrent use.
type sentLog struct {
	mu sync.Mutex
	f  *os.File // nil without -sent
}

func openSentLog(path string) (*sentLog, error) {
	l := &sentLog{}
	if path == "" {
		return l, nil
	}
	var err error
	if l.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *sentLog) record(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	_, err := l.f.WriteString(id + "\n")
	return err
}

func (l *sentLog) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// natsParts are the pieces of the service that talk to JetStream.
type natsParts struct {
	bridge                 *jetstream.Bridge
	api                    bool                            // orders are published to JetStream (publishDurable)
	published, unpublished atomic.Uint64                   // orders JetStream acked; gave up on
	email                  *jetstream.Import[OrderCreated] // nil for the API
	sent                   *sentLog                        // nil for the API
	skipped                func() uint64                   // orders delivered again and not emailed twice
	twice                  func() uint64                   // orders two workers emailed (a worker frozen mid-send)
}

// connectNATS connects to the server at cfg.NATS with the service's stream.
func connectNATS(cfg Config, log *slog.Logger) (*jetstream.Bridge, error) {
	return jetstream.Connect(cfg.NATS,
		jetstream.WithStream(cfg.Stream),
		jetstream.WithPrefix(strings.ToLower(cfg.Stream)),
		jetstream.WithLogger(log))
}

// emailed is the email workers' shared memory of the orders they emailed:
// a JetStream key-value bucket, one key per order ID, created if absent
// once the email went out. Every worker process checks it before sending,
// so an order delivered again (its worker was killed or frozen past
// AckWait before the ack) is not emailed twice, whichever worker gets it.
// The bucket is made when first needed and made again when the server
// lost it. It is safe for concurrent use.
type emailed struct {
	js     njs.JetStream
	bucket string
	log    *slog.Logger

	mu sync.Mutex
	kv njs.KeyValue
}

// store returns the bucket, making it if needed.
func (e *emailed) store(ctx context.Context) (njs.KeyValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kv != nil {
		return e.kv, nil
	}
	kv, err := e.js.CreateOrUpdateKeyValue(ctx, njs.KeyValueConfig{Bucket: e.bucket, Storage: njs.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("idempotency bucket %s: %w", e.bucket, err)
	}
	e.kv = kv
	return kv, nil
}

// lost forgets the bucket after an error: the server may have lost its
// store, and making the bucket again is idempotent and cheap.
func (e *emailed) lost() {
	e.mu.Lock()
	e.kv = nil
	e.mu.Unlock()
}

// recordTimeout bounds how long a worker tries to record an email it sent.
const recordTimeout = 30 * time.Second

// kvTimeout bounds one operation on the bucket.
const kvTimeout = 2 * time.Second

// done reports whether the order was emailed already.
func (e *emailed) done(ctx context.Context, id string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, kvTimeout)
	defer cancel()
	kv, err := e.store(ctx)
	if err != nil {
		return false, err
	}
	_, err = kv.Get(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, njs.ErrKeyNotFound):
		return false, nil
	}
	e.lost()
	return false, err
}

// record records that the order was emailed by worker, retrying until it
// is stored or ctx ends: the email went out, and sending it again because
// the record failed would send it twice. It reports whether another worker
// had recorded it first (the email then went out twice); a record of this
// worker found there was made by an earlier attempt whose answer was lost.
func (e *emailed) record(ctx context.Context, id, worker string) (twice bool, err error) {
	for attempt := 1; ; attempt++ {
		octx, cancel := context.WithTimeout(ctx, kvTimeout)
		kv, err := e.store(octx)
		if err == nil {
			_, err = kv.Create(octx, id, []byte(worker))
			if errors.Is(err, njs.ErrKeyExists) {
				// Ours, if an earlier Create whose answer was lost
				// stored it; another worker's otherwise.
				var v njs.KeyValueEntry
				if v, err = kv.Get(octx, id); err == nil {
					cancel()
					return string(v.Value()) != worker, nil
				}
			}
			if err == nil {
				cancel()
				return false, nil
			}
			e.lost()
		}
		cancel()
		e.log.Warn("recording an email sent failed; retrying", "order", id, "attempt", attempt, "error", err)
		t := time.NewTimer(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false, fmt.Errorf("email for %s sent, not recorded: %w", id, ctx.Err())
		}
	}
}

// emailImport returns the email consumer as a durable import: an order is
// emailed unless the shared bucket says it was already, recorded there,
// then acked; a failed or panicking provider call is tried again in place
// with backoff (the order of each worker's orders holds), and the order is
// a dead letter after the last attempt.
func (a *App) emailImport(br *jetstream.Bridge, sent *sentLog) *jetstream.Import[OrderCreated] {
	backoff := max(a.cfg.EmailBackoff, time.Millisecond)
	store := &emailed{js: br.JetStream(), bucket: a.cfg.Stream + "_EMAILED", log: a.log}
	worker := fmt.Sprintf("pid-%d-%s", os.Getpid(), nuid.Next()[16:])
	var skipped, twice atomic.Uint64
	h := func(ctx context.Context, o OrderCreated) error {
		done, err := store.done(ctx, o.ID)
		if err != nil {
			return err
		}
		if done {
			// Emailed before the ack was lost (a killed worker, say):
			// accounted for where it was sent.
			skipped.Add(1)
			return nil
		}
		if err := a.emailer.Handle(ctx, o); err != nil {
			return err
		}
		// The email went out: recording it must not be cut short by a
		// shutdown, or the next worker would find it recorded by nobody's
		// audit (or send it again). A broker away longer than
		// recordTimeout still ends it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		dup, err := store.record(rctx, o.ID, worker)
		cancel()
		if err != nil {
			return err
		}
		if dup {
			twice.Add(1)
			a.log.Error("order emailed by two workers", "order", o.ID)
			return nil
		}
		if err := sent.record(o.ID); err != nil {
			a.log.Warn("audit record failed", "order", o.ID, "error", err)
		}
		a.ledger.Handled(consumerEmail, o.ID)
		if a.hooks.emailed != nil {
			a.hooks.emailed(o.ID)
		}
		return nil
	}
	a.nats.skipped = skipped.Load
	a.nats.twice = twice.Load
	return jetstream.NewImport(emailDurable, br, actor.Handler[OrderCreated](h),
		jetstream.WithMailbox(64),
		// A message a crashed worker held comes back after AckWait; the
		// import reports every message it holds in progress, so it can be
		// short.
		jetstream.WithAckWait(emailAckWait),
		jetstream.WithBackoff(backoff, max(backoff, a.cfg.RestartBackoffMax)),
		jetstream.WithDrainTimeout(a.cfg.DrainTimeout),
		jetstream.WithDeadLetterHook(func(dl jetstream.DeadLetter) {
			id := ""
			if o, ok := dl.Event.(OrderCreated); ok {
				id = o.ID
			}
			reason := firstLineOf(dl.Reason)
			a.ledger.Dead("jetstream "+emailDurable, consumerEmail, id, reason)
			a.log.Warn("dead letter", "import", emailDurable, "order", id, "reason", reason)
		}))
}

// newOrderPrefix returns the prefix of this process's order IDs: with
// orders stored in JetStream, two runs must not both place "ord-000001".
func newOrderPrefix(cfg Config) string {
	if cfg.NATS == "" && cfg.DB == "" {
		return "ord-"
	}
	return "ord-" + strings.ToLower(nuid.Next()[14:]) + "-"
}

func firstLineOf(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
