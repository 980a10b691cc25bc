package supervisor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if signalChild() {
		return
	}
	goleak.VerifyTestMain(m)
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder collects events and lets a test wait for one.
type recorder struct {
	mu     sync.Mutex
	cond   *sync.Cond
	events []Event
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) hook(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.cond.Broadcast()
}

// wait blocks until n events match, and returns the last of them.
func (r *recorder) wait(n int, match func(Event) bool) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var got []Event
		for _, e := range r.events {
			if match(e) {
				got = append(got, e)
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		r.cond.Wait()
	}
}

// indexOf returns the position of e among the recorded events; r.mu is
// held (it is called from a wait's match).
func (r *recorder) indexOf(e Event) int {
	for i, o := range r.events {
		if o == e {
			return i
		}
	}
	return -1
}

func (r *recorder) count(match func(Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if match(e) {
			n++
		}
	}
	return n
}

func is(kind EventKind, path string) func(Event) bool {
	return func(e Event) bool { return e.Kind == kind && e.Path == path }
}

// testOptions gives a supervisor a fake clock, no backoff, a quiet log and
// the recorder's hook.
func testOptions(r *recorder, clk *clock.Fake, extra ...Option) []Option {
	return append([]Option{
		WithBackoff(0, 0),
		WithIntensity(100, time.Minute),
		WithLogger(discard),
		WithHook(r.hook),
		withClock(clk, func(n int64) int64 { return n - 1 }),
	}, extra...)
}

// puppet is a child whose runs do what the test tells them.
type puppet struct {
	cmds chan func() error
	log  *stopLog
	name string
}

func newPuppet(name string, log *stopLog) *puppet {
	return &puppet{cmds: make(chan func() error), log: log, name: name}
}

func (p *puppet) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		if p.log != nil {
			p.log.add(p.name)
		}
		return ctx.Err()
	case f := <-p.cmds:
		return f()
	}
}

var errBoom = errors.New("boom")

func (p *puppet) fail()  { p.cmds <- func() error { return errBoom } }
func (p *puppet) panic() { p.cmds <- func() error { panic("kaboom") } }

// stopLog records the order in which children saw their context end.
type stopLog struct {
	mu    sync.Mutex
	names []string
}

func (l *stopLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
}

func (l *stopLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.names...)
}

// start runs s in the background; stop cancels it and returns Run's error.
func start(t *testing.T, s *Supervisor) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}
