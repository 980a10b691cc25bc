package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/troupe-go/troupe/supervisor"
)

var quiet = slog.New(slog.DiscardHandler)

// A two-level tree: a root with a child supervisor whose children are
// restarted together (OneForAll). The email child fails once; its sibling is
// restarted with it, and the tree shows the restart counts.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	failedOnce := false
	restarted := make(chan struct{})

	workers := supervisor.New("workers",
		supervisor.WithStrategy(supervisor.OneForAll),
		supervisor.WithBackoff(0, 0),
		supervisor.WithLogger(quiet))
	workers.Add("email", supervisor.RunnerFunc(func(ctx context.Context) error {
		if !failedOnce {
			failedOnce = true
			return errors.New("smtp: connection refused")
		}
		<-ctx.Done()
		return nil
	}))
	auditRuns := 0
	workers.Add("audit", supervisor.RunnerFunc(func(ctx context.Context) error {
		if auditRuns++; auditRuns == 2 { // started again after email, in Add order
			close(restarted)
		}
		<-ctx.Done()
		return nil
	}))

	root := supervisor.New("root", supervisor.WithLogger(quiet))
	root.Add("workers", workers)

	done := make(chan error)
	go func() { done <- root.Run(ctx) }()
	<-restarted
	cancel()
	fmt.Println("Run:", <-done)
	for _, c := range root.Tree() {
		fmt.Printf("%-20s %-8v restarts=%d\n", c.Path, c.State, c.Restarts)
	}
	// Output:
	// Run: <nil>
	// root/workers         stopped  restarts=0
	// root/workers/email   stopped  restarts=1
	// root/workers/audit   stopped  restarts=1
}

// The hook sees every lifecycle event; here a child that exits normally
// is Transient, so it is not restarted.
func ExampleWithHook() {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	s := supervisor.New("root",
		supervisor.WithLogger(quiet),
		supervisor.WithHook(func(e supervisor.Event) {
			fmt.Println(e.Path, e.Kind)
			if e.Kind == supervisor.Stopped {
				close(stopped)
			}
		}))
	s.Add("job", supervisor.RunnerFunc(func(context.Context) error { return nil }),
		supervisor.WithRestart(supervisor.Transient))
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-stopped
	cancel()
	<-done
	// Output:
	// root/job started
	// root/job stopped
}

// Too many restarts make a supervisor give up; the error wraps the last
// failure.
func ExampleWithIntensity() {
	errDB := errors.New("db: unreachable")
	s := supervisor.New("root",
		supervisor.WithIntensity(2, time.Minute),
		supervisor.WithBackoff(0, 0),
		supervisor.WithLogger(quiet))
	s.Add("db", supervisor.RunnerFunc(func(context.Context) error { return errDB }))
	err := s.Run(context.Background())
	fmt.Println(errors.Is(err, supervisor.ErrTooManyRestarts), errors.Is(err, errDB))
	// Output:
	// true true
}

// The strategies, by name.
func ExampleStrategy() {
	for _, s := range []supervisor.Strategy{supervisor.OneForOne, supervisor.OneForAll, supervisor.RestForOne} {
		fmt.Println(s)
	}
	// Output:
	// OneForOne
	// OneForAll
	// RestForOne
}
