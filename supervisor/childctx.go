package supervisor

import (
	"context"
	"slices"
	"sync"
	"time"
)

// A childContext is the context of a child's Run: the child's values (its
// runner and shutdown timeout, and, in vals, its path as a pprof label
// over the values of the supervisor's Run context) and a cancellation of
// its own, which only the supervisor's stop triggers: vals never ends, as
// the supervisor stops its children itself.
//
// It is what context.WithCancel made over the child's values, cheaper for
// a child that waits. A function registered on it with context.AfterFunc,
// or a context made from it with context.WithCancel, is kept in a slice:
// the context package hands them to a context's own AfterFunc method when
// it has one. context.WithCancel kept them in a map made for the purpose,
// for the one entry an actor registers at every Run to hear of its end.
// It also holds the child's values, where a context of its own held them.
// A child's context with one such entry costs 448 bytes, where it cost 640
// (BenchmarkChildContextAfterFunc), for as long as the child runs.
type childContext struct {
	vals     context.Context
	runner   Runner
	shutdown time.Duration

	mu       sync.Mutex
	done     chan struct{}
	canceled bool
	// after holds the functions registered by AfterFunc and not stopped,
	// to be called when the context is cancelled; lastID numbers them.
	after  []afterEntry
	lastID uint64
}

// An afterEntry is a function registered by AfterFunc, with the number
// its stop looks it up by.
type afterEntry struct {
	id uint64
	f  func()
}

func newChildContext(vals context.Context, r Runner, shutdown time.Duration) *childContext {
	return &childContext{vals: vals, runner: r, shutdown: shutdown, done: make(chan struct{})}
}

// Deadline returns the values' deadline: none.
func (c *childContext) Deadline() (time.Time, bool) { return c.vals.Deadline() }

// Done returns a channel closed when the context is cancelled.
func (c *childContext) Done() <-chan struct{} { return c.done }

// Err returns context.Canceled once the context is cancelled, nil before.
func (c *childContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled {
		return context.Canceled
	}
	return nil
}

// Value returns the child's runner for runnerKey, its shutdown timeout for
// shutdownKey, and otherwise the values' value.
func (c *childContext) Value(key any) any {
	switch key.(type) {
	case runnerKey:
		return c.runner
	case shutdownKey:
		return c.shutdown
	}
	return c.vals.Value(key)
}

// AfterFunc arranges to call f once the context is cancelled, at once if
// it is; stop unregisters f, and reports whether it did so before f was
// called. It is what context.AfterFunc and context.WithCancel call to
// register on the context, with a function that only cancels a context
// of theirs (context.AfterFunc's f then starts in its own goroutine): so
// f is called on the goroutine that cancels, as context.WithCancel's
// children are, and a context made from this one is done by the time
// cancel returns. On a context already cancelled, f starts in a goroutine
// of its own: the context package registers while holding the lock of the
// context it makes, which its f takes.
func (c *childContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.canceled {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.lastID++
	id := c.lastID
	c.after = append(c.after, afterEntry{id, f})
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.IndexFunc(c.after, func(e afterEntry) bool { return e.id == id })
		if i < 0 {
			return false
		}
		c.after = slices.Delete(c.after, i, i+1)
		return true
	}
}

// cancel cancels the context: Done's channel is closed, Err returns
// context.Canceled, and the functions registered with AfterFunc are
// called.
func (c *childContext) cancel() {
	c.mu.Lock()
	if c.canceled {
		c.mu.Unlock()
		return
	}
	c.canceled = true
	close(c.done)
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for _, e := range after {
		e.f()
	}
}
