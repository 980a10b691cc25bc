package pgoutbox

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/troupe-go/troupe/codec"
)

// DefaultTable is the outbox table used unless [WithTable] says otherwise.
const DefaultTable = "troupe_outbox"

// An Option configures an [Outbox] at construction.
type Option func(*outboxConfig)

type outboxConfig struct {
	table string
	codec codec.Codec
}

// maxIdentifier is PostgreSQL's limit on identifiers and channel names, in
// bytes (NAMEDATALEN - 1).
const maxIdentifier = 63

// WithTable sets the table the outbox writes to and the relays read from:
// a name ("outbox") or a schema-qualified one ("app.outbox"), each part used
// as is, case included (it is quoted in SQL). The name also serves as the
// LISTEN/NOTIFY channel, so the whole of it is at most 63 bytes. The default
// is [DefaultTable]. It panics if name is empty, has an empty part or more
// than two parts, or is longer than 63 bytes.
func WithTable(name string) Option {
	parts := strings.Split(name, ".")
	if name == "" || len(parts) > 2 || len(name) > maxIdentifier || parts[0] == "" || parts[len(parts)-1] == "" {
		panic(fmt.Sprintf("pgoutbox: WithTable: name %q is not a table or schema.table of at most %d bytes", name, maxIdentifier))
	}
	return func(c *outboxConfig) { c.table = name }
}

// WithCodec sets how events are encoded into payloads. The default is
// [codec.JSON]. It panics if cd is nil.
func WithCodec(cd codec.Codec) Option {
	if cd == nil {
		panic("pgoutbox: WithCodec: nil codec")
	}
	return func(c *outboxConfig) { c.codec = cd }
}

// Default values of the [Relay] options.
const (
	// DefaultBatchSize is how many rows a relay reads, publishes and
	// removes in one transaction.
	DefaultBatchSize = 100
	// DefaultPollInterval is how long an idle relay waits for a
	// notification before it looks at the table anyway.
	DefaultPollInterval = 5 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the backoff between
	// attempts after a failed publish or a lost connection: the ceiling
	// starts at DefaultRetryMin and doubles up to DefaultRetryMax, each
	// delay drawn at random below it.
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
)

// A RelayOption configures a [Relay] at construction.
type RelayOption func(*relayConfig)

type relayConfig struct {
	logger       *slog.Logger
	onDeadLetter func(DeadLetter)
	batch        int
	poll         time.Duration
	retryMin     time.Duration
	retryMax     time.Duration
}

func newRelayConfig(opts []RelayOption) relayConfig {
	c := relayConfig{
		batch:    DefaultBatchSize,
		poll:     DefaultPollInterval,
		retryMin: DefaultRetryMin,
		retryMax: DefaultRetryMax,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c *relayConfig) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithLogger sets the relay's logger: lost connections and failed
// publishes at level Warn, dead letters at level Error. The default is
// slog.Default() at the time of logging. It panics if l is nil.
func WithLogger(l *slog.Logger) RelayOption {
	if l == nil {
		panic("pgoutbox: WithLogger: nil logger")
	}
	return func(c *relayConfig) { c.logger = l }
}

// WithDeadLetterHook sets a function called with every [DeadLetter], on the
// relay's goroutine, once the row is marked in the table; the dead letter is
// logged as well. It must not block: it delays the relay. It panics if h is
// nil.
func WithDeadLetterHook(h func(DeadLetter)) RelayOption {
	if h == nil {
		panic("pgoutbox: WithDeadLetterHook: nil hook")
	}
	return func(c *relayConfig) { c.onDeadLetter = h }
}

// WithBatchSize sets how many rows the relay reads, publishes and removes in
// one transaction, and how many keys it takes at most at a time. The default
// is [DefaultBatchSize]. It panics if n < 1.
func WithBatchSize(n int) RelayOption {
	if n < 1 {
		panic(fmt.Sprintf("pgoutbox: WithBatchSize: n %d < 1", n))
	}
	return func(c *relayConfig) { c.batch = n }
}

// WithPollInterval sets how long an idle relay waits for a notification
// before it looks at the table anyway, for rows inserted by other means than
// [Outbox.Write] (which notifies). The default is [DefaultPollInterval]. It
// panics if d <= 0.
func WithPollInterval(d time.Duration) RelayOption {
	if d <= 0 {
		panic(fmt.Sprintf("pgoutbox: WithPollInterval: interval %v <= 0", d))
	}
	return func(c *relayConfig) { c.poll = d }
}

// WithRetry sets the backoff between attempts after a failed publish or a
// lost connection: the ceiling starts at min and doubles up to max, each
// delay drawn at random below it. The defaults are [DefaultRetryMin] and
// [DefaultRetryMax]. It panics unless 0 <= min <= max.
func WithRetry(min, max time.Duration) RelayOption {
	if min < 0 || max < min {
		panic(fmt.Sprintf("pgoutbox: WithRetry: want 0 <= min <= max, got %v, %v", min, max))
	}
	return func(c *relayConfig) { c.retryMin, c.retryMax = min, max }
}
