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
)

// closedBit marks a Bus's or a Subscription's state as closed; the bits
// below it count the publishes (deliveries) in flight.
const closedBit = int64(1) << 62

// A Bus routes published events, by Go type, to the inboxes subscribed to
// them. The zero value is not usable: make one with [New]. A Bus is safe for
// concurrent use and must not be copied.
type Bus struct {
	cfg config

	// mu serialises Subscribe, Unsubscribe, route building and Close. It is
	// never held while an inbox is called.
	mu     sync.Mutex
	seq    uint64
	byType map[reflect.Type][]*Subscription // concrete and interface types
	ifaces []*Subscription                  // subscriptions to interface types, in order
	all    []*Subscription                  // every live subscription, in order

	// table is the route table, read by Publish with one atomic load and
	// replaced (copy on write) under mu.
	table atomic.Pointer[table]

	// aborted is set by Close when its context ended before the in-flight
	// publishes finished: blocked deliveries are canceled from then on.
	aborted atomic.Bool

	// state counts the publishes in flight, plus closedBit once Close has
	// been called; drained is closed when the bus is closed and no publish
	// is in flight.
	_         [64]byte
	state     atomic.Int64
	_         [64]byte
	drained   chan struct{}
	drainOnce sync.Once
}

// An Option configures a [Bus] at construction.
type Option func(*config)

type config struct {
	logger       *slog.Logger
	onDeadLetter func(DeadLetter)
	onSlow       func(SlowSubscriber)
	slowAfter    time.Duration
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
// level Warn. It panics if h is nil.
func WithDeadLetterHook(h func(DeadLetter)) Option {
	if h == nil {
		panic("bus: WithDeadLetterHook: nil hook")
	}
	return func(c *config) { c.onDeadLetter = h }
}

// WithSlowHook sets the function called when a subscription becomes slow
// (see [SlowSubscriber]). It runs on the publishing goroutine and must not
// block. The default logs at level Warn. It panics if h is nil.
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
		byType:  make(map[reflect.Type][]*Subscription),
		drained: make(chan struct{}),
		cfg:     config{slowAfter: DefaultSlowAfter},
	}
	for _, o := range opts {
		o(&b.cfg)
	}
	b.table.Store(newTable(map[reflect.Type]*route{}))
	return b
}

// enter counts a publish in flight; it reports false, counting nothing, if
// the bus is closed.
func (b *Bus) enter() bool {
	if b.state.Add(1)&closedBit != 0 {
		b.leave()
		return false
	}
	return true
}

// leave ends a publish counted by enter.
func (b *Bus) leave() {
	if b.state.Add(-1) == closedBit {
		b.drainOnce.Do(func() { close(b.drained) })
	}
}

// Close closes the bus: Publish and Subscribe return [ErrClosed] from now
// on. Close then waits for the publishes in flight to finish, including
// their waits for room in [Block] inboxes. If ctx ends first, those waits are
// canceled (the events are reported as dead letters with [ErrCanceled] and
// [ErrClosed]) and Close returns ctx's error once the publishes have
// returned.
//
// The bus never closes or stops an inbox: the inboxes belong to their
// owners, who stop them after Close, so a late event meets a stopped actor
// (an error) rather than a closed channel (a panic). Close may be called more
// than once and from several goroutines; each call waits as the first.
func (b *Bus) Close(ctx context.Context) error {
	if b.state.Or(closedBit) == 0 {
		b.drainOnce.Do(func() { close(b.drained) })
	}
	select {
	case <-b.drained:
		return nil
	case <-ctx.Done():
	}
	b.abort()
	<-b.drained
	return fmt.Errorf("bus: Close: publishes in flight canceled: %w", context.Cause(ctx))
}

// abort cancels every blocked delivery, now and later.
func (b *Bus) abort() {
	b.aborted.Store(true)
	b.mu.Lock()
	subs := slices.Clone(b.all)
	b.mu.Unlock()
	for _, s := range subs {
		s.cancelWaits(ErrClosed)
	}
}

// Closed reports whether [Bus.Close] has been called.
func (b *Bus) Closed() bool { return b.state.Load()&closedBit != 0 }
