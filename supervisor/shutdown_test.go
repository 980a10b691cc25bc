package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

func TestShutdownInReverseStartOrderAcrossTheTree(t *testing.T) {
	for _, st := range []Strategy{OneForOne, OneForAll, RestForOne} {
		t.Run(st.String(), func(t *testing.T) {
			rec, clk := newRecorder(), clock.NewFake(epoch)
			log := &stopLog{}
			root := New("root", testOptions(rec, clk, WithStrategy(st))...)
			sub := New("sub", testOptions(rec, clk, WithStrategy(st))...)
			root.Add("a", newPuppet("a", log))
			sub.Add("x", newPuppet("x", log))
			sub.Add("y", newPuppet("y", log))
			root.Add("sub", sub)
			root.Add("b", newPuppet("b", log))
			stop := start(t, root)
			for _, p := range []string{"root/a", "root/sub/x", "root/sub/y", "root/b"} {
				rec.wait(1, is(Started, p))
			}
			if err := stop(); err != nil {
				t.Fatalf("got Run error %v; want nil", err)
			}
			// Every child saw the cancellation, last started first.
			if got, want := log.get(), []string{"b", "y", "x", "a"}; !slices.Equal(got, want) {
				t.Errorf("got stop order %v; want %v", got, want)
			}
			for _, ci := range root.Tree() {
				if ci.State != StateStopped {
					t.Errorf("got %s %v after Run; want stopped", ci.Path, ci.State)
				}
			}
		})
	}
}

func TestStuckChildIsNamedWithPathAndStack(t *testing.T) {
	rec := newRecorder()
	release := make(chan struct{})
	exited := make(chan struct{})
	stuck := RunnerFunc(func(ctx context.Context) error {
		defer close(exited)
		<-release // ignores ctx
		return nil
	})
	root := New("root", WithLogger(discard), WithHook(rec.hook))
	sub := New("sub", WithLogger(discard), WithHook(rec.hook))
	sub.Add("stuck", stuck, WithShutdown(10*time.Millisecond))
	sub.Add("fine", newPuppet("fine", nil))
	root.Add("sub", sub)
	stop := start(t, root)
	rec.wait(1, is(Started, "root/sub/stuck"))

	err := stop()
	close(release)
	<-exited

	var se *ShutdownError
	if !errors.As(err, &se) {
		t.Fatalf("got %v; want a *ShutdownError", err)
	}
	if len(se.Stuck) != 1 || se.Stuck[0].Path != "root/sub/stuck" {
		t.Fatalf("got stuck %+v; want root/sub/stuck alone", se.Stuck)
	}
	if !strings.Contains(se.Stuck[0].Stack, "TestStuckChildIsNamedWithPathAndStack") {
		t.Errorf("got stack\n%s\nwant the stuck function in it", se.Stuck[0].Stack)
	}
	if !strings.Contains(err.Error(), "root/sub/stuck") {
		t.Errorf("got message %q; want it to name root/sub/stuck", err)
	}
	if got := rec.count(is(Abandoned, "root/sub/stuck")); got != 1 {
		t.Errorf("got %d Abandoned events; want 1", got)
	}
}

func TestPathAndPprofLabel(t *testing.T) {
	type seen struct{ path, label string }
	got := make(chan seen, 1)
	root := New("root", WithLogger(discard))
	sub := New("sub", WithLogger(discard))
	sub.Add("kid", RunnerFunc(func(ctx context.Context) error {
		l, _ := pprof.Label(ctx, "troupe.path")
		got <- seen{Path(ctx), l}
		<-ctx.Done()
		return nil
	}))
	root.Add("sub", sub)
	stop := start(t, root)
	s := <-got
	stop()
	if want := "root/sub/kid"; s.path != want || s.label != want {
		t.Errorf("got Path %q, label %q; want %q", s.path, s.label, want)
	}
}

func TestRunAndAddErrors(t *testing.T) {
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk)...)
	if err := s.Add("a", newPuppet("a", nil)); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("a", newPuppet("a", nil)); !errors.Is(err, ErrDuplicateChild) {
		t.Errorf("got %v; want ErrDuplicateChild", err)
	}
	stop := start(t, s)
	rec.wait(1, is(Started, "root/a"))
	if err := s.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: got %v; want ErrRunning", err)
	}
	stop()
	if err := s.Add("b", newPuppet("b", nil)); err != nil {
		t.Errorf("Add after Run returned: got %v; want nil", err)
	}
	if err := s.Remove("c"); !errors.Is(err, ErrUnknownChild) {
		t.Errorf("Remove of an unknown child: got %v; want ErrUnknownChild", err)
	}
}

func TestProgrammerErrorsPanic(t *testing.T) {
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"empty name", func() { New("") }, "supervisor: New: empty name"},
		{"slash in name", func() { New("a/b") }, "contains '/'"},
		{"nil runner", func() { New("r").Add("x", nil) }, "nil runner"},
		{"negative intensity", func() { WithIntensity(-1, time.Second) }, "negative maxRestarts"},
		{"zero window", func() { WithIntensity(1, 0) }, "window"},
		{"negative backoff", func() { WithBackoff(-1, 0) }, "negative min"},
		{"max below min", func() { WithBackoff(2, 1) }, "less than min"},
		{"negative shutdown", func() { WithShutdown(-1) }, "negative d"},
		{"significant permanent child", func() { New("r").Add("x", newPuppet("x", nil), WithSignificant()) }, "cannot be significant"},
		{"nil logger", func() { WithLogger(nil) }, "nil logger"},
		{"nil hook", func() { WithHook(nil) }, "nil hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "supervisor: ") || !strings.Contains(msg, tt.want) {
					t.Errorf("got panic %q; want a supervisor: panic containing %q", msg, tt.want)
				}
			}()
			tt.f()
		})
	}
}

func TestEventsAreLoggedWithAttributes(t *testing.T) {
	var buf bytes.Buffer
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))...)
	p := newPuppet("kid", nil)
	s.Add("kid", p)
	stop := start(t, s)
	p.fail()
	rec.wait(1, is(Restarted, "root/kid"))
	stop()

	var failedLine map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("got unparsable log line %q: %v", line, err)
		}
		if m["event"] == "failed" {
			failedLine = m
		}
	}
	want := map[string]any{"supervisor": "root", "child": "kid", "path": "root/kid",
		"event": "failed", "error": "boom", "restarts": float64(0), "level": "ERROR"}
	for k, v := range want {
		if failedLine[k] != v {
			t.Errorf("attribute %s: got %v; want %v (line %v)", k, failedLine[k], v, failedLine)
		}
	}
}
