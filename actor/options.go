package actor

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Default values of the options.
const (
	DefaultMailboxSize  = 256
	DefaultDrainTimeout = 2 * time.Second
)

// An Option configures an [Actor] (or a [Pool]) at construction.
type Option func(*config)

type config struct {
	mailbox      int
	logger       *slog.Logger
	onError      func(ctx context.Context, actor string, msg any, err error)
	onDeadLetter func(DeadLetter)
	drainTimeout time.Duration
	maxRetries   int
}

func newConfig(opts []Option) config {
	c := config{mailbox: DefaultMailboxSize, drainTimeout: DefaultDrainTimeout}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithMailbox sets how many messages the mailbox holds before sends wait
// (Send) or fail (TrySend). The default is [DefaultMailboxSize]. The mailbox
// is allocated at construction: its memory is size times the message size.
// It panics if size < 1.
func WithMailbox(size int) Option {
	if size < 1 {
		panic(fmt.Sprintf("actor: WithMailbox: size %d < 1", size))
	}
	return func(c *config) { c.mailbox = size }
}

// WithLogger sets the logger for handler errors, dead letters and panics. The
// default is slog.Default() at the time of logging.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		panic("actor: WithLogger: nil logger")
	}
	return func(c *config) { c.logger = l }
}

// WithErrorHook sets the function called with every error a handler returns,
// on the actor's goroutine, before the next message is handled. The default
// logs the error at level Error with the actor's name. The context is the one
// the handler was called with.
func WithErrorHook(h func(ctx context.Context, actor string, msg any, err error)) Option {
	if h == nil {
		panic("actor: WithErrorHook: nil hook")
	}
	return func(c *config) { c.onError = h }
}

// WithDeadLetterHook sets the function called with every message the actor
// accepted but will not handle. The default logs it at level Warn. The hook
// runs on the goroutine that gave up on the message and must not block.
func WithDeadLetterHook(h func(DeadLetter)) Option {
	if h == nil {
		panic("actor: WithDeadLetterHook: nil hook")
	}
	return func(c *config) { c.onDeadLetter = h }
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
