package bustest

import (
	"context"
	"fmt"
	"sync"

	"github.com/troupe-go/troupe/bus"
)

// A Queue is a bounded [bus.Inbox] whose events the test takes out itself,
// with [Queue.Take]: a subscriber that falls behind exactly when the test
// says so. It implements [bus.Displacer] and [bus.Depther], so it works
// with every policy and reports its depth. It is safe for concurrent use and
// must not be copied.
type Queue[E any] struct {
	name string
	ch   chan E

	mu      sync.Mutex
	waiting int // Sends waiting for room
	changed chan struct{}
}

// NewQueue returns an empty queue named name that holds up to capacity
// events. It panics if name is empty or capacity < 1.
func NewQueue[E any](name string, capacity int) *Queue[E] {
	if name == "" {
		panic("bustest: NewQueue: empty name")
	}
	if capacity < 1 {
		panic(fmt.Sprintf("bustest: NewQueue(%q): capacity %d < 1", name, capacity))
	}
	return &Queue[E]{name: name, ch: make(chan E, capacity), changed: make(chan struct{})}
}

// Name returns the queue's name.
func (q *Queue[E]) Name() string { return q.name }

// Offer adds e if there is room, or returns [bus.ErrFull], without
// waiting.
func (q *Queue[E]) Offer(_ context.Context, e E) error {
	select {
	case q.ch <- e:
		return nil
	default:
		return bus.ErrFull
	}
}

// Send adds e, waiting for room until ctx ends; it then returns an error
// matching [bus.ErrFull] and ctx's cause. While it waits it counts in
// [Queue.WaitSenders].
func (q *Queue[E]) Send(ctx context.Context, e E) error {
	select {
	case q.ch <- e:
		return nil
	default:
	}
	q.addWaiting(1)
	defer q.addWaiting(-1)
	select {
	case q.ch <- e:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", bus.ErrFull, context.Cause(ctx))
	}
}

// Displace adds e; when the queue is full it first removes the oldest event
// and returns it with evicted true.
func (q *Queue[E]) Displace(_ context.Context, e E) (old E, evicted bool, err error) {
	for {
		select {
		case q.ch <- e:
			return old, evicted, nil
		default:
		}
		if evicted {
			return old, evicted, bus.ErrFull
		}
		select {
		case old = <-q.ch:
			evicted = true
		default:
		}
	}
}

// Len returns the number of queued events.
func (q *Queue[E]) Len() int { return len(q.ch) }

// Cap returns the queue's capacity.
func (q *Queue[E]) Cap() int { return cap(q.ch) }

// Take removes and returns the oldest event, waiting for one until ctx
// ends.
func (q *Queue[E]) Take(ctx context.Context) (E, error) {
	select {
	case e := <-q.ch:
		return e, nil
	case <-ctx.Done():
		var zero E
		return zero, fmt.Errorf("bustest: %s: Take: %w", q.name, context.Cause(ctx))
	}
}

// Drain removes and returns the queued events.
func (q *Queue[E]) Drain() []E {
	var out []E
	for {
		select {
		case e := <-q.ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (q *Queue[E]) addWaiting(n int) {
	q.mu.Lock()
	q.waiting += n
	close(q.changed)
	q.changed = make(chan struct{})
	q.mu.Unlock()
}

// WaitSenders waits until at least n calls of [Queue.Send] are waiting for
// room, or ctx ends. It lets a test act while a publisher is known to be
// blocked on the queue.
func (q *Queue[E]) WaitSenders(ctx context.Context, n int) error {
	for {
		q.mu.Lock()
		w, changed := q.waiting, q.changed
		q.mu.Unlock()
		if w >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("bustest: %s: waited for %d blocked senders; got %d: %w", q.name, n, w, context.Cause(ctx))
		}
	}
}

// NewDeadLetters returns a recorder for a bus's dead letters: pass its
// Record method to [bus.WithDeadLetterHook].
func NewDeadLetters() *Recorder[bus.DeadLetter] {
	return NewRecorder[bus.DeadLetter]("dead letters")
}
