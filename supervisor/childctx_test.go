package supervisor

import (
	"context"
	"errors"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// newTestChildContext returns a child's context as a supervisor makes it,
// with the path label "root/c".
func newTestChildContext() *childContext {
	vals := pprof.WithLabels(context.Background(), pprof.Labels(pathLabel, "root/c"))
	return newChildContext(vals, RunnerFunc(func(context.Context) error { return nil }), time.Second)
}

func TestChildContext(t *testing.T) {
	c := newTestChildContext()
	if err := c.Err(); err != nil {
		t.Fatalf("got Err %v before cancel; want nil", err)
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed before cancel")
	default:
	}
	if got := Path(c); got != "root/c" {
		t.Errorf("got Path %q; want %q", got, "root/c")
	}
	if d, ok := c.Value(shutdownKey{}).(time.Duration); !ok || d != time.Second {
		t.Errorf("got shutdown %v, %v; want 1s, true", d, ok)
	}
	if _, ok := c.Value(runnerKey{}).(RunnerFunc); !ok {
		t.Errorf("got runner %T; want the child's RunnerFunc", c.Value(runnerKey{}))
	}
	if _, ok := c.Deadline(); ok {
		t.Error("got a deadline; want none")
	}
	c.cancel()
	c.cancel() // a second cancel does nothing
	<-c.Done()
	if err, cause := c.Err(), context.Cause(c); !errors.Is(err, context.Canceled) || !errors.Is(cause, context.Canceled) {
		t.Errorf("got Err %v, Cause %v after cancel; want context.Canceled", err, cause)
	}
}

// TestChildContextAfterFunc checks that what context.AfterFunc and
// context.WithCancel register on a child's context (through its AfterFunc
// method) is called at its cancel, once, unless stopped first, and at once
// when registered after it.
func TestChildContextAfterFunc(t *testing.T) {
	c := newTestChildContext()
	called := make(chan string, 3)
	context.AfterFunc(c, func() { called <- "kept" })
	stop := context.AfterFunc(c, func() { called <- "stopped" })
	child, cancelChild := context.WithCancel(c)
	defer cancelChild()
	if !stop() {
		t.Fatal("stop before cancel reported false; want true")
	}
	if stop() {
		t.Error("a second stop reported true; want false")
	}
	c.cancel()
	// As with context.WithCancel, a context made from c is done when
	// cancel returns.
	if err := child.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("got child Err %v once cancel returned; want context.Canceled", err)
	}
	if got := <-called; got != "kept" {
		t.Errorf("got %q called; want %q", got, "kept")
	}
	// Registered after the cancel: called at once.
	late := context.AfterFunc(c, func() { called <- "late" })
	if got := <-called; got != "late" {
		t.Errorf("got %q called; want %q", got, "late")
	}
	if late() {
		t.Error("stop after the call reported true; want false")
	}
	select {
	case got := <-called:
		t.Errorf("got %q called; want nothing more", got)
	default:
	}
}

// BenchmarkChildContextAfterFunc measures what a child's context and one
// function registered on it with context.AfterFunc cost, as an actor's Run
// registers one: on a childContext, and on the context.WithCancel a child
// had before, whose registration makes a map.
func BenchmarkChildContextAfterFunc(b *testing.B) {
	vals := pprof.WithLabels(context.Background(), pprof.Labels(pathLabel, "root/c"))
	r := RunnerFunc(func(context.Context) error { return nil })
	f := func() {}
	b.Run("childContext", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := newChildContext(vals, r, time.Second)
			context.AfterFunc(c, f)
		}
	})
	b.Run("WithCancel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, cancel := context.WithCancel(&childValuesBaseline{Context: vals, runner: r, shutdown: time.Second})
			c.Done()
			context.AfterFunc(c, f)
			_ = cancel
		}
	})
}

// childValuesBaseline is the context that held a child's values under
// the context.WithCancel that childContext replaces.
type childValuesBaseline struct {
	context.Context
	runner   Runner
	shutdown time.Duration
}

// TestChildContextAfterFuncOnceCancelledCallsElsewhere: on a cancelled
// context, AfterFunc must not call f on its caller's goroutine. The
// context package registers a context made from this one while holding
// that context's lock, with an f that takes the same lock: a cancel that
// lands between the package's look at Done and its call to AfterFunc
// deadlocked the goroutine making the context (a pgoutbox relay's batch
// hung so, 3 times in a few hundred runs of its supervisor test). Here the
// caller holds the lock f takes.
func TestChildContextAfterFuncOnceCancelledCallsElsewhere(t *testing.T) {
	c := newChildContext(context.Background(), nil, 0)
	c.cancel()
	var mu sync.Mutex
	called := make(chan struct{})
	registered := make(chan struct{})
	go func() {
		mu.Lock()
		c.AfterFunc(func() {
			mu.Lock()
			close(called)
			mu.Unlock()
		})
		mu.Unlock()
		close(registered)
	}()
	guard := time.NewTimer(10 * time.Second) // a guard against the hang, not a timing assertion
	defer guard.Stop()
	select {
	case <-registered:
	case <-guard.C:
		t.Fatal("AfterFunc on a cancelled context called f on its caller, which holds the lock f takes: deadlock")
	}
	<-called
}
