package supervisor

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

// starter is a puppet with a start phase that returns what start says.
type starter struct {
	*puppet
	l     *entryLog
	start func() error
}

func (c starter) Start(context.Context) error {
	c.l.add(c.name)
	return c.start()
}

func ok() error { return nil }

func TestFirstStartFailureStopsTheStartedAndNamesTheChild(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk)...)
	l, stops := newEntryLog(), &stopLog{}
	errPort := errors.New("listen: address in use")
	s.Add("a", starter{newPuppet("a", stops), l, ok})
	s.Add("b", starter{newPuppet("b", stops), l, func() error { return errPort }})
	s.Add("c", starter{newPuppet("c", stops), l, ok})
	err := s.Run(context.Background())
	var se *StartError
	if !errors.As(err, &se) || se.Path != "root/b" || !errors.Is(err, errPort) {
		t.Fatalf("got Run error %v; want a *StartError for root/b wrapping %v", err, errPort)
	}
	if got, want := l.get(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("got starts %v; want %v", got, want)
	}
	if got, want := stops.get(), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("got stops %v; want %v", got, want)
	}
	if n := rec.count(func(e Event) bool { return e.Kind == Restarted }); n != 0 {
		t.Errorf("got %d restarts; want 0", n)
	}
}

func TestStartPanicIsAStartError(t *testing.T) {
	s := New("root", WithLogger(discard))
	s.Add("a", starter{newPuppet("a", nil), newEntryLog(), func() error { panic("no config") }})
	err := s.Run(context.Background())
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "no config" {
		t.Fatalf("got %v; want a *StartError wrapping the *PanicError", err)
	}
}

// TestIgnoredStart: ErrIgnore leaves the child not running, counts no
// restart, and a sibling's restart under OneForAll calls its start again,
// unless it is Temporary.
func TestIgnoredStart(t *testing.T) {
	for _, r := range []Restart{Permanent, Transient, Temporary} {
		t.Run(r.String(), func(t *testing.T) {
			rec, clk := newRecorder(), clock.NewFake(epoch)
			s := New("root", testOptions(rec, clk, WithStrategy(OneForAll))...)
			l := newEntryLog()
			a := newPuppet("a", nil)
			s.Add("a", starter{a, l, ok})
			s.Add("idle", starter{newPuppet("idle", nil), l, func() error { return ErrIgnore }}, WithRestart(r))
			s.Add("c", starter{newPuppet("c", nil), l, ok})
			stop := start(t, s)
			rec.wait(1, is(Started, "root/c"))
			if got := rec.count(is(Ignored, "root/idle")); got != 1 {
				t.Errorf("got %d Ignored events; want 1", got)
			}
			a.fail()
			rec.wait(1, is(Restarted, "root/c"))
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			want := []string{"a", "idle", "c", "a", "idle", "c"}
			if r == Temporary {
				want = []string{"a", "idle", "c", "a", "c"}
			}
			if got := l.get(); !slices.Equal(got, want) {
				t.Errorf("got starts %v; want %v", got, want)
			}
			for _, ci := range s.Tree() {
				if ci.Path == "root/idle" && (ci.Restarts != 0 || ci.State == StateRunning) {
					t.Errorf("got %+v; want not running, no restarts", ci)
				}
			}
		})
	}
}

// TestStartFailureAtRestartCountsTowardIntensity: a start phase that fails
// at a restart is the child's failure.
func TestStartFailureAtRestartCountsTowardIntensity(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithIntensity(2, time.Minute))...)
	errDB := errors.New("db: unreachable")
	first := true
	p := newPuppet("db", nil)
	s.Add("db", starter{p, newEntryLog(), func() error {
		if first {
			first = false
			return nil
		}
		return errDB
	}})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	rec.wait(1, is(Started, "root/db"))
	p.fail()
	err := <-done
	if !errors.Is(err, ErrTooManyRestarts) || !errors.Is(err, errDB) {
		t.Fatalf("got %v; want ErrTooManyRestarts wrapping %v", err, errDB)
	}
	if got := rec.count(is(Failed, "root/db")); got != 3 {
		t.Errorf("got %d Failed events; want 3 (one Run, two starts)", got)
	}
}

func TestHTTPServerListensInStartAndShutsDownGracefully(t *testing.T) {
	rec := newRecorder()
	inHandler := make(chan struct{})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		io.WriteString(w, "done")
	})
	srv := NewHTTPServer(func() *http.Server {
		return &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	})
	var addr string
	s := New("root", WithLogger(discard), WithHook(rec.hook))
	s.Add("http", srv, WithShutdown(10*time.Second))
	// The child after the server starts once it listens.
	s.Add("probe", RunnerFunc(func(ctx context.Context) error {
		if srv.Addr() == nil {
			return errors.New("started before the server listened")
		}
		<-ctx.Done()
		return nil
	}))
	stop := start(t, s)
	rec.wait(1, is(Started, "root/probe"))
	addr = srv.Addr().String()
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + srv.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-inHandler
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Shutdown closes the listener first: once a dial is refused, the
	// server is shutting down with the request in flight.
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		conn.Close()
		runtime.Gosched()
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Errorf("got %q, %v; want the request in flight answered", r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("got Run error %v; want nil", err)
	}
	if n := rec.count(is(Failed, "root/probe")); n != 0 {
		t.Error("the child after the server started before the server listened")
	}
	if srv.Addr() != nil {
		t.Error("got a listener after the supervisor stopped")
	}
	if _, err := http.Get("http://" + addr); err == nil {
		t.Error("the server still answers after the supervisor stopped")
	}
}

// TestChildSupervisorIsReadyWhenItsChildrenAre: a supervisor's start phase
// starts its children, so the parent's next child starts after them, and a
// grandchild's failed start fails the parent's Run, naming the path.
func TestChildSupervisorIsReadyWhenItsChildrenAre(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	l := newEntryLog()
	root := New("root", testOptions(rec, clk)...)
	sub := New("sub", testOptions(rec, clk)...)
	sub.Add("x", starter{newPuppet("x", nil), l, ok})
	sub.Add("y", starter{newPuppet("y", nil), l, ok})
	root.Add("sub", sub)
	root.Add("after", starter{newPuppet("after", nil), l, ok})
	stop := start(t, root)
	l.wait(3)
	if got, want := l.get(), []string{"x", "y", "after"}; !slices.Equal(got, want) {
		t.Errorf("got starts %v; want %v", got, want)
	}
	// The subtree is supervised as usual once started.
	rec.wait(1, is(Started, "root/sub/y"))
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	errBad := errors.New("bad config")
	broken := New("broken", WithLogger(discard))
	bsub := New("sub", WithLogger(discard))
	bsub.Add("x", starter{newPuppet("x", nil), newEntryLog(), func() error { return errBad }})
	broken.Add("sub", bsub)
	err := broken.Run(context.Background())
	var se *StartError
	if !errors.As(err, &se) || se.Path != "broken/sub" || !errors.Is(err, errBad) ||
		!strings.Contains(err.Error(), "broken/sub/x") {
		t.Errorf("got %v; want a start error of broken/sub naming broken/sub/x", err)
	}
}
