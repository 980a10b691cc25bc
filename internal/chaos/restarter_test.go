package chaos

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/supervisor"
)

// A restarter runs a Runner (a Keyed, a pool) under a supervisor that
// starts it again whenever its Run returns, within a millisecond. Each Run
// gets a context of its own, which a handler can end with cancel. It
// counts the Runs, those that failed, and those that left a handler stuck
// behind (their error matches ErrDrainTimeout). The wrapper around the
// Runner hides its Retire from the supervisor: a test retires it itself.
type restarter struct {
	cancelRun             atomic.Pointer[context.CancelFunc]
	runs, failures, stuck atomic.Uint64
	stopSupervisor        context.CancelFunc
	supervisorDone        chan error
}

// start starts r under a supervisor named name.
func (rs *restarter) start(t *testing.T, name string, r supervisor.Runner) {
	t.Helper()
	sup := supervisor.New(name,
		supervisor.WithIntensity(1<<20, time.Second),
		supervisor.WithBackoff(0, time.Millisecond),
		supervisor.WithLogger(discard),
		supervisor.WithHook(func(e supervisor.Event) {
			if e.Kind == supervisor.Failed {
				rs.failures.Add(1)
				if errors.Is(e.Err, actor.ErrDrainTimeout) {
					rs.stuck.Add(1)
				}
			}
		}),
	)
	if err := sup.Add(name, supervisor.RunnerFunc(func(ctx context.Context) error {
		rs.runs.Add(1)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		rs.cancelRun.Store(&cancel)
		return r.Run(ctx)
	})); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	rs.stopSupervisor, rs.supervisorDone = stop, make(chan error, 1)
	go func() { rs.supervisorDone <- sup.Run(ctx) }()
}

// cancel ends the context of the Run in progress, if one has started, and
// reports whether it did.
func (rs *restarter) cancel() bool {
	c := rs.cancelRun.Load()
	if c == nil {
		return false
	}
	(*c)()
	return true
}

// stop stops the supervisor and checks that its Run ended well.
func (rs *restarter) stop(t *testing.T) {
	t.Helper()
	rs.stopSupervisor()
	if err := <-rs.supervisorDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("supervisor Run = %v", err)
	}
}
