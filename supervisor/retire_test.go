package supervisor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/supervisor"
)

// retiring is a child that records its runs and retirements.
type retiring struct {
	run     func(ctx context.Context) error
	retired chan struct{}
	running bool
}

func (r *retiring) Run(ctx context.Context) error {
	r.running = true
	defer func() { r.running = false }()
	return r.run(ctx)
}

func (r *retiring) Retire() {
	if r.running {
		panic("Retire called while Run is executing")
	}
	r.retired <- struct{}{}
}

func TestRetireWhenNotRunAgain(t *testing.T) {
	temp := &retiring{
		run:     func(context.Context) error { return errors.New("one shot") },
		retired: make(chan struct{}, 2),
	}
	perm := &retiring{
		run:     func(ctx context.Context) error { <-ctx.Done(); return nil },
		retired: make(chan struct{}, 2),
	}
	s := supervisor.New("root", supervisor.WithLogger(quiet))
	_ = s.Add("temp", temp, supervisor.WithRestart(supervisor.Temporary))
	_ = s.Add("perm", perm)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	// The failed Temporary child is retired while the supervisor goes on.
	<-temp.retired
	select {
	case <-perm.retired:
		t.Fatal("a running child was retired")
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	// When Run ends every child is retired, the Temporary one again.
	<-perm.retired
	<-temp.retired
}
