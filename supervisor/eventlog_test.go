package supervisor

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/internal/panics"
)

// syncBuffer is a bytes.Buffer safe for the supervisor's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestCrashLoopLogsOneStackThenCounts crash-loops a child 50 times over
// 2.5 seconds of a fake clock: the log has the stack of the first failure
// only, at most one line per second for each kind of event after it, and
// the counts of its lines add up to every failure and restart; the hook
// gets every event.
func TestCrashLoopLogsOneStackThenCounts(t *testing.T) {
	const n = 50
	var buf syncBuffer
	rec, clk := newRecorder(), clock.NewFake(epoch)
	s := New("root", testOptions(rec, clk, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))...)
	runs := 0
	s.Add("kid", RunnerFunc(func(ctx context.Context) error {
		runs++ // the runs follow each other
		if runs > n {
			<-ctx.Done()
			return nil
		}
		clk.Advance(50 * time.Millisecond)
		panic("crash loop")
	}))
	stop := start(t, s)
	rec.wait(n, is(Restarted, "root/kid"))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(is(Failed, "root/kid")); got != n {
		t.Errorf("hook got %d failures; want %d", got, n)
	}
	counts := map[string]int{}
	lines := map[string]int{}
	stacks := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		i := strings.Index(line, " event=")
		if i < 0 {
			t.Fatalf("line %q has no event", line)
		}
		event := strings.Fields(strings.ReplaceAll(line[i+len(" event="):], `"`, " "))[0]
		lines[event]++
		if strings.Contains(line, " stack=") {
			stacks++
			if event != "failed" || !strings.Contains(line, "count=1") {
				t.Errorf("stack in %q; want it in the first failure's line only", line)
			}
		}
		count := 1
		if j := strings.Index(line, " count="); j >= 0 {
			count, _ = strconv.Atoi(strings.Fields(line[j+len(" count="):])[0])
		}
		counts[event] += count
	}
	if stacks != 1 {
		t.Errorf("%d stacks written; want 1\n%s", stacks, buf.String())
	}
	if counts["failed"] != n || counts["restarted"] != n {
		t.Errorf("counts: %d failed, %d restarted; want %d each\n%s", counts["failed"], counts["restarted"], n, buf.String())
	}
	// 2.5 s: a line at once, one a second, one at the end.
	if lines["failed"] > 4 || lines["restarted"] > 4 {
		t.Errorf("lines: %v; want at most 4 per event for 2.5 s\n%s", lines, buf.String())
	}
}

// TestDisabledLogCostsNothing: with the log's level off, a failure with a
// panic costs no allocation for the log (the hook still gets it).
func TestDisabledLogCostsNothing(t *testing.T) {
	s := New("root", WithLogger(slog.New(slog.DiscardHandler)))
	s.log = s.cfg.logger
	var err error
	func() {
		defer func() { err = panics.New(recover(), 0) }()
		panic("boom")
	}()
	e := Event{Kind: Failed, Time: epoch, Child: "kid", Path: "root/kid", Err: err}
	if n := testing.AllocsPerRun(100, func() { s.emit(e) }); n != 0 {
		t.Errorf("emit allocates %v times with the log off; want 0", n)
	}
}
