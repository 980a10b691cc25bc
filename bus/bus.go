package bus

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/lograte"
)

// A Bus routes published events, by Go type, to the inboxes subscribed to
// them. The zero value is not usable: make one with [New]. A Bus is safe for
// concurrent use and must not be copied.
type Bus struct {
	cfg config

	// mu serialises Subscribe, Unsubscribe, route building and Close. It is
	// never held while an inbox is called.
	mu      sync.Mutex
	seq     uint64
	inboxes map[inboxKey]*Subscription       // for the duplicate check
	byType  map[reflect.Type][]*Subscription // subscriptions to concrete types
	ifaces  []*Subscription                  // subscriptions to interface types, in order
	all     []*Subscription                  // every subscription not yet fully unsubscribed, in order

	// table is the route table, read by Publish with one atomic load and
	// replaced (copy on write) under mu.
	table atomic.Pointer[table]

	closed atomic.Bool
	// aborted is set by Close when its context ended before the
	// deliveries under way finished: waits for room are canceled from then
	// on.
	aborted atomic.Bool

	// publish is the middleware around the delivery, nil without any (see
	// WithMiddleware).
	publish PublishFunc
}

// An Option configures a [Bus] at construction.
type Option func(*config)

type config struct {
	logger       *slog.Logger
	onDeadLetter func(DeadLetter)
	onSlow       func(SlowSubscriber)
	slowAfter    time.Duration
	logs         *lograte.Limiter[logKey] // bounds the default logging; see deadletter.go
	middleware   []Middleware             // see WithMiddleware
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// WithLogger sets the logger for dead letters and slow subscribers when no
// hook is set. The default is slog.Default() at the time of logging. It
// panics if l is nil.
//
// The logging is bounded: for each subscription and reason, at most one line
// per second, carrying the first event's details and "count", the number of
// events it stands for (with "first", the time of the first, when it stands
// for more than one). The events of a period are written by the next event
// past it, by any later line of the same bus, or by [Bus.Close]; the exact
// counts are always in [Bus.Stats]. Hooks are not bounded: they get every
// event.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		panic("bus: WithLogger: nil logger")
	}
	return func(c *config) { c.logger = l }
}

// WithDeadLetterHook sets the function called with every event a
// subscription did not get (see [DeadLetter]). It runs on the publishing
// goroutine, after the delivery attempt and without any lock held, and must
// not block: it delays the publisher. The default logs the dead letter at
// level Warn, at most one line per second per subscription and reason (see
// [WithLogger]). It panics if h is nil.
func WithDeadLetterHook(h func(DeadLetter)) Option {
	if h == nil {
		panic("bus: WithDeadLetterHook: nil hook")
	}
	return func(c *config) { c.onDeadLetter = h }
}

// WithSlowHook sets the function called when a subscription becomes slow
// (see [SlowSubscriber]). It runs on the publishing goroutine and must not
// block. The default logs at level Warn, at most one line per second per
// subscription (see [WithLogger]). It panics if h is nil.
func WithSlowHook(h func(SlowSubscriber)) Option {
	if h == nil {
		panic("bus: WithSlowHook: nil hook")
	}
	return func(c *config) { c.onSlow = h }
}

// DefaultSlowAfter is how long a [Block] delivery may wait for room before
// its subscription is reported slow, unless [WithSlowAfter] says otherwise.
const DefaultSlowAfter = 100 * time.Millisecond

// WithSlowAfter sets how long a [Block] delivery may wait for room before its
// subscription is reported slow (see [SlowSubscriber]). The default is
// [DefaultSlowAfter]. It panics if d <= 0.
func WithSlowAfter(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("bus: WithSlowAfter: non-positive duration %v", d))
	}
	return func(c *config) { c.slowAfter = d }
}

// New returns an empty, open bus.
func New(opts ...Option) *Bus {
	b := &Bus{
		inboxes: make(map[inboxKey]*Subscription),
		byType:  make(map[reflect.Type][]*Subscription),
		cfg:     config{slowAfter: DefaultSlowAfter, logs: lograte.New[logKey](0, nil)},
	}
	for _, o := range opts {
		o(&b.cfg)
	}
	b.chain()
	b.table.Store(newTable(map[reflect.Type]*route{}))
	return b
}

// Close closes the bus: Publish and Subscribe return [ErrClosed] from now
// on. A publish under way when Close is called either returns ErrClosed
// having delivered nothing, or makes all its offers (see [Publish]). Close
// then waits for the deliveries under way, including waits for room in
// [Block] inboxes that have begun: once it returns, no event is delivered
// any more. A wait for room that a publish had yet to begin when Close was
// called does not begin: its event is reported as a dead letter with
// [ErrCanceled] and [ErrClosed]. If ctx ends first, the waits for room are
// canceled (and reported the same way) and Close returns ctx's error once
// they have returned.
//
// The bus never closes or stops an inbox: the inboxes belong to their
// owners, who stop them after Close, so a late event meets a stopped actor
// (an error) rather than a closed channel (a panic). Close may be called more
// than once and from several goroutines; each call waits as the first.
func (b *Bus) Close(ctx context.Context) error {
	defer b.cfg.logs.Flush()
	b.mu.Lock()
	// Closed before the guards are sealed: a publish that finds a guard
	// sealed by Close then finds the bus closed.
	b.closed.Store(true)
	subs := slices.Clone(b.all)
	b.mu.Unlock()
	for _, s := range subs {
		s.guard.seal()
	}
	if drained(ctx, subs) {
		return nil
	}
	b.aborted.Store(true)
	for _, s := range subs {
		s.cancelWaits(ErrClosed)
	}
	for _, s := range subs {
		<-s.guard.done()
	}
	return fmt.Errorf("bus: Close: waits for room canceled: %w", context.Cause(ctx))
}

// drained waits until no delivery to subs is under way, and reports false
// if ctx ended first.
func drained(ctx context.Context, subs []*Subscription) bool {
	for _, s := range subs {
		select {
		case <-s.guard.done():
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// Closed reports whether [Bus.Close] has been called.
func (b *Bus) Closed() bool { return b.closed.Load() }
