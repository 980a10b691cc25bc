package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nuid"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus/jetstream"
)

// Roles of a process when the orders cross processes through NATS (-nats).
const (
	roleAll     = "all"     // the whole service in one process, email through JetStream
	roleAPI     = "api"     // order handler, inventory, analytics; OrderCreated exported
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
// exported twice is stored once, and the email workers key their
// idempotence by it.
func (e OrderCreated) EventID() string { return e.ID }

// hooks lets the tests watch a run of the whole program: the orders placed
// and the emails sent. It travels in run's context.
type hooks struct {
	placed  func(id string)
	emailed func(id string)
}

type hooksKey struct{}

func withHooks(ctx context.Context, h hooks) context.Context {
	return context.WithValue(ctx, hooksKey{}, h)
}

func hooksFrom(ctx context.Context) hooks {
	h, _ := ctx.Value(hooksKey{}).(hooks)
	return h
}

// sentLog is the email workers' memory of the orders they emailed, kept in
// a file (-sent) so that it outlives the process: an order delivered again
// by JetStream (its worker was killed before the ack) is not emailed twice.
// Without a file it lasts as long as the process. It is safe for concurrent
// use.
type sentLog struct {
	mu   sync.Mutex
	f    *os.File
	seen map[string]bool
}

func openSentLog(path string) (*sentLog, error) {
	l := &sentLog{seen: make(map[string]bool)}
	if path == "" {
		return l, nil
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, id := range strings.Fields(string(data)) {
		l.seen[id] = true
	}
	if l.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *sentLog) sent(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[id]
}

func (l *sentLog) record(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if _, err := l.f.WriteString(id + "\n"); err != nil {
			return err
		}
	}
	l.seen[id] = true
	return nil
}

func (l *sentLog) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// natsParts are the pieces of the service that talk to JetStream.
type natsParts struct {
	bridge   *jetstream.Bridge
	exporter *jetstream.Exporter             // nil for the workers
	email    *jetstream.Import[OrderCreated] // nil for the API
	sent     *sentLog                        // nil for the API
	skipped  func() uint64                   // orders delivered again and not emailed twice
}

// connectNATS connects to the server at cfg.NATS with the service's stream.
func connectNATS(cfg Config, log *slog.Logger) (*jetstream.Bridge, error) {
	return jetstream.Connect(cfg.NATS,
		jetstream.WithStream(cfg.Stream),
		jetstream.WithPrefix(strings.ToLower(cfg.Stream)),
		jetstream.WithLogger(log))
}

// emailImport returns the email consumer as a durable import: the order is
// acked once its email was sent (or was sent before, by this worker or a
// previous one), naked with backoff when the provider failed, and a dead
// letter after the last delivery.
func (a *App) emailImport(br *jetstream.Bridge, sent *sentLog) *jetstream.Import[OrderCreated] {
	backoff := max(a.cfg.EmailBackoff, time.Millisecond)
	var (
		mu      sync.Mutex
		skipped uint64
	)
	h := func(ctx context.Context, o OrderCreated) error {
		if sent.sent(o.ID) {
			// Emailed before the ack was lost (a killed worker, say):
			// accounted for where it was sent.
			mu.Lock()
			skipped++
			mu.Unlock()
			return nil
		}
		if err := a.emailer.Handle(ctx, o); err != nil {
			return err
		}
		if err := sent.record(o.ID); err != nil {
			return fmt.Errorf("email for %s sent, not recorded: %w", o.ID, err)
		}
		a.ledger.Handled(consumerEmail, o.ID)
		if a.hooks.emailed != nil {
			a.hooks.emailed(o.ID)
		}
		return nil
	}
	a.nats.skipped = func() uint64 { mu.Lock(); defer mu.Unlock(); return skipped }
	return jetstream.NewImport(emailDurable, br, actor.Handler[OrderCreated](h),
		jetstream.WithMailbox(64),
		// A message a crashed worker held comes back after AckWait; the
		// handler reports a long send in progress, so it can be short.
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
