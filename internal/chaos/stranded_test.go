package chaos

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/supervisor"
)

// TestQueueOfCrashedActorIsReportedWhenNotRestarted: an actor whose handler
// panicked keeps its queue for the next Run; when its supervisor stops
// during the restart backoff (or gives up), no next Run comes, and the
// queued messages must still be reported as dead letters.
func TestQueueOfCrashedActorIsReportedWhenNotRestarted(t *testing.T) {
	// BUG 3, fixed: the supervisor retires (supervisor.Retirer) a child it
	// will not run again, and a retired actor reports its queue.
	var handled, dead atomic.Int64
	panicked := make(chan struct{})
	a := actor.New("crashy", func(_ context.Context, n int) error {
		if n == 0 {
			close(panicked)
			panic("boom")
		}
		handled.Add(1)
		return nil
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) { dead.Add(1) }))
	s := supervisor.New("root", supervisor.WithBackoff(time.Hour, time.Hour), supervisor.WithLogger(discard))
	if err := s.Add("crashy", a); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if err := a.Send(ctx, 0); err != nil {
		t.Fatal(err)
	}
	<-panicked
	for i := 1; i <= 3; i++ { // queued while the supervisor backs off
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("got Run error %v; want nil", err)
	}
	late := a.TrySend(4) // the tree has stopped: must not be accepted silently
	st := a.Stats()
	if late == nil {
		t.Errorf("got TrySend nil after the supervisor stopped; want an error (ErrStopped)")
	}
	if got := handled.Load() + dead.Load(); got != 4 || st.Queued != 0 {
		t.Errorf("got %d handled + %d dead letters, %d still queued; want the 4 messages (1 panicked + 3 queued) accounted and none queued", handled.Load(), dead.Load(), st.Queued)
	}
}
