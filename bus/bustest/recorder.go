package bustest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
)

// A Recorder is a [bus.Inbox] that records every event it is given, in
// order, and never refuses one. It is safe for concurrent use and must not be
// copied.
type Recorder[E any] struct {
	name string

	mu     sync.Mutex
	events []E
	// changed is closed, and replaced, whenever an event is recorded.
	changed chan struct{}
}

// NewRecorder returns an empty recorder named name. It panics if name is
// empty.
func NewRecorder[E any](name string) *Recorder[E] {
	if name == "" {
		panic("bustest: NewRecorder: empty name")
	}
	return &Recorder[E]{name: name, changed: make(chan struct{})}
}

// Name returns the recorder's name.
func (r *Recorder[E]) Name() string { return r.name }

// Send records e and returns nil.
func (r *Recorder[E]) Send(_ context.Context, e E) error {
	r.Record(e)
	return nil
}

// Offer records e and returns nil.
func (r *Recorder[E]) Offer(_ context.Context, e E) error {
	r.Record(e)
	return nil
}

// Record records e. Its signature fits bus.WithDeadLetterHook and
// bus.WithSlowHook, for a Recorder[bus.DeadLetter] or a
// Recorder[bus.SlowSubscriber].
func (r *Recorder[E]) Record(e E) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far.
func (r *Recorder[E]) Events() []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]E(nil), r.events...)
}

// Count returns how many events were recorded so far.
func (r *Recorder[E]) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Reset forgets the events recorded so far.
func (r *Recorder[E]) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// wait calls done with the events recorded so far, then again after each
// new one, until it returns true or ctx ends. It returns the events done
// accepted, or ctx's error wrapped with what was recorded.
func (r *Recorder[E]) wait(ctx context.Context, what string, done func([]E) bool) ([]E, error) {
	for {
		r.mu.Lock()
		events, changed := r.events, r.changed
		r.mu.Unlock()
		// events is only appended to: the prefix read here is stable.
		if done(events) {
			return append([]E(nil), events...), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return append([]E(nil), events...), fmt.Errorf("bustest: %s: waited for %s; got %d events %+v: %w", r.name, what, len(events), events, context.Cause(ctx))
		}
	}
}

// WaitFor waits until r has recorded an event for which match returns true,
// and returns the first such event. Events recorded before the call count.
// When ctx ends first, it returns an error wrapping ctx's error and listing
// what was recorded.
func WaitFor[E any](ctx context.Context, r *Recorder[E], match func(E) bool) (E, error) {
	var found E
	_, err := r.wait(ctx, "a matching event", func(events []E) bool {
		for _, e := range events {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitN waits until r has recorded at least n events and returns all the
// events recorded by then. When ctx ends first, it returns an error wrapping
// ctx's error and listing what was recorded.
func WaitN[E any](ctx context.Context, r *Recorder[E], n int) ([]E, error) {
	return r.wait(ctx, fmt.Sprintf("%d events", n), func(events []E) bool { return len(events) >= n })
}

// Expect waits until r has recorded len(want) events and reports an error
// unless they are want, in order, as compared by reflect.DeepEqual. It also
// fails if more events than want had been recorded by the time it looked.
// When ctx ends first, it returns an error wrapping ctx's error and listing
// what was recorded.
func Expect[E any](ctx context.Context, r *Recorder[E], want ...E) error {
	got, err := WaitN(ctx, r, len(want))
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		return fmt.Errorf("bustest: %s: got events %+v; want %+v", r.name, got, want)
	}
	return nil
}
