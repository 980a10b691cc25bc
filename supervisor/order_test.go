package supervisor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

// entryLog records the order in which children's Runs began.
type entryLog struct {
	mu    sync.Mutex
	cond  sync.Cond
	names []string
}

func newEntryLog() *entryLog {
	l := &entryLog{}
	l.cond.L = &l.mu
	return l
}

func (l *entryLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
	l.cond.Broadcast()
}

// wait waits until n Runs have begun.
func (l *entryLog) wait(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.names) < n {
		l.cond.Wait()
	}
}

func (l *entryLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// logged wraps p with a start phase that records each start in l.
type logged struct {
	*puppet
	l *entryLog
}

func (c logged) Start(context.Context) error {
	c.l.add(c.name)
	return nil
}

// TestStartsInAddOrder: children start one after the other in Add order, at
// the first start and at every restart of a group (RestForOne: the failed
// child, then the ones after it; OneForAll: all). Go schedules the goroutine
// started last first, so without ordering the starts come out scrambled.
// For children with a start phase, the start phases run in that order; for
// children without, the Started and Restarted events come in that order
// (the supervisor calls their Runs in that order, but it cannot know when
// a goroutine's first instruction runs: a child that must be ready before
// the next one starts needs a start phase).
func TestStartsInAddOrder(t *testing.T) {
	tests := []struct {
		strategy Strategy
		fail     string
		want     []string // the Runs begun after fail fails
	}{
		{OneForOne, "b", []string{"b"}},
		{OneForAll, "b", []string{"a", "b", "c", "d"}},
		{RestForOne, "b", []string{"b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			for range 20 {
				rec, clk := newRecorder(), clock.NewFake(epoch)
				s := New("root", testOptions(rec, clk, WithStrategy(tt.strategy))...)
				l := newEntryLog()
				kids := map[string]*puppet{}
				names := []string{"a", "b", "c", "d"}
				for _, n := range names {
					kids[n] = newPuppet(n, nil)
					s.Add(n, logged{kids[n], l})
				}
				stop := start(t, s)
				l.wait(len(names))
				if got := l.get(); !slices.Equal(got, names) {
					t.Fatalf("got first starts in order %v; want %v", got, names)
				}
				kids[tt.fail].fail()
				l.wait(len(names) + len(tt.want))
				stop()
				if got := l.get()[len(names):]; !slices.Equal(got, tt.want) {
					t.Fatalf("got starts after %s failed in order %v; want %v", tt.fail, got, tt.want)
				}
				var events []string
				rec.mu.Lock()
				for _, e := range rec.events {
					if e.Kind == Started || e.Kind == Restarted {
						events = append(events, strings.TrimPrefix(e.Path, "root/"))
					}
				}
				rec.mu.Unlock()
				if want := append(slices.Clone(names), tt.want...); !slices.Equal(events, want) {
					t.Fatalf("got Started and Restarted events for %v; want %v", events, want)
				}
			}
		})
	}
}

// TestTransientIsStartedAgainBySiblingRestart follows OTP 25: a Transient
// child that exited normally stays in the supervisor's list and is started
// again when a sibling's failure restarts its group. Checked against
// erlang 25's supervisor (testdata/otp): under one_for_all [a permanent,
// b transient, c permanent], b exits normal, a fails: a, b, c start again;
// under rest_for_one, a transient child after the failed one starts again,
// one before it does not.
func TestTransientIsStartedAgainBySiblingRestart(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		restarts []Restart
		exits    string // exits normally first
		fails    string // then fails
		want     []string
	}{
		{"OneForAll", OneForAll, []Restart{Permanent, Transient, Permanent}, "b", "a", []string{"a", "b", "c"}},
		{"RestForOne after the failed child", RestForOne, []Restart{Permanent, Permanent, Transient}, "c", "b", []string{"b", "c"}},
		{"RestForOne before the failed child", RestForOne, []Restart{Transient, Permanent, Permanent}, "a", "b", []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, clk := newRecorder(), clock.NewFake(epoch)
			s := New("root", testOptions(rec, clk, WithStrategy(tt.strategy))...)
			l := newEntryLog()
			kids := map[string]*puppet{}
			names := []string{"a", "b", "c"}
			for i, n := range names {
				kids[n] = newPuppet(n, nil)
				s.Add(n, logged{kids[n], l}, WithRestart(tt.restarts[i]))
			}
			stop := start(t, s)
			l.wait(len(names))
			kids[tt.exits].cmds <- func() error { return nil }
			rec.wait(1, is(Stopped, "root/"+tt.exits))
			kids[tt.fails].fail()
			l.wait(len(names) + len(tt.want))
			stop()
			if got := l.get()[len(names):]; !slices.Equal(got, tt.want) {
				t.Errorf("got Runs after %s failed %v; want %v", tt.fails, got, tt.want)
			}
		})
	}
}

func TestZeroShutdownIsRefused(t *testing.T) {
	for name, f := range map[string]func(){
		"WithShutdown":        func() { WithShutdown(0) },
		"WithShutdownTimeout": func() { WithShutdownTimeout(0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "supervisor: "+name+": ") || !strings.Contains(msg, "d") {
					t.Errorf("got panic %q; want a %s panic naming d", msg, name)
				}
			}()
			f()
		})
	}
}

// TestGivenUpSupervisorIsNotRestartedByTransientEntry: OTP's supervisor
// that reaches its restart intensity exits with reason shutdown, which a
// transient entry in its parent does not restart; its siblings go on.
func TestGivenUpSupervisorIsNotRestartedByTransientEntry(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	root := New("root", testOptions(rec, clk, WithIntensity(0, time.Minute))...)
	sub := New("sub", testOptions(rec, clk, WithIntensity(0, time.Minute))...)
	kid := newPuppet("kid", nil)
	sub.Add("kid", kid)
	root.Add("sub", sub, WithRestart(Transient))
	root.Add("sibling", newPuppet("sibling", nil))
	stop := start(t, root)
	rec.wait(1, is(Started, "root/sibling"))
	kid.fail()
	rec.wait(1, is(Stopped, "root/sub"))
	if err := stop(); err != nil {
		t.Errorf("got root Run error %v; want nil: a given-up child under a Transient entry is no failure of root", err)
	}
	if n := rec.count(is(Restarted, "root/sub")); n != 0 {
		t.Errorf("got %d restarts of root/sub; want 0", n)
	}
	if n := rec.count(is(Restarted, "root/sibling")); n != 0 {
		t.Errorf("got %d restarts of root/sibling; want 0", n)
	}
}

func TestAddWhileRunningStartsTheChildLast(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk)...)
	log := &stopLog{}
	s.Add("a", newPuppet("a", log))
	stop := start(t, s)
	rec.wait(1, is(Started, "root/a"))
	if err := s.Add("b", newPuppet("b", log)); err != nil {
		t.Fatalf("Add while running: got %v; want nil", err)
	}
	// Add returns once b runs.
	if got := rec.count(is(Started, "root/b")); got != 1 {
		t.Fatalf("got %d Started events for root/b when Add returned; want 1", got)
	}
	tree := s.Tree()
	if len(tree) != 2 || tree[1].Path != "root/b" || tree[1].State != StateRunning {
		t.Fatalf("got Tree %+v; want root/b running, last", tree)
	}
	if err := s.Add("b", newPuppet("b", log)); !errors.Is(err, ErrDuplicateChild) {
		t.Errorf("second Add of b: got %v; want ErrDuplicateChild", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := log.get(), []string{"b", "a"}; !slices.Equal(got, want) {
		t.Errorf("got stop order %v; want %v", got, want)
	}
}
