package supervisor

import (
	"context"
	"errors"
	"sync"

	"github.com/oklog/run"
)

// group runs members concurrently as one run.Group, together with an actor
// that returns when ctx is done. The first of them to return interrupts the
// others, as in any run.Group; the interrupt stops the members one at a
// time, last to first, each before the previous one is told to stop. Each
// member has a context of its own, cancelled only by that stop, so the
// reverse order holds even when the whole tree's ctx is cancelled at once.
//
// group returns the error of the first member to return, or nil when ctx
// ended first. It returns only after every member has returned.
func group(ctx context.Context, members []func(context.Context) error) error {
	var g run.Group
	// The actor that returns when ctx ends returns errCtxDone, recognised
	// by identity: a member's error that merely wraps a context error (a
	// child that failed with DeadlineExceeded) must not pass for it.
	stopped := make(chan struct{})
	g.Add(func() error {
		select {
		case <-ctx.Done():
			return errCtxDone
		case <-stopped:
			return nil
		}
	}, func(error) { close(stopped) })

	detached := context.WithoutCancel(ctx) // values (the path), not cancellation
	cancels := make([]context.CancelFunc, len(members))
	dones := make([]chan struct{}, len(members))
	stop := sync.OnceFunc(func() {
		for i := len(members) - 1; i >= 0; i-- {
			cancels[i]()
			<-dones[i]
		}
	})
	for i, m := range members {
		mctx, cancel := context.WithCancel(detached)
		done := make(chan struct{})
		cancels[i], dones[i] = cancel, done
		g.Add(func() error {
			defer close(done)
			return m(mctx)
		}, func(error) { stop() })
	}

	err := g.Run()
	if err == errCtxDone {
		return nil
	}
	return err
}

// errCtxDone is returned by the actor of a group that watches ctx.
var errCtxDone = errors.New("supervisor: context done")
