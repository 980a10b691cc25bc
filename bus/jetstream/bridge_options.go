package jetstream

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/troupe-go/troupe/codec"
)

// Default values of the [Bridge] options.
const (
	// DefaultStream is the name of the stream events are stored in.
	DefaultStream = "TROUPE"
	// DefaultPrefix is the first token of every event subject.
	DefaultPrefix = "troupe"
	// DefaultDuplicateWindow is how long JetStream remembers a Nats-Msg-Id
	// to drop a republished event. It must cover the export's retry
	// horizon and a producer's restart.
	DefaultDuplicateWindow = 2 * time.Minute
)

// An Option configures a [Bridge] at construction.
type Option func(*config)

type config struct {
	stream   string
	prefix   string
	subjects []string
	codec    codec.Codec
	logger   *slog.Logger
	existing bool
	natsOpts []nats.Option

	retention  jetstream.RetentionPolicy
	maxAge     time.Duration
	replicas   int
	storage    jetstream.StorageType
	duplicates time.Duration

	names    map[reflect.Type]string
	subjectT map[reflect.Type]string

	// See WithHeaderPropagator.
	injectHeader  func(context.Context, map[string][]string)
	extractHeader func(context.Context, map[string][]string) context.Context
}

func newConfig(opts []Option) config {
	c := config{
		stream:     DefaultStream,
		prefix:     DefaultPrefix,
		codec:      codec.JSON,
		replicas:   1,
		storage:    jetstream.FileStorage,
		duplicates: DefaultDuplicateWindow,
		names:      map[reflect.Type]string{},
		subjectT:   map[reflect.Type]string{},
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// checkToken panics unless s is a valid single subject token.
func checkToken(fn, arg, s string) {
	if s == "" || strings.ContainsAny(s, ".*> \t\r\n") {
		panic(fmt.Sprintf("jetstream: %s: %s %q is not a subject token", fn, arg, s))
	}
}

// checkSubject panics unless s is a valid literal subject.
func checkSubject(fn, arg, s string) {
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			panic(fmt.Sprintf("jetstream: %s: %s %q is not a literal subject", fn, arg, s))
		}
	}
}

// WithStream sets the name of the stream the bridge publishes to and
// consumes from. The default is [DefaultStream]. It panics if name is not a
// valid stream name.
func WithStream(name string) Option {
	checkToken("WithStream", "name", name)
	return func(c *config) { c.stream = name }
}

// WithPrefix sets the first token(s) of event subjects: an event of type
// OrderCreated goes to "<prefix>.OrderCreated". The default is
// [DefaultPrefix]. It panics if prefix is not a literal subject.
func WithPrefix(prefix string) Option {
	checkSubject("WithPrefix", "prefix", prefix)
	return func(c *config) { c.prefix = prefix }
}

// WithSubjects sets the subjects the stream stores. The default is
// "<prefix>.>", every event subject. It panics if subjects is empty.
func WithSubjects(subjects ...string) Option {
	if len(subjects) == 0 {
		panic("jetstream: WithSubjects: no subjects")
	}
	s := append([]string(nil), subjects...)
	return func(c *config) { c.subjects = s }
}

// WithCodec sets how events are encoded. The default is [codec.JSON]. It
// panics if cd is nil.
func WithCodec(cd codec.Codec) Option {
	if cd == nil {
		panic("jetstream: WithCodec: nil codec")
	}
	return func(c *config) { c.codec = cd }
}

// WithLogger sets the logger of the bridge and of the exporters and imports
// made from it. The default is slog.Default() when the bridge is made.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		panic("jetstream: WithLogger: nil logger")
	}
	return func(c *config) { c.logger = l }
}

// WithExistingStream makes the bridge require that the stream exists
// instead of creating or updating it: the stream options are then ignored,
// and a missing stream is an error matching [ErrStream]. Use it when the
// stream is managed by operators rather than by the program.
func WithExistingStream() Option {
	return func(c *config) { c.existing = true }
}

// WithRetention sets the stream's retention policy. The default is
// jetstream.LimitsPolicy, which lets several durable consumers read the same
// events.
func WithRetention(p jetstream.RetentionPolicy) Option {
	return func(c *config) { c.retention = p }
}

// WithMaxAge sets how long the stream keeps a message. The default, 0, keeps
// messages until other limits remove them. It panics if d is negative.
func WithMaxAge(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("jetstream: WithMaxAge: negative age %v", d))
	}
	return func(c *config) { c.maxAge = d }
}

// WithReplicas sets the number of stream replicas in a cluster. The default
// is 1. It panics if n < 1.
func WithReplicas(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("jetstream: WithReplicas: n %d < 1", n))
	}
	return func(c *config) { c.replicas = n }
}

// WithStorage sets where the stream keeps messages. The default is
// jetstream.FileStorage: events survive a server restart.
func WithStorage(s jetstream.StorageType) Option {
	return func(c *config) { c.storage = s }
}

// WithDuplicateWindow sets the stream's de-duplication window. The default
// is [DefaultDuplicateWindow]. It panics if d <= 0.
func WithDuplicateWindow(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("jetstream: WithDuplicateWindow: window %v <= 0", d))
	}
	return func(c *config) { c.duplicates = d }
}

// WithNATSOptions adds options to the connection [Connect] opens. It has no
// effect on a bridge made from a connection by [New] or [NewJetStream].
func WithNATSOptions(opts ...nats.Option) Option {
	o := append([]nats.Option(nil), opts...)
	return func(c *config) { c.natsOpts = append(c.natsOpts, o...) }
}

// WithTypeName sets the name events of type E carry in the [TypeHeader] and
// in their subject, instead of the Go type's name. Exporting and importing
// sides must agree on it. It panics if name is not a subject token.
func WithTypeName[E any](name string) Option {
	checkToken("WithTypeName", "name", name)
	t := reflect.TypeFor[E]()
	return func(c *config) { c.names[t] = name }
}

// WithSubject sets the subject events of type E are published to and
// imported from, instead of "<prefix>.<TypeName>". Exporting and importing
// sides must agree on it, and the stream's subjects must include it. It
// panics if subject is not a literal subject.
func WithSubject[E any](subject string) Option {
	checkSubject("WithSubject", "subject", subject)
	t := reflect.TypeFor[E]()
	return func(c *config) { c.subjectT[t] = subject }
}
