package supervisor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

func TestStrategiesRestartExactlyTheRightChildren(t *testing.T) {
	tests := []struct {
		strategy Strategy
		want     map[string]int // restarts after b fails once
	}{
		{OneForOne, map[string]int{"a": 0, "b": 1, "c": 0}},
		{OneForAll, map[string]int{"a": 1, "b": 1, "c": 1}},
		{RestForOne, map[string]int{"a": 0, "b": 1, "c": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			rec, clk := newRecorder(), clock.NewFake(epoch)
			s := New("root", testOptions(rec, clk, WithStrategy(tt.strategy))...)
			kids := map[string]*puppet{}
			for _, n := range []string{"a", "b", "c"} {
				kids[n] = newPuppet(n, nil)
				if err := s.Add(n, kids[n]); err != nil {
					t.Fatal(err)
				}
			}
			stop := start(t, s)
			for _, n := range []string{"a", "b", "c"} {
				rec.wait(1, is(Started, "root/"+n))
			}
			kids["b"].fail()
			for n, w := range tt.want {
				if w > 0 {
					rec.wait(w, is(Restarted, "root/"+n))
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("got Run error %v; want nil", err)
			}
			for n, w := range tt.want {
				if got := rec.count(is(Restarted, "root/"+n)); got != w {
					t.Errorf("child %s: got %d restarts; want %d", n, got, w)
				}
			}
			for _, ci := range s.Tree() {
				if got, want := ci.Restarts, tt.want[strings.TrimPrefix(ci.Path, "root/")]; got != want {
					t.Errorf("Tree %s: got %d restarts; want %d", ci.Path, got, want)
				}
			}
		})
	}
}

func TestTemporarySiblingIsNotRestartedByOneForAll(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithStrategy(OneForAll))...)
	a, tmp := newPuppet("a", nil), newPuppet("tmp", nil)
	s.Add("a", a)
	s.Add("tmp", tmp, WithRestart(Temporary))
	stop := start(t, s)
	rec.wait(1, is(Started, "root/tmp"))
	a.fail()
	rec.wait(1, is(Restarted, "root/a"))
	a.fail()
	rec.wait(2, is(Restarted, "root/a"))
	stop()
	if got := rec.count(is(Restarted, "root/tmp")); got != 0 {
		t.Errorf("got %d restarts of the temporary child; want 0", got)
	}
}

func TestRestartTypes(t *testing.T) {
	exits := []struct {
		name   string
		run    func() error
		failed bool
	}{
		{"nil", func() error { return nil }, false},
		{"canceled", func() error { return context.Canceled }, false},
		{"error", func() error { return errBoom }, true},
		{"panic", func() error { panic("kaboom") }, true},
	}
	restarts := map[Restart]func(failed bool) bool{
		Permanent: func(bool) bool { return true },
		Transient: func(failed bool) bool { return failed },
		Temporary: func(bool) bool { return false },
	}
	for r, want := range restarts {
		for _, ex := range exits {
			t.Run(r.String()+"/"+ex.name, func(t *testing.T) {
				rec, clk := newRecorder(), clock.NewFake(epoch)
				s := New("root", testOptions(rec, clk)...)
				p := newPuppet("kid", nil)
				s.Add("kid", p, WithRestart(r))
				stop := start(t, s)
				p.cmds <- ex.run
				restarted := rec.wait(1, func(e Event) bool {
					return e.Path == "root/kid" && (e.Kind == Restarted || e.Kind == Stopped)
				}).Kind == Restarted
				stop()
				if restarted != want(ex.failed) {
					t.Errorf("got restarted %v; want %v", restarted, want(ex.failed))
				}
				if got := rec.count(is(Failed, "root/kid")); got != map[bool]int{true: 1}[ex.failed] {
					t.Errorf("got %d Failed events; want failed=%v", got, ex.failed)
				}
			})
		}
	}
}

func TestPanicIsReportedWithStack(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk)...)
	p := newPuppet("kid", nil)
	s.Add("kid", p)
	start(t, s)
	p.panic()
	e := rec.wait(1, is(Failed, "root/kid"))
	var pe *PanicError
	if !errors.As(e.Err, &pe) {
		t.Fatalf("got error %v; want a *PanicError", e.Err)
	}
	if pe.Value != "kaboom" {
		t.Errorf("got panic value %v; want kaboom", pe.Value)
	}
	if !strings.Contains(pe.Stack(), "supervisor.(*puppet).Run") {
		t.Errorf("got stack\n%s\nwant it to name the panicking function", pe.Stack())
	}
}

func TestTwoLevelEscalation(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	root := New("root", testOptions(rec, clk, WithIntensity(1, time.Minute))...)
	workers := New("workers", testOptions(rec, clk, WithIntensity(1, time.Minute))...)
	workers.Add("email", RunnerFunc(func(context.Context) error { return errBoom }))
	root.Add("workers", workers)

	err := root.Run(context.Background())
	if !errors.Is(err, ErrTooManyRestarts) {
		t.Errorf("got %v; want an error matching ErrTooManyRestarts", err)
	}
	if !errors.Is(err, errBoom) {
		t.Errorf("got %v; want it to wrap the last failure %v", err, errBoom)
	}
	tests := []struct {
		kind EventKind
		path string
		want int
	}{
		{GaveUp, "root/workers", 2},    // the child supervisor gave up twice,
		{Restarted, "root/workers", 1}, // was restarted by its parent once,
		{GaveUp, "root", 1},            // and then the root gave up.
		{Restarted, "root/workers/email", 2},
	}
	for _, tt := range tests {
		if got := rec.count(is(tt.kind, tt.path)); got != tt.want {
			t.Errorf("%s %s: got %d events; want %d", tt.path, tt.kind, got, tt.want)
		}
	}
}

func TestBackoffIsExponentialAndResetsAfterStableRun(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk,
		WithBackoff(10*time.Millisecond, 40*time.Millisecond),
		WithStableAfter(time.Minute))...)
	p := newPuppet("kid", nil)
	s.Add("kid", p)
	start(t, s)

	want := []time.Duration{10, 20, 40, 40}
	n := 0
	for _, w := range want {
		n++
		p.fail()
		e := rec.wait(n, is(BackingOff, "root/kid"))
		if got := e.Backoff; got != w*time.Millisecond {
			t.Errorf("backoff %d: got %v; want %v", n, got, w*time.Millisecond)
		}
		// The loop arms the backoff's timer after the event: wait for it,
		// or the clock could move on between the loop's reading of the
		// time and its timer, which would then count from the new time.
		clk.BlockUntil(1)
		clk.Advance(e.Backoff)
		rec.wait(n, is(Restarted, "root/kid"))
	}
	// A stable run starts the sequence over.
	clk.Advance(time.Minute)
	p.fail()
	n++
	if got, want := rec.wait(n, is(BackingOff, "root/kid")).Backoff, 10*time.Millisecond; got != want {
		t.Errorf("after a stable run: got backoff %v; want %v", got, want)
	}
}

func TestCrashLoopingIsVisibleInTree(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithBackoff(time.Second, time.Second))...)
	sub := New("sub", testOptions(rec, clk, WithBackoff(time.Second, time.Second))...)
	p := newPuppet("kid", nil)
	sub.Add("kid", p)
	s.Add("sub", sub)
	start(t, s)
	// sub starts its kid in its start phase, before the root records sub
	// as running: wait for both.
	rec.wait(1, is(Started, "root/sub"))
	rec.wait(1, is(Started, "root/sub/kid"))
	p.fail()
	rec.wait(1, is(BackingOff, "root/sub/kid"))

	find := func(path string) ChildInfo {
		i := slices.IndexFunc(s.Tree(), func(c ChildInfo) bool { return c.Path == path })
		if i < 0 {
			t.Fatalf("got no %s in Tree %v", path, s.Tree())
		}
		return s.Tree()[i]
	}
	kid := find("root/sub/kid")
	if kid.State != StateCrashLooping || kid.Backoff != time.Second || !errors.Is(kid.LastError, errBoom) {
		t.Errorf("got %+v; want crash-looping for 1s after boom", kid)
	}
	if got := find("root/sub").State; got != StateRunning {
		t.Errorf("got sub %v; want running", got)
	}
	clk.BlockUntil(1) // the backoff's timer is armed (see TestBackoffIsExponentialAndResetsAfterStableRun)
	clk.Advance(time.Second)
	rec.wait(1, is(Restarted, "root/sub/kid"))
	if kid := find("root/sub/kid"); kid.State != StateRunning || kid.Restarts != 1 {
		t.Errorf("got %+v; want running after 1 restart", kid)
	}
}
