package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manually advanced [Clock] for tests. Time stands still until
// [Fake.Advance] moves it; timers fire only then, never on their own. It is
// safe for concurrent use and must not be copied after first use.
type Fake struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	pending []*fakeTimer
}

// NewFake returns a fake clock that reads now until advanced.
func NewFake(now time.Time) *Fake {
	f := &Fake{now: now}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// Now returns the fake current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires once the clock has been advanced by d.
// A d of zero or less fires at once.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.at = f.now.Add(d)
	if d <= 0 {
		t.c <- f.now
		return t
	}
	f.pending = append(f.pending, t)
	f.cond.Broadcast()
	return t
}

// After is shorthand for NewTimer(d).C().
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// Advance moves the clock forward by d and fires, in deadline order, every
// pending timer that has fallen due. The timers' channels are buffered, so
// Advance never waits for a receiver; the functions of [Fake.AfterFunc]
// timers run on the calling goroutine, after the clock's lock is released,
// so they may make timers of their own.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	sort.SliceStable(f.pending, func(i, j int) bool { return f.pending[i].at.Before(f.pending[j].at) })
	kept := f.pending[:0]
	var funcs []func()
	for _, t := range f.pending {
		if t.at.After(f.now) {
			kept = append(kept, t)
			continue
		}
		if t.fn != nil {
			funcs = append(funcs, t.fn)
			continue
		}
		t.c <- t.at
	}
	clear(f.pending[len(kept):])
	f.pending = kept
	f.mu.Unlock()
	for _, fn := range funcs {
		fn()
	}
}

// AfterFunc returns a timer that calls fn, on the goroutine that calls
// [Fake.Advance], once the clock has been advanced by d; its C is nil. A d
// of zero or less is due at the next Advance.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.at = f.now.Add(max(d, 0))
	f.pending = append(f.pending, t)
	f.cond.Broadcast()
	return t
}

// Pending returns the number of timers waiting to fire.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// BlockUntil waits until at least n timers are pending. Tests call it to know
// that the code under test has armed its timers before calling Advance.
func (f *Fake) BlockUntil(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.pending) < n {
		f.cond.Wait()
	}
}

type fakeTimer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
	// fn is the function of an AfterFunc timer, which has no channel.
	fn func()
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, p := range t.f.pending {
		if p == t {
			t.f.pending = append(t.f.pending[:i], t.f.pending[i+1:]...)
			return true
		}
	}
	return false
}
