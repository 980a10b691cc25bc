package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

func TestAutoShutdown(t *testing.T) {
	tests := []struct {
		name  string
		auto  AutoShutdown
		exits []string // significant children that exit normally, in turn
		want  bool     // Run returned after the last
	}{
		{"any significant, one exits", AnySignificant, []string{"s1"}, true},
		{"all significant, one of two exits", AllSignificant, []string{"s1"}, false},
		{"all significant, both exit", AllSignificant, []string{"s1", "s2"}, true},
		{"never", NoAutoShutdown, []string{"s1", "s2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, clk := newRecorder(), clock.NewFake(epoch)
			s := New("root", testOptions(rec, clk, WithAutoShutdown(tt.auto))...)
			log := &stopLog{}
			kids := map[string]*puppet{}
			for _, n := range []string{"s1", "s2", "other"} {
				kids[n] = newPuppet(n, log)
			}
			s.Add("s1", kids["s1"], WithRestart(Transient), WithSignificant())
			s.Add("other", kids["other"])
			s.Add("s2", kids["s2"], WithRestart(Temporary), WithSignificant())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			rec.wait(1, is(Started, "root/s2"))
			for _, n := range tt.exits {
				kids[n].cmds <- func() error { return nil }
				rec.wait(1, is(Stopped, "root/"+n))
			}
			if tt.want {
				if err := <-done; err != nil {
					t.Fatalf("got Run error %v; want nil after an auto shutdown", err)
				}
				if got := log.get(); !slices.Equal(got, []string{"other"}) && !slices.Equal(got, []string{"s2", "other"}) {
					t.Errorf("got stops %v; want the rest stopped in reverse order", got)
				}
				if n := rec.count(func(e Event) bool { return e.Kind == ShuttingDown }); n != 1 {
					t.Errorf("got %d ShuttingDown events; want 1", n)
				}
				return
			}
			kids["other"].fail() // the supervisor is still supervising
			rec.wait(1, is(Restarted, "root/other"))
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := rec.count(func(e Event) bool { return e.Kind == ShuttingDown }); n != 0 {
				t.Errorf("got %d ShuttingDown events; want none", n)
			}
		})
	}
}

func TestRemoveStopsAndForgetsTheChild(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithStrategy(OneForAll))...)
	log := &stopLog{}
	a, b := newPuppet("a", log), newPuppet("b", log)
	s.Add("a", a)
	s.Add("b", b)
	stop := start(t, s)
	rec.wait(1, is(Started, "root/b"))
	if err := s.Remove("a"); err != nil {
		t.Fatalf("Remove: got %v; want nil", err)
	}
	if got := log.get(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("got stops %v; want a stopped by Remove", got)
	}
	if n := rec.count(is(Restarted, "root/b")); n != 0 {
		t.Errorf("Remove restarted b %d times under OneForAll; want 0", n)
	}
	if tree := s.Tree(); len(tree) != 1 || tree[0].Path != "root/b" {
		t.Errorf("got Tree %+v; want b alone", tree)
	}
	if err := s.Remove("a"); !errors.Is(err, ErrUnknownChild) {
		t.Errorf("second Remove: got %v; want ErrUnknownChild", err)
	}
	// The name may be added again; the new child comes last.
	if err := s.Add("a", newPuppet("a", log)); err != nil {
		t.Fatal(err)
	}
	if tree := s.Tree(); len(tree) != 2 || tree[1].Path != "root/a" || tree[1].State != StateRunning {
		t.Errorf("got Tree %+v; want a running after b", tree)
	}
	b.fail() // OneForAll: the added child is restarted with b
	rec.wait(1, is(Restarted, "root/a"))
	stop()
}

func TestRemoveOfAStuckChildNamesIt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	rec := newRecorder()
	s := New("root", WithLogger(discard), WithHook(rec.hook))
	s.Add("stuck", RunnerFunc(func(context.Context) error { <-release; return nil }), WithShutdown(time.Millisecond))
	stop := start(t, s)
	rec.wait(1, is(Started, "root/stuck"))
	err := s.Remove("stuck")
	var se *ShutdownError
	if !errors.As(err, &se) || len(se.Stuck) != 1 || se.Stuck[0].Path != "root/stuck" {
		t.Fatalf("got %v; want a *ShutdownError naming root/stuck", err)
	}
	if len(s.Tree()) != 0 {
		t.Errorf("got Tree %+v; want it empty", s.Tree())
	}
	stop()
}

// TestAddAndRemoveConcurrentlyWithRestarts runs Add and Remove from several
// goroutines while a child keeps failing; -race checks the rest.
func TestAddAndRemoveConcurrentlyWithRestarts(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithStrategy(RestForOne), WithIntensity(1000, time.Minute))...)
	flaky := newPuppet("flaky", nil)
	s.Add("flaky", flaky)
	stop := start(t, s)
	rec.wait(1, is(Started, "root/flaky"))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				name := fmt.Sprintf("g%d-%d", g, i)
				if err := s.Add(name, RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })); err != nil {
					t.Errorf("Add %s: %v", name, err)
					return
				}
				if err := s.Remove(name); err != nil {
					t.Errorf("Remove %s: %v", name, err)
					return
				}
			}
		})
	}
	for range 20 {
		flaky.fail()
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if tree := s.Tree(); len(tree) != 1 {
		t.Errorf("got %d children; want flaky alone", len(tree))
	}
}

func TestTreeRestartsSurviveRestartsOfTheSupervisor(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	root := New("root", testOptions(rec, clk)...)
	sub := New("sub", testOptions(rec, clk, WithIntensity(1, time.Minute))...)
	kid := newPuppet("kid", nil)
	sub.Add("kid", kid)
	root.Add("sub", sub)
	stop := start(t, root)
	rec.wait(1, is(Started, "root/sub/kid"))
	kid.fail() // sub restarts kid
	rec.wait(1, is(Restarted, "root/sub/kid"))
	kid.fail() // sub gives up; root restarts sub, which starts kid afresh
	rec.wait(1, is(Restarted, "root/sub"))
	rec.wait(2, is(Started, "root/sub/kid"))
	stop()
	want := map[string]int{"root/sub": 1, "root/sub/kid": 1}
	for _, ci := range root.Tree() {
		if ci.Restarts != want[ci.Path] {
			t.Errorf("got %s restarts %d; want %d", ci.Path, ci.Restarts, want[ci.Path])
		}
	}
}

// TestNestedSupervisorInsideAChildKeepsItsName: a supervisor run inside a
// child's Run (one per customer, say) is below that child in the tree, with
// its own name, rather than taking the child's path.
func TestNestedSupervisorInsideAChildKeepsItsName(t *testing.T) {
	paths := make(chan string, 2)
	root := New("app", WithLogger(discard))
	root.Add("customers", RunnerFunc(func(ctx context.Context) error {
		var wg sync.WaitGroup
		for _, id := range []string{"c1", "c2"} {
			sub := New(id, WithLogger(discard))
			sub.Add("worker", RunnerFunc(func(ctx context.Context) error {
				paths <- Path(ctx)
				<-ctx.Done()
				return nil
			}))
			wg.Go(func() { sub.Run(ctx) })
		}
		wg.Wait()
		return nil
	}))
	stop := start(t, root)
	got := []string{<-paths, <-paths}
	stop()
	slices.Sort(got)
	if want := []string{"app/customers/c1/worker", "app/customers/c2/worker"}; !slices.Equal(got, want) {
		t.Errorf("got paths %v; want %v", got, want)
	}
}
