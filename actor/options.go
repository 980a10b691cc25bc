package actor

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/lograte"
)

// Default values of the options.
const (
	DefaultMailboxSize  = 256
	DefaultDrainTimeout = 2 * time.Second
	// DefaultWorkerRestarts and DefaultWorkerWindow: a [Pool] whose workers
	// panic more than 5 times within 10 seconds ends its Run (see
	// [WithWorkerRestarts]); the same numbers as a supervisor's default
	// intensity.
	DefaultWorkerRestarts = 5
	DefaultWorkerWindow   = 10 * time.Second
)

// An Option configures an [Actor] or a [Pool] at construction.
type Option func(*config)

// A PoolOption configures a [Pool] at construction: any [Option], or one of
// the options only a pool has ([KeyBy], [KeyByString],
// [WithWorkerRestarts]), which [New] does not accept.
type PoolOption interface{ applyPool(*poolConfig) }

func (o Option) applyPool(c *poolConfig) { o(&c.config) }

// poolOnly is a [PoolOption] that is not an [Option].
type poolOnly func(*poolConfig)

func (o poolOnly) applyPool(c *poolConfig) { o(c) }

type config struct {
	mailbox      int
	logger       *slog.Logger
	drainTimeout time.Duration
	maxRetries   int
	// logs bounds the default logging (see report.go). It is made by the
	// first line logged (see limiter): most actors never log, and a
	// limiter costs 80 bytes.
	logs atomic.Pointer[lograte.Limiter[logKey]]
	// extra holds the options most actors never set, made by the first of
	// them (see extrasToSet): without them an Actor is a size class smaller
	// (TestActorSizeClass). It is set up before the actor is used and only
	// read afterwards.
	extra *extraOptions
}

// extraOptions are the options of a config that most actors never set.
type extraOptions struct {
	onError      func(ctx context.Context, actor string, msg any, err error)
	onDeadLetter func(DeadLetter)
	clock        Clock        // nil: the system clock; see WithClock
	propagator   Propagator   // see WithPropagator
	middleware   []Middleware // see WithMiddleware
	// keyedDead counts a Keyed's dead letters over all its keys, by
	// deadReason, whose mailboxes come and go; nil for other shapes.
	keyedDead *[3]atomic.Uint64
}

// noExtraOptions are the extra options of a config that sets none.
var noExtraOptions extraOptions

// extrasToSet returns c's extra options, made if need be, for an option
// to set.
func (c *config) extrasToSet() *extraOptions {
	if c.extra == nil {
		c.extra = new(extraOptions)
	}
	return c.extra
}

// extras returns c's extra options, the zero ones if none was set.
func (c *config) extras() *extraOptions {
	if c.extra == nil {
		return &noExtraOptions
	}
	return c.extra
}

// setDefaults sets the options' defaults. A config is set up in place, in
// the struct that holds it: it holds an atomic, which is not copied.
func (c *config) setDefaults() {
	c.mailbox, c.drainTimeout = DefaultMailboxSize, DefaultDrainTimeout
}

// init sets the defaults, then applies opts.
func (c *config) init(opts []Option) {
	c.setDefaults()
	for _, o := range opts {
		o(c)
	}
}

type poolConfig struct {
	config
	key            any // func(M) uint64 for the pool's M; checked by NewPool
	workerRestarts int
	workerWindow   time.Duration
}

// init sets the defaults, then applies opts.
func (c *poolConfig) init(opts []PoolOption) {
	c.setDefaults()
	c.workerRestarts, c.workerWindow = DefaultWorkerRestarts, DefaultWorkerWindow
	for _, o := range opts {
		o.applyPool(c)
	}
}

// limiter returns the limiter of the default logging, made at its first
// use. It may be called by several goroutines at once (a pool's workers,
// a Retire): the first limiter stored is the one kept.
func (c *config) limiter() *lograte.Limiter[logKey] {
	if l := c.logs.Load(); l != nil {
		return l
	}
	c.logs.CompareAndSwap(nil, lograte.New[logKey](0, nil))
	return c.logs.Load()
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithMailbox sets how many messages the mailbox holds before sends wait
// (Send) or fail (TrySend). The default is [DefaultMailboxSize]. An actor's
// mailbox grows as messages queue up, to at most size times the message
// size; a pool's is allocated at construction. It panics if size < 1.
func WithMailbox(size int) Option {
	if size < 1 {
		panic(fmt.Sprintf("actor: WithMailbox: size %d < 1", size))
	}
	return func(c *config) { c.mailbox = size }
}

// WithLogger sets the logger for handler errors, dead letters and panics. The
// default is slog.Default() at the time of logging.
//
// Handler errors and dead letters logged by default (without a hook) are
// bounded: for each reason (a handler error, or a dead letter's
// [ErrPanicked], [ErrDrainTimeout], [ErrStopped]), at most one line per
// second, carrying the first event's details and "count", the number of
// events it stands for (with "first", the time of the first, when it stands
// for more than one). The events of a second are written by the next event
// past it, by any later line of the same actor, or when Run returns after
// its context ended; the exact counts are always in [Actor.Stats]. Panics
// are bounded the same way for each site (the statement that panicked),
// and the first panic of a site is written with its stack (the attribute
// "stack"); later ones with the one-line error only, which names the
// panicking frame. Hooks are not bounded: they get every event.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		panic("actor: WithLogger: nil logger")
	}
	return func(c *config) { c.logger = l }
}

// WithErrorHook sets the function called with every error a handler returns,
// on the actor's goroutine, before the next message is handled. The default
// logs the error at level Error with the actor's name. The context is the one
// the handler was called with. The default logging is bounded (see
// [WithLogger]).
func WithErrorHook(h func(ctx context.Context, actor string, msg any, err error)) Option {
	if h == nil {
		panic("actor: WithErrorHook: nil hook")
	}
	return func(c *config) { c.extrasToSet().onError = h }
}

// WithDeadLetterHook sets the function called with every message the actor
// accepted but will not handle. The default logs it at level Warn, bounded
// (see [WithLogger]). The hook
// runs on the goroutine that gave up on the message and must not block.
func WithDeadLetterHook(h func(DeadLetter)) Option {
	if h == nil {
		panic("actor: WithDeadLetterHook: nil hook")
	}
	return func(c *config) { c.extrasToSet().onDeadLetter = h }
}

// WithDrainTimeout sets how long the actor keeps handling queued messages
// after its context is cancelled; what is still queued then is reported as
// dead letters with [ErrDrainTimeout]. Zero reports everything queued at once.
// The default is [DefaultDrainTimeout]; a supervisor's shutdown timeout for
// the actor should be longer. It panics if d < 0.
func WithDrainTimeout(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("actor: WithDrainTimeout: negative timeout %v", d))
	}
	return func(c *config) { c.drainTimeout = d }
}

// WithMaxRetries sets how many more times a message whose handler panicked is
// handed to the handler, first thing in the next Run, before it is reported
// as a dead letter with [ErrPanicked]. The default, 0, never retries: a poison
// message costs one restart, never a crash loop. It panics if n < 0.
func WithMaxRetries(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("actor: WithMaxRetries: negative count %d", n))
	}
	return func(c *config) { c.maxRetries = n }
}

// WithWorkerRestarts sets how many worker panics a [Pool] absorbs. A worker
// that panics is restarted at once inside the pool while the others go on;
// but when more than maxRestarts panics happen within window, the pool's Run
// stops its workers and returns the last [*PanicError], so that the pool's
// supervisor counts the failure against its own intensity like any child's.
// The default is [DefaultWorkerRestarts] within [DefaultWorkerWindow];
// maxRestarts 0 ends Run at the first panic, as an [Actor] does. It panics
// if maxRestarts < 0 or window <= 0.
func WithWorkerRestarts(maxRestarts int, window time.Duration) PoolOption {
	if maxRestarts < 0 {
		panic(fmt.Sprintf("actor: WithWorkerRestarts: negative maxRestarts %d", maxRestarts))
	}
	if window <= 0 {
		panic(fmt.Sprintf("actor: WithWorkerRestarts: window %v is not positive", window))
	}
	return poolOnly(func(c *poolConfig) { c.workerRestarts, c.workerWindow = maxRestarts, window })
}

// KeyBy makes a [Pool] keep per-key order: messages for which key returns the
// same value are handled one at a time, in the order they were accepted,
// while messages of different keys run in parallel on any free worker. The
// type parameter must be the pool's message type; [NewPool] panics
// otherwise. It panics if key is nil. Use [KeyByString] for string keys.
func KeyBy[M any](key func(M) uint64) PoolOption {
	if key == nil {
		panic("actor: KeyBy: nil key func")
	}
	return poolOnly(func(c *poolConfig) { c.key = key })
}

// KeyByString is [KeyBy] for string keys, hashed with [maphash.String],
// which does not allocate. It panics if key is nil.
func KeyByString[M any](key func(M) string) PoolOption {
	if key == nil {
		panic("actor: KeyByString: nil key func")
	}
	return KeyBy(func(m M) uint64 { return maphash.String(keySeed, key(m)) })
}

// keySeed seeds the hash of string keys for the life of the process.
var keySeed = maphash.MakeSeed()
