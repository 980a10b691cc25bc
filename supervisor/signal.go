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

// RunUntilSignal runs root, typically the root [Supervisor] of a program,
// until the process receives SIGINT or SIGTERM or ctx is done, then cancels
// root's context and waits at most grace for it to return.
//
// It returns root's error, with nil and context.Canceled counting as a
// clean stop (nil). If root returns on its own, say because it gave up, its
// error is returned at once. If root has not returned grace after the stop,
// RunUntilSignal returns an error matching [ErrGraceExpired] without waiting
// for it; its goroutine is abandoned, which is harmless as the program is
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
	sigCtx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	var g run.Group
	g.Add(run.ContextHandler(sigCtx)) // a signal, or ctx done

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
