package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A Bridge is a JetStream stream seen from troupe: the connection, the
// stream's name and configuration, the codec, and the subject of each event
// type. [Exporter]s publish through it and [Import]s consume through it.
//
// A Bridge is safe for concurrent use and must not be copied. It is also a
// [supervisor.Runner] whose Run waits for the end of its context and then
// closes the connection if the bridge opened it: added first to a
// supervisor, it is stopped last, after the exporters and imports that use
// it.
//
// [supervisor.Runner]: https://pkg.go.dev/github.com/troupe-go/troupe/supervisor#Runner
type Bridge struct {
	cfg   config
	js    jetstream.JetStream
	nc    *nats.Conn
	owned bool
	log   *slog.Logger

	mu    sync.Mutex
	ready bool
}

// Connect opens a connection to the NATS server(s) at url and returns a
// bridge that owns it: [Bridge.Close] drains and closes it.
//
// Connect does not wait for the broker: when no server answers, it returns
// a bridge whose connection keeps trying in the background, with backoff
// up to [DefaultReconnectMax], logging each failed attempt; exporters,
// imports and [Publish] wait for it (or fail, within their context). The
// connection reconnects forever after a disconnection, and logs the
// disconnection and the reconnection. It does not buffer publishes while
// disconnected: a publish made then fails at once and was not sent, so an
// event is never stored behind its publisher's back after it was reported
// as failed. It returns an error only for a URL it cannot use. Options
// given with [WithNATSOptions] are passed to nats.Connect after these
// defaults, and override them.
func Connect(url string, opts ...Option) (*Bridge, error) {
	cfg := newConfig(opts)
	log := cfg.logger
	nopts := append([]nats.Option{
		nats.Name("troupe"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			if attempts == 1 || attempts%10 == 0 {
				log.Warn("nats server not reachable; trying again", "url", url, "attempts", attempts)
			}
			return reconnectDelay(attempts)
		}),
		nats.ErrorHandler(asyncErrors(log)),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info("nats connected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			log.Warn("nats disconnected; reconnecting", "error", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	}, cfg.natsOpts...)
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", url, err)
	}
	if !nc.IsConnected() {
		log.Warn("nats server not reachable at start; connecting in the background", "url", url)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: connect %s: %w", url, err)
	}
	return &Bridge{cfg: cfg, js: js, nc: nc, owned: true, log: log}, nil
}

// DefaultReconnectMax bounds the delay between two connection attempts of
// a bridge made by [Connect].
const DefaultReconnectMax = 2 * time.Second

// reconnectDelay is the wait before connection attempt n+1: 50ms doubled
// per attempt, capped at DefaultReconnectMax, with jitter.
func reconnectDelay(n int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < n && d < DefaultReconnectMax; i++ {
		d *= 2
	}
	d = min(d, DefaultReconnectMax)
	return d/2 + rand.N(d/2+1)
}

// asyncErrors returns a nats.ErrorHandler that logs the errors the
// connection reports on its own, such as a subscription too slow for its
// messages.
func asyncErrors(log *slog.Logger) nats.ErrHandler {
	return func(_ *nats.Conn, sub *nats.Subscription, err error) {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		log.Warn("nats asynchronous error", "subject", subject, "error", err)
	}
}

// New returns a bridge over a connection the caller opened and will close:
// the bridge never closes it. It panics if nc is nil.
func New(nc *nats.Conn, opts ...Option) *Bridge {
	if nc == nil {
		panic("jetstream: New: nil connection")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		// jetstream.New fails only for a nil connection.
		panic(fmt.Sprintf("jetstream: New: %v", err))
	}
	return NewJetStream(js, opts...)
}

// NewJetStream returns a bridge over a JetStream context the caller made
// (with a domain or API prefix, say); the bridge never closes its
// connection. It panics if js is nil.
func NewJetStream(js jetstream.JetStream, opts ...Option) *Bridge {
	if js == nil {
		panic("jetstream: NewJetStream: nil JetStream")
	}
	cfg := newConfig(opts)
	return &Bridge{cfg: cfg, js: js, nc: js.Conn(), log: cfg.logger}
}

// JetStream returns the JetStream context the bridge uses.
func (b *Bridge) JetStream() jetstream.JetStream { return b.js }

// Stream returns the name of the bridge's stream.
func (b *Bridge) Stream() string { return b.cfg.stream }

// Close drains and closes the connection if the bridge opened it
// ([Connect]); otherwise it does nothing. Stop the exporters and imports
// first: their publishes and acks need the connection.
func (b *Bridge) Close() error {
	if !b.owned {
		return nil
	}
	if b.nc.IsClosed() {
		return nil
	}
	err := b.nc.Drain()
	if errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrConnectionClosed) {
		// Nothing can be flushed to a server that is not there.
		b.nc.Close()
		return nil
	}
	if err != nil {
		b.nc.Close()
		return fmt.Errorf("jetstream: close: %w", err)
	}
	// Drain closes the connection asynchronously; wait for it so that no
	// goroutine of the client outlives Close.
	b.nc.Close()
	return nil
}

// Run waits until ctx is done, then calls [Bridge.Close] and returns its
// error. It is what makes a bridge a supervisor child.
func (b *Bridge) Run(ctx context.Context) error {
	<-ctx.Done()
	return b.Close()
}

// EnsureStream makes sure the stream exists, once per bridge: it creates
// the stream from the options, or updates an existing one whose subjects,
// retention, max age, replicas or duplicate window differ (logging each
// difference), leaving its other settings alone. With
// [WithExistingStream] it only checks that the stream exists. Errors match
// [ErrStream]. Exporters and imports call it when they start.
func (b *Bridge) EnsureStream(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ready {
		return nil
	}
	if err := b.ensureStream(ctx); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStream, b.cfg.stream, err)
	}
	b.ready = true
	return nil
}

// streamLost makes the next [Bridge.EnsureStream] look at the stream
// again: an import's pull failed, and the server may have lost its store.
func (b *Bridge) streamLost() {
	b.mu.Lock()
	b.ready = false
	b.mu.Unlock()
}

func (b *Bridge) ensureStream(ctx context.Context) error {
	s, err := b.js.Stream(ctx, b.cfg.stream)
	if b.cfg.existing {
		return err
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = b.js.CreateStream(ctx, b.wantStream(jetstream.StreamConfig{}))
		if err == nil {
			b.log.Info("jetstream stream created", "stream", b.cfg.stream)
		}
		return err
	}
	if err != nil {
		return err
	}
	have := s.CachedInfo().Config
	want := b.wantStream(have)
	diff := streamDiff(have, want)
	if len(diff) == 0 {
		return nil
	}
	b.log.Warn("jetstream stream differs from the options; updating", append([]any{"stream", b.cfg.stream}, diff...)...)
	_, err = b.js.UpdateStream(ctx, want)
	return err
}

// wantStream returns base with the settings the options control.
func (b *Bridge) wantStream(base jetstream.StreamConfig) jetstream.StreamConfig {
	c := base
	c.Name = b.cfg.stream
	c.Subjects = b.cfg.subjects
	if len(c.Subjects) == 0 {
		c.Subjects = []string{b.cfg.prefix + ".>"}
	}
	c.Retention = b.cfg.retention
	c.MaxAge = b.cfg.maxAge
	c.Replicas = b.cfg.replicas
	c.Storage = b.cfg.storage
	c.Duplicates = b.cfg.duplicates
	return c
}

// streamDiff lists, as slog attributes, the settings that differ.
func streamDiff(have, want jetstream.StreamConfig) []any {
	var d []any
	add := func(key string, h, w any) { d = append(d, slog.Group(key, "have", h, "want", w)) }
	if !slices.Equal(have.Subjects, want.Subjects) {
		add("subjects", have.Subjects, want.Subjects)
	}
	if have.Retention != want.Retention {
		add("retention", have.Retention.String(), want.Retention.String())
	}
	if have.MaxAge != want.MaxAge {
		add("max_age", have.MaxAge, want.MaxAge)
	}
	if have.Replicas != want.Replicas {
		add("replicas", have.Replicas, want.Replicas)
	}
	if have.Storage != want.Storage {
		add("storage", have.Storage.String(), want.Storage.String())
	}
	if have.Duplicates != want.Duplicates {
		add("duplicates", have.Duplicates, want.Duplicates)
	}
	return d
}
