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

	// retired holds the routes replaced in the table (or sealed by Close)
	// that publishes may still be delivering along; see Unsubscribe.
	retired []*route

	closed atomic.Bool
	// aborted is set by Close when its context ended before the in-flight
	// publishes finished: blocked deliveries are canceled from then on.
	aborted atomic.Bool
	// waiting counts the publishes waiting for room in Block inboxes.
	waiting flight
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
		byType: make(map[reflect.Type][]*Subscription),
		cfg:    config{slowAfter: DefaultSlowAfter},
	}
	b.waiting.init()
	for _, o := range opts {
		o(&b.cfg)
	}
	b.table.Store(newTable(map[reflect.Type]*route{}))
	return b
}

// Close closes the bus: Publish and Subscribe return [ErrClosed] from now
// on. Close then ends the deliveries of the publishes in flight, including
// their waits for room in [Block] inboxes: once it returns, no event is
// delivered any more. It cuts off the deliveries to actors that have not
// started (the events are reported as dead letters with [ErrCanceled] and
// [ErrClosed]) and waits for the other deliveries to finish. If ctx ends
// first, the waits for room are canceled (and reported the same way) and
// Close returns ctx's error once they have returned.
//
// The bus never closes or stops an inbox: the inboxes belong to their
// owners, who stop them after Close, so a late event meets a stopped actor
// (an error) rather than a closed channel (a panic). Close may be called more
// than once and from several goroutines; each call waits as the first.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed.Swap(true) {
		// Publishes that find a sealed route while the bus is closed
		// return ErrClosed.
		for _, r := range b.table.Load().routes {
			b.retire(r)
		}
	}
	routes := slices.Clone(b.retired)
	subs := slices.Clone(b.all)
	b.mu.Unlock()
	// The publishes along uncounted routes are not waited for: their
	// deliveries are cut off, and reported.
	for _, s := range subs {
		s.cut()
	}
	// The publishes along the routes never wait; those that must wait for
	// room are counted in b.waiting before they leave their route.
	for _, r := range routes {
		<-r.flight.done()
	}
	b.waiting.close()
	select {
	case <-b.waiting.done():
		return nil
	case <-ctx.Done():
	}
	b.abort()
	<-b.waiting.done()
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
func (b *Bus) Closed() bool { return b.closed.Load() }
