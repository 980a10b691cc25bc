package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oklog/run"
)

// ErrGraceExpired is matched by the error [RunUntilSignal] returns when the
// root did not return within the grace period after being told to stop.
var ErrGraceExpired = errors.New("supervisor: root did not stop within the grace period")

// ErrSecondSignal is matched by the error [RunUntilSignal] returns when a
// second SIGINT or SIGTERM arrived while the root was stopping: the user
// pressed Ctrl-C twice and wants out now.
var ErrSecondSignal = errors.New("supervisor: second signal during shutdown")

// RunUntilSignal runs root, typically the root [Supervisor] of a program,
// until the process receives SIGINT or SIGTERM or ctx is done, then cancels
// root's context and waits at most grace for it to return.
//
// It returns root's error, with nil and context.Canceled counting as a
// clean stop (nil). If root returns on its own, say because it gave up, its
// error is returned at once. If root has not returned grace after the stop,
// RunUntilSignal returns an error matching [ErrGraceExpired] without waiting
// for it; if a second SIGINT or SIGTERM arrives before then, it returns at
// once an error matching [ErrSecondSignal] that names the signal. Either
// way root's goroutine is abandoned, which is harmless as the program is
// about to exit. Give root's children shutdown timeouts that add up to less
// than grace, so that a stuck child is named in a *[ShutdownError] rather
// than the whole root timing out.
//
// The signals are caught before root starts, so a signal can never find the
// program without a handler and kill it with the default action. It panics
// if root is nil or grace is negative.
func RunUntilSignal(ctx context.Context, root Runner, grace time.Duration) error {
	if root == nil {
		panic("supervisor: RunUntilSignal: nil root")
	}
	nonNegative("RunUntilSignal", "grace", grace)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var g run.Group
	// The first signal, or ctx done, stops root.
	watchCtx, stopWatch := context.WithCancel(ctx)
	g.Add(func() error {
		select {
		case sig := <-sigs:
			return fmt.Errorf("supervisor: received %v", sig)
		case <-watchCtx.Done():
			return watchCtx.Err()
		}
	}, func(error) { stopWatch() })

	rootCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopping := make(chan struct{})
	var rootErr error
	g.Add(func() error {
		done := make(chan error, 1)
		go func() { done <- root.Run(rootCtx) }()
		select {
		case rootErr = <-done:
			return rootErr
		case <-stopping:
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case rootErr = <-done:
		case <-t.C:
			rootErr = fmt.Errorf("%w (%v): its goroutine is abandoned", ErrGraceExpired, grace)
		case sig := <-sigs:
			rootErr = fmt.Errorf("%w (%v): root's goroutine is abandoned", ErrSecondSignal, sig)
		}
		return rootErr
	}, func(error) {
		cancel()
		close(stopping)
	})

	g.Run()
	if errors.Is(rootErr, context.Canceled) {
		return nil
	}
	return rootErr
}
