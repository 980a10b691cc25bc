package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// runGuard is how long a test waits for a Run that should return before it
// fails: far beyond the drain timeouts the tests set, so it is a guard
// against a hang, not a timing assertion.
const runGuard = 30 * time.Second

// runReturns waits for the error a Run sent on errc.
func runReturns(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(runGuard):
		t.Fatal("Run did not return")
		return nil
	}
}

// drainTimeouts counts the dead letters of l with reason ErrDrainTimeout.
func drainTimeouts(l []actor.DeadLetter) int {
	n := 0
	for _, d := range l {
		if errors.Is(d.Reason, actor.ErrDrainTimeout) {
			n++
		}
	}
	return n
}

// TestPoolStuckWorkerNamedAndLeftBehind: a worker stuck in a handler that
// ignores its context no longer holds up the end of the pool's Run: past
// the drain timeout and its grace, Run names it and returns; a later Run
// starts a new worker beside it; once the stuck handler returns, its
// message counts as handled and its goroutine exits (goleak checks).
func TestPoolStuckWorkerNamedAndLeftBehind(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var dead deadLetters
	p := actor.NewPool("stuck", 2, func(_ context.Context, i int) error {
		if i == 0 {
			close(entered)
			<-release // ignores its context
		}
		return nil
	}, actor.WithDrainTimeout(time.Millisecond), actor.WithDeadLetterHook(dead.hook))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	if err := p.Send(ctx, 0); err != nil {
		t.Fatal(err)
	}
	<-entered
	for i := 1; i <= 9; i++ {
		if err := p.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the other worker to handle 9", func() bool { return p.Stats().Handled == 9 })
	cancel()
	err := runReturns(t, errc)
	var stuck *actor.StuckWorkersError
	if !errors.As(err, &stuck) || len(stuck.Workers) != 1 || stuck.Pool != "stuck" || !errors.Is(err, actor.ErrDrainTimeout) {
		t.Fatalf("Run = %v; want a *StuckWorkersError naming one worker of stuck, matching ErrDrainTimeout", err)
	}

	// A later Run, while the abandoned worker is still stuck.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { errc <- p.Run(ctx2) }()
	waitFor(t, "the second Run", func() bool { return p.Stats().Running })
	if err := p.Send(ctx2, 10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new worker to handle 10", func() bool { return p.Stats().Handled == 10 })
	for _, w := range p.Stats().PerWorker {
		if w.ID == stuck.Workers[0] {
			t.Errorf("the abandoned worker %d is listed in the pool's stats", w.ID)
		}
	}
	cancel2()
	if err := runReturns(t, errc); err != nil {
		t.Fatalf("second Run = %v; want nil", err)
	}

	close(release)
	waitFor(t, "the stuck message to count as handled", func() bool { return p.Stats().Handled == 11 })
	if n := len(dead.get()); n != 0 {
		t.Errorf("got %d dead letters; want 0", n)
	}
}

// TestPoolStuckSoleWorkerReportsWhatItHeld: a pool's only worker takes
// messages in batches; left behind stuck, it stays counted in the pool's
// stats (no counter goes back) and reports the messages it had taken as
// dead letters once its handler returns: every message accepted is
// handled or reported.
func TestPoolStuckSoleWorkerReportsWhatItHeld(t *testing.T) {
	const n, before = 10, 3
	release := make(chan struct{})
	entered := make(chan struct{})
	var dead deadLetters
	p := actor.NewPool("sole", 1, func(_ context.Context, i int) error {
		if i == before {
			close(entered)
			<-release
		}
		return nil
	}, actor.WithDrainTimeout(time.Millisecond), actor.WithDeadLetterHook(dead.hook))
	// Queued before Run: the worker takes them all in one batch, handles
	// the first 3 and is stuck on the 4th, holding the 6 after it.
	for i := range n {
		if err := p.TrySend(i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	<-entered
	cancel()
	var stuck *actor.StuckWorkersError
	if err := runReturns(t, errc); !errors.As(err, &stuck) {
		t.Fatalf("Run = %v; want a *StuckWorkersError", err)
	}
	if s := p.Stats(); s.Handled != before || s.Queued != n-before {
		t.Errorf("after Run: %d handled, %d queued; want %d and %d (the stuck one and those it holds)", s.Handled, s.Queued, before, n-before)
	}
	close(release)
	waitFor(t, "every message handled or reported", func() bool {
		return p.Stats().Handled+uint64(len(dead.get())) == n
	})
	if h, d := p.Stats().Handled, drainTimeouts(dead.get()); h != before+1 || d != n-before-1 {
		t.Errorf("got %d handled, %d dead letters with ErrDrainTimeout; want %d and %d", h, d, before+1, n-before-1)
	}
	if q := p.Stats().Queued; q != 0 {
		t.Errorf("got %d queued at the end; want 0", q)
	}
}

// TestPoolGaveUpWithAStuckWorkerStopsWithItsContext: a pool that gave up
// waits for its workers to finish the message in hand, but no longer than
// its context: once it ends, a stuck worker is named and left behind.
func TestPoolGaveUpWithAStuckWorkerStopsWithItsContext(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var dead deadLetters
	p := actor.NewPool("gaveup", 2, func(_ context.Context, i int) error {
		switch i {
		case 0:
			close(entered)
			<-release
		case 1:
			panic("boom")
		}
		return nil
	}, actor.WithDrainTimeout(time.Millisecond), actor.WithDeadLetterHook(dead.hook),
		actor.WithWorkerRestarts(0, time.Minute), actor.WithLogger(discard))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	if err := p.Send(ctx, 0); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := p.Send(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pool to give up", func() bool { return p.Stats().Panics == 1 })
	cancel()
	err := runReturns(t, errc)
	var stuck *actor.StuckWorkersError
	if !errors.As(err, &stuck) || len(stuck.Workers) != 1 {
		t.Fatalf("Run = %v; want a *StuckWorkersError naming one worker", err)
	}
	close(release)
	waitFor(t, "the stuck message to count as handled", func() bool { return p.Stats().Handled == 1 })
}

// TestPoolPanicAfterCancelDoesNotOutliveTheRun: a handler that cancels its
// Run's context and then panics. The context ended first: the pool drains,
// and the panicked message is reported, as the pool's Run documents; it
// must not stay kept for a retry in a later Run. The pool used to give up
// at that panic when the Run had already looked for a give-up and was
// draining: the worker then stopped without draining, kept the message for
// the next Run, and a keyed pool dropped the key's ownership, so that in
// the next Run the key's later messages could overtake it (a per-key order
// violation seen in TestSoakPool).
func TestPoolPanicAfterCancelDoesNotOutliveTheRun(t *testing.T) {
	const rounds = 300
	for round := range rounds {
		var handled, dead atomic.Uint64
		ctx, cancel := context.WithCancel(context.Background())
		p := actor.NewPool("late", 1, func(_ context.Context, n int) error {
			if n == 0 {
				cancel()
				panic("late: panics after the cancel")
			}
			handled.Add(1)
			return nil
		},
			actor.WithMaxRetries(1),
			actor.WithLogger(discard),
			actor.WithDeadLetterHook(func(actor.DeadLetter) { dead.Add(1) }),
			actor.WithWorkerRestarts(0, time.Hour), // a panic gives up, unless the Run is stopping
		)
		for n := range 3 {
			if err := p.TrySend(n); err != nil {
				t.Fatal(err)
			}
		}
		err := p.Run(ctx)
		if err != nil {
			var pe *actor.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("round %d: Run = %v; want nil or a *PanicError", round, err)
			}
		}
		// The Run's context ended: everything is handled or reported.
		if got := handled.Load() + dead.Load(); got != 3 {
			t.Fatalf("round %d: Run = %v; handled %d + dead letters %d of 3: the rest outlives the Run",
				round, err, handled.Load(), dead.Load())
		}
	}
}

// TestPoolAbandonedSoleWorkerReportsItsBatch: a pool's only worker, holding
// a batch, is stuck in a handler deaf to its context when SetWorkers gives
// it company, and its Run stops: the Run abandons it. When its handler
// returns, it reports the rest of its batch as dead letters, as an
// abandoned worker does, though the pool was retired meanwhile. It used to
// give them back to the pool (see Pool.SetWorkers), where nothing would
// take or report them any more (18 messages lost in a run of TestSoakPool).
func TestPoolAbandonedSoleWorkerReportsItsBatch(t *testing.T) {
	const n = 10 // all in the sole worker's batch; n itself is a probe
	release, entered, probed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var dead deadLetters
	p := actor.NewPool("abandoned", 1, func(_ context.Context, i int) error {
		switch i {
		case 0:
			close(entered)
			<-release // ignores its context
		case n:
			close(probed)
		}
		return nil
	}, actor.WithMailbox(n), actor.WithDrainTimeout(time.Millisecond), actor.WithDeadLetterHook(dead.hook))
	for i := range n {
		if err := p.TrySend(i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	<-entered
	p.SetWorkers(2)
	// The probe, which only the new worker can take, says it runs: the
	// sole worker has been asked to give back its batch.
	if err := p.TrySend(n); err != nil {
		t.Fatal(err)
	}
	<-probed
	cancel()
	var stuck *actor.StuckWorkersError
	if err := runReturns(t, errc); !errors.As(err, &stuck) {
		t.Fatalf("Run = %v; want a *StuckWorkersError", err)
	}
	p.Retire()
	close(release)
	waitFor(t, "the abandoned worker to report the rest of its batch", func() bool {
		return drainTimeouts(dead.get()) == n-1
	})
}

// TestPoolGiveUpWithAStuckWorkerReportsWhatTheOthersKeep: the pool gives
// up (a panic) while another worker is stuck in a handler deaf to its
// context; then the Run's context ends. The Run abandons the stuck worker;
// the worker that panicked holds its message for a retry, and that
// message must be reported when Run returns, as the drain reports one. It
// used to stay kept for the next Run, where in a keyed pool the key's
// later messages could overtake it (per-key order broken in a run of
// TestSoakPool).
func TestPoolGiveUpWithAStuckWorkerReportsWhatTheOthersKeep(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{})
	var dead deadLetters
	p := actor.NewPool("giveup", 2, func(_ context.Context, i int) error {
		switch i {
		case 0:
			close(entered)
			<-release // ignores its context
		case 1:
			panic("giveup: the panic the pool gives up at")
		}
		return nil
	},
		actor.WithMaxRetries(1),
		actor.WithWorkerRestarts(0, time.Hour),
		actor.WithDrainTimeout(time.Millisecond),
		actor.WithLogger(discard),
		actor.WithDeadLetterHook(dead.hook))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	if err := p.TrySend(0); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := p.TrySend(1); err != nil { // to the other worker, which panics
		t.Fatal(err)
	}
	waitFor(t, "the panic", func() bool { return p.Stats().Panics == 1 })
	cancel()
	var stuck *actor.StuckWorkersError
	if err := runReturns(t, errc); !errors.As(err, &stuck) {
		t.Fatalf("Run = %v; want a *StuckWorkersError", err)
	}
	if got := dead.get(); len(got) != 1 || got[0].Msg != 1 || !errors.Is(got[0].Reason, actor.ErrPanicked) {
		t.Errorf("dead letters when Run returned: %+v; want message 1, panicked", got)
	}
	close(release)
}
