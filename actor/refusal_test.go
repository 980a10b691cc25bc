package actor

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRefusalDisarmedBeforeItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var r refusal
	var ran atomic.Bool
	r.arm(ctx, func() { ran.Store(true); r.done() })
	if !r.disarm() {
		t.Fatal("disarm before the context ended = false; want true")
	}
	cancel()
	if r.disarm() {
		t.Error("second disarm = true; want false")
	}
	if ran.Load() {
		t.Error("the refusal ran after it was disarmed")
	}
}

func TestRefusalRunsWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var r refusal
	release := make(chan struct{})
	var finished atomic.Bool
	r.arm(ctx, func() {
		<-release
		finished.Store(true)
		r.done()
	})
	cancel()
	// wait and disarm return only once the function has finished.
	waited := make(chan struct{})
	go func() {
		r.wait()
		close(waited)
	}()
	close(release)
	<-waited
	if !finished.Load() {
		t.Fatal("wait returned before the refusal finished")
	}
	if r.disarm() {
		t.Error("disarm after the refusal ran = true; want false")
	}
}

// funcContext is a context with its own AfterFunc method, as a
// supervisor's child's context has: end calls what is registered, on the
// calling goroutine. (Its Done channel is never closed: it stands for one
// that may be.)
type funcContext struct {
	context.Context
	done chan struct{}
	mu   sync.Mutex
	fs   []*func()
}

func newFuncContext() *funcContext {
	return &funcContext{Context: context.Background(), done: make(chan struct{})}
}

func (c *funcContext) Done() <-chan struct{} { return c.done }

func (c *funcContext) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &f
	c.fs = append(c.fs, e)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.fs, e)
		if i < 0 {
			return false
		}
		c.fs = slices.Delete(c.fs, i, i+1)
		return true
	}
}

// end calls the functions registered and not stopped, and reports how
// many.
func (c *funcContext) end() int {
	c.mu.Lock()
	fs := c.fs
	c.fs = nil
	c.mu.Unlock()
	for _, f := range fs {
		(*f)()
	}
	return len(fs)
}

func TestRefusalUsesTheContextsAfterFunc(t *testing.T) {
	t.Run("disarmed", func(t *testing.T) {
		ctx := newFuncContext()
		var r refusal
		r.arm(ctx, func() { t.Error("the refusal ran after it was disarmed"); r.done() })
		if !r.disarm() {
			t.Fatal("disarm before the context ended = false; want true")
		}
		if n := ctx.end(); n != 0 {
			t.Errorf("got %d functions left registered on the context; want 0", n)
		}
	})
	t.Run("ended", func(t *testing.T) {
		ctx := newFuncContext()
		var r refusal
		var ran atomic.Bool
		r.arm(ctx, func() { ran.Store(true); r.done() })
		if n := ctx.end(); n != 1 {
			t.Fatalf("got %d functions registered on the context; want the refusal", n)
		}
		if !ran.Load() {
			t.Fatal("the refusal did not run when the context ended")
		}
		if r.disarm() {
			t.Error("disarm after the refusal ran = true; want false")
		}
	})
}

// BenchmarkRefusalArm measures arming a refusal on a context with its own
// AfterFunc method, and, as the baseline, going through context.AfterFunc
// as arm did: the bytes are what a waiting Run keeps.
func BenchmarkRefusalArm(b *testing.B) {
	f := func() {}
	b.Run("arm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx := newFuncContext()
			var r refusal
			r.arm(ctx, f)
		}
	})
	b.Run("context.AfterFunc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx := newFuncContext()
			var r refusal
			r.pending.Add(1)
			r.stop = context.AfterFunc(ctx, f)
		}
	})
}
