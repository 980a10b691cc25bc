package supervisor

import (
	"context"
	"errors"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/troupe-go/troupe/internal/backoff"
)

// child is one child of a supervisor. Its runner and options are fixed by
// Add; the rest is the state of the current Run.
type child struct {
	name     string
	runner   Runner
	restart  Restart
	shutdown time.Duration // 0: the supervisor's default
	seq      int           // Add order

	// Set when a Run begins, or when Add adds the child to a running
	// supervisor; read-only afterwards. vals holds the values of the
	// child's contexts but those it holds itself (see childContext): its
	// path, as a pprof label, computed once so that a restart does not.
	path string
	vals context.Context

	// Owned by the supervisor's loop. bo is reset when a Run begins and
	// made at the child's first restart (see Supervisor.backoff).
	bo      *backoff.Backoff
	inst    *instance // the running instance, nil when not running
	spare   *instance // the last instance, if it returned on its own: its context, never cancelled, serves the next
	due     time.Time // when a pending restart is due
	retired bool      // not started again in this Run
	// significant is fixed by Add, as the first fields are; it sits with
	// the other flags, which would each take a word apart.
	significant bool

	// Guarded by Supervisor.mu, for Tree.
	started  bool // started in this Run
	state    State
	since    time.Time
	restarts int // over every Run
	lastErr  error
	delay    time.Duration
}

// instance is one call of a child's Run.
type instance struct {
	c   *child
	ctx *childContext // cancelled by stop only
	// returned says Run has returned; done, made only by a stop that must
	// wait (most instances exit on their own, and a restart should not pay
	// for it), is closed then. Both are guarded by mu.
	mu       sync.Mutex
	returned bool
	done     chan struct{}
	err      error // Run's error, set before done is closed
	began    time.Time
}

// runnerKey is the context key under which a child's context holds its
// runner, so that a supervisor can tell whether it is that child.
type runnerKey struct{}

// backoff returns c's restart backoff, made at its first restart in a Run:
// a child that never restarts holds none.
func (s *Supervisor) backoff(c *child) *backoff.Backoff {
	if c.bo == nil {
		c.bo = backoff.New(s.cfg.backoffMin, s.cfg.backoffMax, s.cfg.int64n)
	}
	return c.bo
}

// childPath returns the path of supervisor s run with ctx: that of the
// child it runs as (the child's runner is s, or a wrapper that runs s under
// the child's name), or, inside another child's Run, that child's path
// followed by its own name.
func childPath(ctx context.Context, s *Supervisor) string {
	p := Path(ctx)
	switch {
	case p == "":
		return s.name
	case ctx.Value(runnerKey{}) == Runner(s), p[strings.LastIndexByte(p, '/')+1:] == s.name:
		return p
	}
	return p + "/" + s.name
}

// ready gives c its path and resets its state for a Run; base is the Run's
// context without its cancellation. s.mu is held.
func (s *Supervisor) ready(base context.Context, c *child, now time.Time) {
	c.path = s.path + "/" + c.name
	c.vals = pprof.WithLabels(base, pprof.Labels(pathLabel, c.path))
	c.bo = nil // made at the first restart (see backoff)
	c.inst, c.spare, c.retired = nil, nil, false
	c.state, c.since, c.started, c.lastErr, c.delay = StateIdle, now, false, nil, 0
}

// start runs c's start phase, if it has one, then its Run on a goroutine of
// its own, labelled with its path; or, when here, it returns the instance
// for c's own goroutine to run (see exitedHere). The next child's start
// waits until that goroutine is about to call Run, so Runs are called in
// start order. The start phase's error is returned, with c not running;
// ErrIgnore leaves c not running without a failure. ctx is the
// supervisor's: its end cancels a start phase in progress. now is the time
// of the start, read again after a start phase.
func (s *Supervisor) start(ctx context.Context, l *loop, c *child, here bool, now time.Time) (*instance, error) {
	if l.starting {
		<-l.began // the previous child's goroutine is about to call Run
		l.starting = false
	}
	var cctx *childContext
	if in := c.spare; in != nil {
		cctx = in.ctx
		c.spare = nil
	} else {
		// The context's done channel is made here, on the supervisor's
		// goroutine, rather than under the child's first call to Done,
		// deep in its Run. The child's goroutine then has more of the 2 KB
		// stack it starts with for its own calls (see TestIdleActorStack in
		// package actor).
		cctx = newChildContext(c.vals, c.runner, s.shutdownOf(c))
	}
	if st, ok := c.runner.(Starter); ok {
		stop := context.AfterFunc(ctx, cctx.cancel)
		err := callStart(cctx, st)
		stop()
		if err != nil {
			cctx.cancel()
			if err == ErrIgnore {
				s.ignored(c)
			}
			return nil, err
		}
		now = s.cfg.clock.Now()
	}
	in := &instance{c: c, ctx: cctx, began: now}
	c.inst = in
	s.mu.Lock()
	kind := Started
	if c.started {
		kind = Restarted
		c.restarts++
	}
	c.started = true
	c.state, c.since, c.delay = StateRunning, now, 0
	restarts := c.restarts
	s.mu.Unlock()
	s.emit(Event{Kind: kind, Time: now, Child: c.name, Path: c.path, Restarts: restarts})
	l.starting = true
	if here {
		return in, nil
	}
	first := in
	go func() {
		// No arguments: the function is the goroutine's first frame,
		// without a wrapper's, and the child's Run has that much more of
		// the 2 KB stack a goroutine starts with.
		in := first
		pprof.SetGoroutineLabels(cctx)
		for in != nil {
			l.began <- struct{}{} // buffered: never waits
			in.err = call(in.ctx, c.runner)
			in.markReturned()
			in = s.exitedHere(ctx, l, in)
		}
	}()
	return in, nil
}

// ignored records that c's start phase returned ErrIgnore: it is not
// running, and a Temporary child is not started again.
func (s *Supervisor) ignored(c *child) {
	s.set(c, StateIdle, nil, s.cfg.clock.Now())
	c.retired = c.restart == Temporary
	s.emit(Event{Kind: Ignored, Child: c.name, Path: c.path, Restarts: c.restarts})
}

// stop stops c if it is running: it cancels its context and waits at most
// its shutdown timeout for its Run to return. A child that does not return
// in time is abandoned: recorded as stuck, with its stack, and never started
// again in this Run, since its Run may still be going on. A Temporary child
// is not started again either. stop reports whether c was abandoned.
func (s *Supervisor) stop(l *loop, c *child) (abandoned bool) {
	in := c.inst
	if in == nil {
		if l.isPending(c) { // a pending restart of c is cancelled with it
			l.unschedule(c)
			s.set(c, StateStopped, nil, s.cfg.clock.Now())
		}
		return false
	}
	c.inst = nil
	in.ctx.cancel()
	if !s.wait(in, s.shutdownOf(c)) {
		c.retired = true
		stuck := StuckChild{Path: c.path, Timeout: s.shutdownOf(c), Stack: stacks(c.path)}
		s.mu.Lock()
		s.stuck = append(s.stuck, stuck)
		s.mu.Unlock()
		s.set(c, StateAbandoned, nil, s.cfg.clock.Now())
		s.emit(Event{Kind: Abandoned, Child: c.name, Path: c.path, Restarts: c.restarts})
		return true
	}
	s.collectStuck(in.err)
	s.set(c, StateStopped, nil, s.cfg.clock.Now())
	s.emit(Event{Kind: Stopped, Child: c.name, Path: c.path, Err: in.err, Restarts: c.restarts})
	if c.restart == Temporary {
		c.retired = true
		retireRunner(c)
	}
	return false
}

// wait waits at most d for in's Run to return, and reports whether it did.
// A Run that returned is never taken for a stuck one, even when the timer
// fired at the same moment.
func (s *Supervisor) wait(in *instance, d time.Duration) bool {
	done := in.doneChan()
	select {
	case <-done:
		return true
	default:
	}
	t := s.cfg.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C():
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// markReturned records that in's Run has returned; in.err is set.
func (in *instance) markReturned() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.returned = true
	if in.done != nil {
		close(in.done)
	}
}

// doneChan returns a channel closed once in's Run has returned.
func (in *instance) doneChan() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.done == nil {
		in.done = make(chan struct{})
		if in.returned {
			close(in.done)
		}
	}
	return in.done
}

func (s *Supervisor) shutdownOf(c *child) time.Duration {
	if c.shutdown > 0 {
		return c.shutdown
	}
	return s.cfg.shutdown
}

// set records c's new state and, if err is not nil, its failure.
func (s *Supervisor) set(c *child, state State, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.state, c.since = state, now
	if err != nil {
		c.lastErr = err
	}
}

// exitKind classifies how a child's Run ended, for its Restart type.
type exitKind int

const (
	// normalExit: nil or context.Canceled.
	normalExit exitKind = iota
	// shutdownExit: a supervisor that gave up (ErrTooManyRestarts), OTP's
	// exit reason shutdown: restarted only by a Permanent entry.
	shutdownExit
	// failure: any other error, or a panic.
	failure
)

func classify(err error) exitKind {
	switch {
	case err == nil || errors.Is(err, context.Canceled):
		return normalExit
	case errors.Is(err, ErrTooManyRestarts):
		return shutdownExit
	}
	return failure
}
