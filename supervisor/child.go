package supervisor

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"time"
)

// member returns the group member that runs child c. It returns an *exit
// when c exits in a way that calls for a restart, which ends the generation.
// When c is the generation's only member (solo), there is nobody to stop
// with it, so the member restarts c in place instead: the same outcome as
// ending and starting a generation of one, without rebuilding the group.
// When c exits for good the member waits for the generation to end, so that
// its exit disturbs no sibling. When ctx is done it stops c and returns nil.
func (s *Supervisor) member(c *child, solo bool) func(context.Context) error {
	return func(ctx context.Context) error {
		lctx := pprof.WithLabels(ctx, c.labels)
		done := make(chan error, 1)
		var inPlace func(error) bool
		var began time.Time
		var gaveUp error
		if solo {
			inPlace = func(err error) bool {
				again, giveUp := s.restartInPlace(ctx, c, err, &began)
				if giveUp != nil {
					gaveUp = giveUp // read by this loop once done delivers
				}
				return again
			}
		}
		for {
			began = s.start(c)
			err, abandoned := s.runOnce(ctx, lctx, c, done, inPlace)
			if abandoned {
				// Its Run may still be going on: never start it again in
				// this Run of the supervisor (a second concurrent Run of
				// the same runner, an actor's ErrAlreadyRunning).
				s.set(c, StateAbandoned, nil, true)
				s.emit(Event{Kind: Abandoned, Child: c.name, Path: c.path, Restarts: c.restarts})
				return nil
			}
			if gaveUp != nil {
				return gaveUp
			}
			var se *ShutdownError
			if errors.As(err, &se) { // a child supervisor's stuck children
				s.mu.Lock()
				s.stuck = append(s.stuck, se.Stuck...)
				s.mu.Unlock()
			}
			bad := failed(err)
			stopping := ctx.Err() != nil
			now := s.cfg.clock.Now()
			if bad && !stopping {
				s.setAt(c, StateFailed, err, false, now)
				s.emit(Event{Kind: Failed, Time: now, Child: c.name, Path: c.path, Err: err, Restarts: c.restarts})
			}
			if !stopping && c.restart.restarts(bad) {
				if !bad {
					s.set(c, StateStopped, nil, false)
				}
				ex := &exit{c: c, err: err, ran: now.Sub(began)}
				if !solo {
					return ex
				}
				if err := s.countRestart(ex); err != nil {
					return err
				}
				if !s.backoff(ctx, ex) {
					return nil
				}
				continue
			}
			state := StateStopped
			if bad {
				state = StateFailed
			}
			// A Temporary child stopped by a sibling's restart is not
			// started again either.
			retire := !stopping || c.restart == Temporary
			s.set(c, state, nil, retire)
			s.emit(Event{Kind: Stopped, Child: c.name, Path: c.path, Err: err, Restarts: c.restarts})
			if !stopping {
				retireRunner(c) // exited for good while its siblings go on
			}
			<-ctx.Done()
			return nil
		}
	}
}

// runOnce runs c in a goroutine of its own, labelled with its path, with
// the context lctx (ctx with the label) and its result sent on done. Once
// ctx is done it waits at most c's shutdown timeout, then abandons the
// goroutine, records c as stuck and returns abandoned.
//
// When inPlace is not nil, the goroutine asks it after every exit whether to
// run c again at once, and only reports the exit when it says no.
func (s *Supervisor) runOnce(ctx, lctx context.Context, c *child, done chan error, inPlace func(error) bool) (err error, abandoned bool) {
	go func() {
		pprof.SetGoroutineLabels(lctx)
		for {
			err := call(lctx, c.runner)
			if inPlace != nil && inPlace(err) {
				continue
			}
			done <- err
			return
		}
	}()
	select {
	case err := <-done:
		return err, false
	case <-ctx.Done():
	}
	t := s.cfg.clock.NewTimer(c.shutdown)
	defer t.Stop()
	select {
	case err := <-done:
		return err, false
	case <-t.C():
	}
	stuck := StuckChild{Path: c.path, Timeout: c.shutdown, Stack: stacks(c.path)}
	s.mu.Lock()
	s.stuck = append(s.stuck, stuck)
	s.mu.Unlock()
	return nil, true
}

// restartInPlace is the restart of a solo child (see member) when its
// backoff is configured to zero, done on the child's own goroutine, so that
// the restart costs no hand-off between goroutines: it records the failure
// and the restart and reports whether to run c again. It declines (again
// false, giveUp nil) whenever the exit needs the general path: ctx is done,
// the exit is normal, c is Temporary, or c is a supervisor with stuck
// children. giveUp is the error to return when the restart exceeded the
// intensity. *began is the start time of the current run, updated on a
// restart.
func (s *Supervisor) restartInPlace(ctx context.Context, c *child, err error, began *time.Time) (again bool, giveUp error) {
	var se *ShutdownError
	if s.cfg.backoffMin != 0 || ctx.Err() != nil || !failed(err) || !c.restart.restarts(true) || errors.As(err, &se) {
		return false, nil
	}
	now := s.cfg.clock.Now()
	s.setAt(c, StateFailed, err, false, now)
	s.emit(Event{Kind: Failed, Time: now, Child: c.name, Path: c.path, Err: err, Restarts: c.restarts})
	if err := s.countRestart(&exit{c: c, err: err, ran: now.Sub(*began)}); err != nil {
		return false, err
	}
	*began = s.start(c)
	return true, nil
}

// start records that c is starting, reports it and returns the time.
func (s *Supervisor) start(c *child) time.Time {
	now := s.cfg.clock.Now()
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
	return now
}

// set records c's new state, its failure if err is not nil, and whether it
// has exited for good.
func (s *Supervisor) set(c *child, state State, err error, retire bool) {
	s.setAt(c, state, err, retire, s.cfg.clock.Now())
}

// setAt is set with the time of the change.
func (s *Supervisor) setAt(c *child, state State, err error, retire bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.state, c.since = state, now
	if err != nil {
		c.lastErr = err
	}
	c.retired = c.retired || retire
}

func (s *Supervisor) isRetired(c *child) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.retired
}

// countRestart records a restart for ex and returns the error that makes
// the supervisor give up when there have been more than the intensity
// allows within the window.
func (s *Supervisor) countRestart(ex *exit) error {
	now := s.cfg.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	from := now.Add(-s.cfg.window)
	s.restarts = slices.DeleteFunc(s.restarts, func(t time.Time) bool { return !t.After(from) })
	s.restarts = append(s.restarts, now)
	if len(s.restarts) <= s.cfg.intensity {
		return nil
	}
	last := ex.err
	if last == nil {
		last = fmt.Errorf("%s exited", ex.c.path)
	}
	return fmt.Errorf("%w: %s: more than %d in %v; last: %s: %w",
		ErrTooManyRestarts, s.path, s.cfg.intensity, s.cfg.window, ex.c.path, last)
}

// backoff waits out the backoff of the child that ex reports, showing it as
// crash-looping meanwhile. It reports false if ctx ended first.
func (s *Supervisor) backoff(ctx context.Context, ex *exit) bool {
	c := ex.c
	if ex.ran >= s.cfg.stableAfter {
		c.bo.Reset()
	}
	d := c.bo.Next()
	if d <= 0 {
		return true
	}
	t := s.cfg.clock.NewTimer(d)
	defer t.Stop()
	s.mu.Lock()
	c.state, c.since, c.delay = StateCrashLooping, s.cfg.clock.Now(), d
	restarts := c.restarts
	s.mu.Unlock()
	s.emit(Event{Kind: BackingOff, Child: c.name, Path: c.path, Err: ex.err, Restarts: restarts, Backoff: d})
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		s.set(c, StateStopped, nil, false)
		return false
	}
}
