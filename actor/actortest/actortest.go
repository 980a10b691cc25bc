// Package actortest helps test code built on package actor without
// sleeping: a fake [Clock] that drives timers and idle timeouts, and waits
// for a key of a Keyed to be idle or passivated.
//
//	clk := actortest.NewClock(time.Now())
//	orders := actor.NewKeyed("orders", newOrder, actor.WithClock(clk), actor.WithIdleTimeout(time.Minute))
//	...
//	actortest.WaitIdle(ctx, orders, "o-1")   // its messages handled, its goroutine gone
//	clk.Advance(2 * time.Minute)              // the idle key is passivated, here
package actortest

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/clock"
)

// Clock is a manually advanced [actor.Clock]: time stands still until
// [Clock.Advance] moves it, which runs every timer that falls due (a
// message scheduled with SendAfter, After or Every; a Keyed's check for
// idle keys) on the calling goroutine, in deadline order, before it
// returns. It is safe for concurrent use and must not be copied.
type Clock struct{ f *clock.Fake }

// NewClock returns a fake clock that reads now until advanced.
func NewClock(now time.Time) *Clock { return &Clock{clock.NewFake(now)} }

// Now returns the fake current time.
func (c *Clock) Now() time.Time { return c.f.Now() }

// AfterFunc implements [actor.Clock]: f runs in the Advance that makes d
// pass.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	return c.f.AfterFunc(d, f).Stop
}

// Advance moves the clock forward by d and runs every timer that falls due.
func (c *Clock) Advance(d time.Duration) { c.f.Advance(d) }

// Pending returns the number of timers waiting to fire.
func (c *Clock) Pending() int { return c.f.Pending() }

// BlockUntil waits until at least n timers are pending: a test calls it to
// know that the code under test has armed its timers before it advances
// the clock.
func (c *Clock) BlockUntil(n int) { c.f.BlockUntil(n) }

// WaitIdle waits until key's actor in kd has handled every message sent to
// it and its goroutine has parked (or it has no actor), or ctx ends. After
// it, a clock advanced past the idle timeout twice passivates the key.
func WaitIdle[K comparable, M any](ctx context.Context, kd *actor.Keyed[K, M], key K) error {
	return wait(ctx, func() bool {
		s, ok := kd.KeyStats(key)
		return !ok || s.Queued == 0 && !s.Running
	}, "key %v of %s idle", key, kd.Name())
}

// WaitGone waits until key has no actor in kd (never sent to, passivated
// or removed), or ctx ends.
func WaitGone[K comparable, M any](ctx context.Context, kd *actor.Keyed[K, M], key K) error {
	return wait(ctx, func() bool {
		_, ok := kd.KeyStats(key)
		return !ok
	}, "key %v of %s gone", key, kd.Name())
}

// wait yields until cond holds or ctx ends: the goroutines it waits for
// run on the cores it yields.
func wait(ctx context.Context, cond func() bool, format string, args ...any) error {
	for !cond() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("actortest: waiting for %s: %w", fmt.Sprintf(format, args...), context.Cause(ctx))
		}
		runtime.Gosched()
	}
	return nil
}
