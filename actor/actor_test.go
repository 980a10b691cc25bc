package actor_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// run starts r.Run (an actor's or a pool's) in a goroutine and returns a
// function that cancels it and returns Run's error.
func run(t *testing.T, r interface{ Run(context.Context) error }) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

var discard = slog.New(slog.DiscardHandler)

// deadLetters collects the dead letters reported by an actor.
type deadLetters struct {
	mu   sync.Mutex
	list []actor.DeadLetter
}

func (d *deadLetters) hook(dl actor.DeadLetter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append(d.list, dl)
}

func (d *deadLetters) get() []actor.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]actor.DeadLetter(nil), d.list...)
}

func TestHandlesInSendOrderOneAtATime(t *testing.T) {
	const n = 2000
	got := make(chan int, n)
	var inHandler, overlap int32
	var mu sync.Mutex
	a := actor.New("order", func(_ context.Context, i int) error {
		mu.Lock()
		inHandler++
		if inHandler > 1 {
			overlap++
		}
		mu.Unlock()
		got <- i
		mu.Lock()
		inHandler--
		mu.Unlock()
		return nil
	}, actor.WithMailbox(16))
	run(t, a)
	for i := range n {
		if err := a.Send(context.Background(), i); err != nil {
			t.Fatalf("Send(%d) = %v", i, err)
		}
	}
	for want := range n {
		if i := <-got; i != want {
			t.Fatalf("got message %d; want %d", i, want)
		}
	}
	if overlap != 0 {
		t.Errorf("handler ran concurrently %d times; want never", overlap)
	}
}

func TestPanicEndsRunWithPanicErrorAndQueueSurvives(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan string, 10)
	var dead deadLetters
	a := actor.New("p", func(_ context.Context, s string) error {
		if s == "poison" {
			<-release
			panic("bad message")
		}
		handled <- s
		return nil
	}, actor.WithDeadLetterHook(dead.hook), actor.WithLogger(discard))

	errc := make(chan error, 1)
	go func() { errc <- a.Run(context.Background()) }()
	for _, s := range []string{"poison", "a", "b"} {
		if err := a.TrySend(s); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	err := <-errc
	var perr *actor.PanicError
	if !errors.As(err, &perr) {
		t.Fatalf("Run = %v; want *PanicError", err)
	}
	if perr.Value != "bad message" {
		t.Errorf("got panic value %v; want bad message", perr.Value)
	}
	if !strings.Contains(perr.Stack(), "actor_test.TestPanicEndsRunWithPanicErrorAndQueueSurvives") {
		t.Errorf("stack does not name the panicking handler:\n%s", perr.Stack())
	}
	if s := a.Stats(); s.Queued != 2 || s.Panics != 1 || s.DeadLetters != 1 {
		t.Errorf("got %+v; want 2 queued, 1 panic, 1 dead letter", s)
	}
	dl := dead.get()
	if len(dl) != 1 || dl[0].Msg != "poison" || !errors.Is(dl[0].Reason, actor.ErrPanicked) || !errors.As(dl[0].Reason, &perr) {
		t.Fatalf("got dead letters %+v; want poison with ErrPanicked and the *PanicError", dl)
	}

	stop := run(t, a) // the restart
	for _, want := range []string{"a", "b"} {
		if got := <-handled; got != want {
			t.Errorf("after restart got %q; want %q", got, want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run after restart = %v; want nil", err)
	}
}

func TestPanickedMessageIsRetriedThenDeadLettered(t *testing.T) {
	attempts := 0
	var dead deadLetters
	a := actor.New("retry", func(context.Context, string) error {
		attempts++
		panic("always")
	}, actor.WithMaxRetries(2), actor.WithDeadLetterHook(dead.hook), actor.WithLogger(discard))
	if err := a.TrySend("poison"); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 3; run++ {
		var perr *actor.PanicError
		if err := a.Run(context.Background()); !errors.As(err, &perr) {
			t.Fatalf("run %d: Run = %v; want *PanicError", run, err)
		}
		if got, want := len(dead.get()), map[bool]int{true: 1, false: 0}[run == 3]; got != want {
			t.Fatalf("after run %d: got %d dead letters; want %d", run, got, want)
		}
	}
	if attempts != 3 {
		t.Errorf("handler called %d times; want 3 (1 + 2 retries)", attempts)
	}
	if dl := dead.get()[0]; dl.Attempts != 3 || dl.Actor != "retry" {
		t.Errorf("got %+v; want 3 attempts by actor retry", dl)
	}
	// The poison message is gone: a new Run waits for messages instead of
	// panicking again.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run after the poison message was dropped = %v; want nil", err)
	}
}

func TestTrySendFullAndSendBoundedByContext(t *testing.T) {
	a := actor.New("full", func(context.Context, int) error { return nil }, actor.WithMailbox(1))
	if err := a.TrySend(1); err != nil {
		t.Fatalf("TrySend into empty mailbox = %v", err)
	}
	if err := a.TrySend(2); !errors.Is(err, actor.ErrMailboxFull) {
		t.Errorf("TrySend into full mailbox = %v; want ErrMailboxFull", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := a.Send(ctx, 2)
	if !errors.Is(err, actor.ErrMailboxFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send into full mailbox = %v; want ErrMailboxFull and DeadlineExceeded", err)
	}
}

func TestSendWaitsForRoom(t *testing.T) {
	release := make(chan struct{})
	got := make(chan int, 3)
	a := actor.New("wait", func(_ context.Context, i int) error {
		<-release
		got <- i
		return nil
	}, actor.WithMailbox(1))
	run(t, a)
	if err := a.Send(context.Background(), 1); err != nil { // taken by the handler
		t.Fatal(err)
	}
	sent := make(chan error)
	go func() {
		// 2 fills the mailbox (or waits for 1 to be taken); 3 must wait.
		if err := a.Send(context.Background(), 2); err != nil {
			sent <- err
			return
		}
		sent <- a.Send(context.Background(), 3)
	}()
	close(release)
	if err := <-sent; err != nil {
		t.Fatalf("Send = %v; want nil once room appears", err)
	}
	for want := 1; want <= 3; want++ {
		if i := <-got; i != want {
			t.Errorf("got %d; want %d", i, want)
		}
	}
}

func TestSendToStoppedActorFails(t *testing.T) {
	release := make(chan struct{})
	a := actor.New("stopped", func(context.Context, int) error { <-release; return nil },
		actor.WithMailbox(1), actor.WithDrainTimeout(0), actor.WithDeadLetterHook(func(actor.DeadLetter) {}))
	stop := run(t, a)
	_ = a.Send(context.Background(), 1) // in hand
	_ = a.Send(context.Background(), 2) // queued: the mailbox is full
	blocked := make(chan error)
	go func() { blocked <- a.Send(context.Background(), 3) }()

	stopped := make(chan error)
	go func() { stopped <- stop() }()
	// The waiting sender is woken by the stop, not left hanging.
	if err := <-blocked; !errors.Is(err, actor.ErrStopped) {
		t.Errorf("Send waiting when the actor stopped = %v; want ErrStopped", err)
	}
	// The mailbox is still full (2 is queued) and stopping: a send is
	// refused as stopped, not as full.
	if err := a.TrySend(5); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("TrySend to a full actor that is stopping = %v; want ErrStopped", err)
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := a.TrySend(4); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("TrySend after stop = %v; want ErrStopped", err)
	}
	if err := a.Send(context.Background(), 4); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("Send after stop = %v; want ErrStopped", err)
	}
}

func TestHandlerErrorGoesToHookAndActorContinues(t *testing.T) {
	type failure struct {
		actor string
		msg   any
		err   error
	}
	failures := make(chan failure, 1)
	handled := make(chan int, 1)
	boom := errors.New("boom")
	a := actor.New("errs", func(_ context.Context, i int) error {
		if i == 1 {
			return boom
		}
		handled <- i
		return nil
	}, actor.WithErrorHook(func(_ context.Context, name string, msg any, err error) {
		failures <- failure{name, msg, err}
	}))
	stop := run(t, a)
	_ = a.Send(context.Background(), 1)
	_ = a.Send(context.Background(), 2)
	if f := <-failures; f.actor != "errs" || f.msg != 1 || f.err != boom {
		t.Errorf("got failure %+v; want errs, 1, boom", f)
	}
	if i := <-handled; i != 2 {
		t.Errorf("got %d; want 2 handled after the failure", i)
	}
	// The handler of 2 has signalled, but may not have returned: the
	// counts are final once Run has.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Failed != 1 || s.Handled != 1 {
		t.Errorf("got %+v; want 1 failed, 1 handled", s)
	}
}

func TestCancelDrainsQueue(t *testing.T) {
	release := make(chan struct{})
	var handled []int
	a := actor.New("drain", func(_ context.Context, i int) error {
		if i == 0 {
			<-release
		}
		handled = append(handled, i)
		return nil
	}, actor.WithDrainTimeout(time.Hour))
	stop := run(t, a)
	for i := range 5 {
		_ = a.Send(context.Background(), i)
	}
	stopped := make(chan error)
	go func() { stopped <- stop() }()
	// Sends are refused once the cancellation is seen, while the handler is
	// still busy; what was accepted before that is handled in the drain.
	want := []int{0, 1, 2, 3, 4}
	for i := 100; ; i++ {
		err := a.TrySend(i)
		if errors.Is(err, actor.ErrStopped) {
			break
		}
		if err == nil {
			want = append(want, i)
		}
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !equal(handled, want) {
		t.Errorf("got %v handled; want %v", handled, want)
	}
}

func TestDrainTimeoutReportsRest(t *testing.T) {
	var dead deadLetters
	started := make(chan struct{})
	a := actor.New("slow", func(ctx context.Context, i int) error {
		if i == 0 {
			close(started)
		}
		// Message 0 waits for the cancellation, message 1 for the end of
		// the drain; 2 and 3 are left for the dead-letter hook.
		<-ctx.Done()
		return nil
	}, actor.WithDrainTimeout(10*time.Millisecond), actor.WithDeadLetterHook(dead.hook))
	stop := run(t, a)
	for i := range 4 {
		_ = a.Send(context.Background(), i)
	}
	<-started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	dl := dead.get()
	if len(dl) != 2 {
		t.Fatalf("got %d dead letters; want 2", len(dl))
	}
	for i, d := range dl {
		if d.Msg != i+2 || !errors.Is(d.Reason, actor.ErrDrainTimeout) || d.Actor != "slow" {
			t.Errorf("dead letter %d = %+v; want message %d of slow with ErrDrainTimeout", i, d, i+2)
		}
	}
	if s := a.Stats(); s.Handled != 2 || s.DeadLetters != 2 || s.Queued != 0 {
		t.Errorf("got %+v; want 2 handled, 2 dead letters, none queued", s)
	}
}

func TestEveryAcceptedMessageIsHandledOrReported(t *testing.T) {
	// Senders race the actor's stop: whatever a send accepted must end up
	// handled or dead-lettered, exactly once.
	for round := range 20 {
		var mu sync.Mutex
		handled, dead := 0, 0
		a := actor.New("race", func(context.Context, int) error {
			mu.Lock()
			handled++
			mu.Unlock()
			return nil
		}, actor.WithMailbox(8), actor.WithDrainTimeout(0), actor.WithDeadLetterHook(func(actor.DeadLetter) {
			mu.Lock()
			dead++
			mu.Unlock()
		}))
		stop := run(t, a)
		var wg sync.WaitGroup
		accepted := make([]int, 4)
		for s := range accepted {
			wg.Go(func() {
				for i := range 500 {
					if a.TrySend(i) == nil {
						accepted[s]++
					}
				}
			})
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		total := 0
		for _, n := range accepted {
			total += n
		}
		mu.Lock()
		if handled+dead != total {
			t.Fatalf("round %d: %d accepted; %d handled + %d dead letters", round, total, handled, dead)
		}
		mu.Unlock()
	}
}

func TestStatsCountsAndOldestWait(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	a := actor.New("stats", func(_ context.Context, i int) error {
		if i == 0 {
			close(entered)
			<-release
		}
		if i == 2 {
			return errors.New("two")
		}
		return nil
	}, actor.WithMailbox(8), actor.WithErrorHook(func(context.Context, string, any, error) {}))
	if s := a.Stats(); s.OldestWait != 0 || s.Queued != 0 || s.Capacity != 8 || s.Running {
		t.Errorf("fresh actor: got %+v", s)
	}
	stop := run(t, a)
	before := time.Now()
	for i := range 4 {
		_ = a.Send(context.Background(), i)
	}
	<-entered
	s := a.Stats()
	if s.Queued != 4 { // 0 in the handler, 1..3 queued
		t.Errorf("got Queued %d; want 4", s.Queued)
	}
	if elapsed := time.Since(before); s.OldestWait <= 0 || s.OldestWait > elapsed {
		t.Errorf("got OldestWait %v; want in (0, %v]", s.OldestWait, elapsed)
	}
	if !s.Running || s.Name != "stats" {
		t.Errorf("got %+v; want running actor named stats", s)
	}
	close(release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s = a.Stats()
	want := actor.Stats{Name: "stats", Capacity: 8, Handled: 3, Failed: 1}
	if s != want {
		t.Errorf("got %+v; want %+v", s, want)
	}
}

func TestSelfSendToFullMailboxReturnsErrWouldDeadlock(t *testing.T) {
	var a *actor.Actor[int]
	result := make(chan error, 1)
	release := make(chan struct{})
	a = actor.New("self", func(ctx context.Context, i int) error {
		if i == 0 {
			<-release
			result <- a.Send(ctx, 100) // the mailbox is full
		}
		return nil
	}, actor.WithMailbox(1))
	run(t, a)
	_ = a.Send(context.Background(), 0)
	_ = a.Send(context.Background(), 1)
	close(release)
	err := <-result
	if !errors.Is(err, actor.ErrWouldDeadlock) || !errors.Is(err, actor.ErrMailboxFull) {
		t.Errorf("self Send into full mailbox = %v; want ErrWouldDeadlock wrapping ErrMailboxFull", err)
	}
}

func TestSecondRunFails(t *testing.T) {
	started := make(chan struct{})
	a := actor.New("once", func(context.Context, int) error { close(started); return nil })
	run(t, a)
	_ = a.Send(context.Background(), 1)
	<-started
	if err := a.Run(context.Background()); !errors.Is(err, actor.ErrAlreadyRunning) {
		t.Errorf("second Run = %v; want ErrAlreadyRunning", err)
	}
}

func TestPprofLabels(t *testing.T) {
	got := make(chan string, 2)
	a := actor.New("labelled", func(ctx context.Context, _ int) error {
		name, _ := pprof.Label(ctx, "troupe.actor")
		path, _ := pprof.Label(ctx, "troupe.path")
		got <- name
		got <- path
		return nil
	})
	ctx, cancel := context.WithCancel(pprof.WithLabels(context.Background(), pprof.Labels("troupe.path", "root/labelled")))
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	_ = a.Send(ctx, 1)
	if name, path := <-got, <-got; name != "labelled" || path != "root/labelled" {
		t.Errorf("got labels actor=%q path=%q; want labelled, root/labelled", name, path)
	}
	cancel()
	<-done
}

func TestConstructionPanicsNameTheArgument(t *testing.T) {
	h := func(context.Context, int) error { return nil }
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"empty name", func() { actor.New("", h) }, "actor: New: empty name"},
		{"nil handler", func() { actor.New[int]("x", nil) }, `actor: New("x"): nil handler`},
		{"zero mailbox", func() { actor.WithMailbox(0) }, "actor: WithMailbox: size 0 < 1"},
		{"negative drain", func() { actor.WithDrainTimeout(-time.Second) }, "actor: WithDrainTimeout: negative timeout -1s"},
		{"negative retries", func() { actor.WithMaxRetries(-1) }, "actor: WithMaxRetries: negative count -1"},
		{"nil logger", func() { actor.WithLogger(nil) }, "actor: WithLogger: nil logger"},
		{"nil error hook", func() { actor.WithErrorHook(nil) }, "actor: WithErrorHook: nil hook"},
		{"nil dead-letter hook", func() { actor.WithDeadLetterHook(nil) }, "actor: WithDeadLetterHook: nil hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tt.want {
					t.Errorf("got panic %v; want %q", got, tt.want)
				}
			}()
			tt.f()
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetireReportsTheQueueOfACrashedActor(t *testing.T) {
	var dead deadLetters
	busy, release := make(chan struct{}), make(chan struct{})
	a := actor.New("crashed", func(_ context.Context, i int) error {
		if i == 0 {
			close(busy)
			<-release
			panic("boom")
		}
		return nil
	}, actor.WithMaxRetries(1), actor.WithDeadLetterHook(dead.hook), actor.WithLogger(discard))
	errc := make(chan error, 1)
	go func() { errc <- a.Run(context.Background()) }()
	for i := range 3 {
		_ = a.TrySend(i)
	}
	<-busy
	a.Retire() // running: nothing happens
	if err := a.TrySend(3); err != nil {
		t.Fatalf("TrySend while running after Retire = %v; want nil", err)
	}
	close(release)
	var perr *actor.PanicError
	if err := <-errc; !errors.As(err, &perr) {
		t.Fatalf("Run = %v; want *PanicError", err)
	}

	// No restart will come: Retire reports the message kept for a retry
	// and the three queued ones.
	a.Retire()
	dl := dead.get()
	if len(dl) != 4 {
		t.Fatalf("got %d dead letters; want 4: %+v", len(dl), dl)
	}
	if dl[0].Msg != 0 || !errors.Is(dl[0].Reason, actor.ErrStopped) || !errors.Is(dl[0].Reason, actor.ErrPanicked) {
		t.Errorf("got %+v; want message 0 with ErrStopped and ErrPanicked", dl[0])
	}
	for i, d := range dl[1:] {
		if d.Msg != i+1 || !errors.Is(d.Reason, actor.ErrStopped) {
			t.Errorf("got %+v; want message %d with ErrStopped", d, i+1)
		}
	}
	if err := a.TrySend(9); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("TrySend after Retire = %v; want ErrStopped", err)
	}
	// A new Run reopens it.
	stop := run(t, a)
	for !a.Stats().Running {
		runtime.Gosched()
	}
	if err := a.Send(context.Background(), 5); err != nil {
		t.Errorf("Send after a new Run = %v; want nil", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.DeadLetters != 4 || s.Handled != 1 {
		t.Errorf("got %+v; want 4 dead letters, 1 handled", s)
	}
}

// TestMessagesInHand checks the batch semantics: messages the actor has taken
// from its mailbox still count in Len, are not evicted by Displace, and are
// handled in order before what was queued after them.
func TestMessagesInHand(t *testing.T) {
	entered := make(chan int, 8)
	release := make(chan struct{})
	var got []int
	a := actor.New("hand", func(_ context.Context, m int) error {
		entered <- m
		if m == 1 {
			<-release
		}
		got = append(got, m)
		return nil
	}, actor.WithMailbox(2))
	for m := range 2 {
		if err := a.TrySend(m + 1); err != nil {
			t.Fatal(err)
		}
	}
	stop := run(t, a)
	if m := <-entered; m != 1 {
		t.Fatalf("first message handled is %d; want 1", m)
	}
	// 1 is in the handler and 2 in hand: the mailbox has room for two more.
	for _, m := range []int{3, 4} {
		if err := a.TrySend(m); err != nil {
			t.Fatalf("TrySend(%d) = %v; want nil", m, err)
		}
	}
	if err := a.TrySend(5); !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("TrySend(5) = %v; want ErrMailboxFull", err)
	}
	if n := a.Len(); n != 4 {
		t.Fatalf("Len() = %d; want 4 (1 in the handler, 2 in hand, 3 and 4 queued)", n)
	}
	old, evicted, err := a.Displace(context.Background(), 6)
	if err != nil || !evicted || old != 3 {
		t.Fatalf("Displace(6) = %d, %v, %v; want 3 evicted: 2 is in hand", old, evicted, err)
	}
	close(release)
	for range 3 {
		<-entered
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{1, 2, 4, 6}) {
		t.Fatalf("handled %v; want [1 2 4 6]", got)
	}
}

type ctxKey struct{}

// tagged is a context of a type that is not comparable.
type tagged struct {
	context.Context
	tags []string
}

// A Run's handler sees that Run's context, whether the Run follows a crash
// under the same context (a supervisor's restart, which reuses the
// handler's context) or under another one, comparable or not.
func TestHandlerContextIsTheRuns(t *testing.T) {
	seen := make(chan string, 1)
	a := actor.New("ctx", func(ctx context.Context, m string) error {
		if m == "crash" {
			panic("crash")
		}
		v, _ := ctx.Value(ctxKey{}).(string)
		name, _ := pprof.Label(ctx, "troupe.actor")
		seen <- v + "/" + name
		return nil
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {}))
	crashRun := func(ctx context.Context, want string) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { errc <- a.Run(ctx) }()
		if err := a.Send(context.Background(), "look"); err != nil {
			t.Fatal(err)
		}
		if got := <-seen; got != want+"/ctx" {
			t.Errorf("handler saw %q; want %q", got, want+"/ctx")
		}
		if err := a.Send(context.Background(), "crash"); err != nil {
			t.Fatal(err)
		}
		var perr *actor.PanicError
		if err := <-errc; !errors.As(err, &perr) {
			t.Fatalf("Run = %v; want *PanicError", err)
		}
	}
	bg := context.Background()
	one := context.WithValue(bg, ctxKey{}, "one")
	crashRun(one, "one")
	crashRun(one, "one")
	crashRun(context.WithValue(bg, ctxKey{}, "two"), "two")
	three := tagged{Context: context.WithValue(bg, ctxKey{}, "three"), tags: []string{"x"}}
	crashRun(three, "three")
	crashRun(tagged{Context: context.WithValue(bg, ctxKey{}, "four")}, "four")
}

// TestPanicAfterCancelStillDrains: a handler that cancels its Run's context
// and then panics. The context ended first, so the actor stops: it drains
// the queue and reports the panicked message, and Run returns the
// *PanicError. The Run's context here starts its AfterFuncs late, as the
// context package allows (a context sets its error before it starts them):
// the actor used to take the panic for a crash when its refusal had not
// started yet, and left the queue for a next Run that a stopping
// supervisor never starts.
func TestPanicAfterCancelStillDrains(t *testing.T) {
	var handled, dead atomic.Uint64
	inner, cancel := context.WithCancel(context.Background())
	ctx := &lateAfterFuncs{Context: inner}
	a := actor.New("late", func(_ context.Context, n int) error {
		if n == 0 {
			cancel()
			panic("late: panics after the cancel")
		}
		handled.Add(1)
		return nil
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) { dead.Add(1) }))
	for n := range 3 {
		if err := a.TrySend(n); err != nil {
			t.Fatal(err)
		}
	}
	var pe *actor.PanicError
	if err := a.Run(ctx); !errors.As(err, &pe) {
		t.Fatalf("Run = %v; want a *PanicError", err)
	}
	if got := handled.Load() + dead.Load(); got != 3 {
		t.Fatalf("handled %d + dead letters %d of 3 when Run returned", handled.Load(), dead.Load())
	}
}

// lateAfterFuncs is a context whose AfterFunc method keeps the functions
// and never starts them: they are always still to start, even once the
// context is done, as they are for a moment in any context.
type lateAfterFuncs struct {
	context.Context
	mu  sync.Mutex
	fns map[int]func()
	n   int
}

func (c *lateAfterFuncs) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fns == nil {
		c.fns = map[int]func(){}
	}
	c.n++
	id := c.n
	c.fns[id] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.fns[id]
		delete(c.fns, id)
		return ok
	}
}
