package lograte

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// setup returns a Limiter on a fake clock, a logger writing text lines
// without their time, and the buffer the lines go to.
func setup() (*Limiter[string], *clock.Fake, *slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	c := clock.NewFake(epoch)
	return New[string](time.Second, c), c, slog.New(h), &buf
}

func event(n int) func() []slog.Attr {
	return func() []slog.Attr { return []slog.Attr{slog.Int("n", n)} }
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestLogWritesFirstEventAtOnceAndCountsTheRest(t *testing.T) {
	l, c, log, buf := setup()
	ctx := context.Background()
	for i := range 10 {
		l.Log(ctx, log, slog.LevelWarn, "a", "drop", event(i))
	}
	got := lines(buf)
	want := []string{`level=WARN msg=drop n=0 count=1`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c.Advance(300 * time.Millisecond)
	l.Log(ctx, log, slog.LevelWarn, "a", "drop", event(10))
	if got := lines(buf); got != nil {
		t.Fatalf("got lines %q within the period; want none", got)
	}
	c.Advance(700 * time.Millisecond)
	l.Log(ctx, log, slog.LevelWarn, "a", "drop", event(11))
	// The batch is the 9 events after the first line, the one 300ms later
	// and this one; it is written with the details of its first event
	// (n=1), counted at the epoch.
	want = []string{`level=WARN msg=drop n=1 count=11 first=2026-01-01T00:00:00.000Z`}
	if got := lines(buf); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLogStormReadsTheClockEvery64Events: past 64 events in a period, a
// line comes within 64 events after the period, and the counts of all
// lines add up to the events.
func TestLogStormReadsTheClockEvery64Events(t *testing.T) {
	l, c, log, buf := setup()
	ctx := context.Background()
	events := 0
	logEvent := func() {
		l.Log(ctx, log, slog.LevelWarn, "a", "drop", event(events))
		events++
	}
	for range 1000 {
		logEvent()
	}
	if got := lines(buf); len(got) != 1 {
		t.Fatalf("got lines %q; want the first event's only", got)
	}
	c.Advance(time.Second)
	for i := 0; buf.Len() == 0; i++ {
		if i == 64 {
			t.Fatal("got no line within 64 events past the period")
		}
		logEvent()
	}
	for range 100 {
		logEvent()
	}
	l.Flush()
	total := 1 // the first line's
	for _, ln := range lines(buf) {
		_, count, _ := strings.Cut(ln, "count=")
		count, _, _ = strings.Cut(count, " ")
		n, err := strconv.Atoi(count)
		if err != nil {
			t.Fatalf("line %q: %v", ln, err)
		}
		total += n
	}
	if total != events {
		t.Errorf("got counts adding up to %d; want the %d events", total, events)
	}
}

func TestLogKeysAreIndependent(t *testing.T) {
	l, _, log, buf := setup()
	ctx := context.Background()
	for _, k := range []string{"a", "b", "a", "b", "c"} {
		l.Log(ctx, log, slog.LevelWarn, k, "drop "+k, event(0))
	}
	got := lines(buf)
	want := []string{
		`level=WARN msg="drop a" n=0 count=1`,
		`level=WARN msg="drop b" n=0 count=1`,
		`level=WARN msg="drop c" n=0 count=1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLogWritesOtherKeysExpiredBatches(t *testing.T) {
	l, c, log, buf := setup()
	ctx := context.Background()
	l.Log(ctx, log, slog.LevelWarn, "a", "drop a", event(0))
	l.Log(ctx, log, slog.LevelWarn, "a", "drop a", event(1))
	l.Log(ctx, log, slog.LevelWarn, "a", "drop a", event(2))
	lines(buf)
	c.Advance(2 * time.Second)
	// Key a has gone quiet with a batch of two; an event for b writes it.
	l.Log(ctx, log, slog.LevelWarn, "b", "drop b", event(0))
	got := lines(buf)
	want := []string{
		`level=WARN msg="drop b" n=0 count=1`,
		`level=WARN msg="drop a" n=1 count=2 first=2026-01-01T00:00:00.000Z`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c.Advance(2 * time.Second)
	l.Log(ctx, log, slog.LevelWarn, "b", "drop b", event(1))
	lines(buf)
	if got := len(l.keys); got != 1 {
		t.Errorf("got %d keys remembered; want 1 (a, quiet for a period, is forgotten)", got)
	}
}

func TestFlushWritesPendingBatches(t *testing.T) {
	l, _, log, buf := setup()
	ctx := context.Background()
	for i := range 5 {
		l.Log(ctx, log, slog.LevelError, "a", "failed", event(i))
	}
	l.Log(ctx, log, slog.LevelError, "b", "failed", event(9))
	lines(buf)
	l.Flush()
	got := lines(buf)
	want := []string{`level=ERROR msg=failed n=1 count=4 first=2026-01-01T00:00:00.000Z`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	l.Flush()
	if got := lines(buf); got != nil {
		t.Errorf("got lines %q from a second Flush; want none", got)
	}
	// After a Flush, the next event is written at once.
	l.Log(ctx, log, slog.LevelError, "a", "failed", event(10))
	if got := lines(buf); len(got) != 1 {
		t.Errorf("got lines %q after Flush; want the event written at once", got)
	}
}

func TestLogSkipsDisabledLevels(t *testing.T) {
	l, _, log, buf := setup()
	called := false
	l.Log(context.Background(), log, slog.LevelDebug, "a", "debug", func() []slog.Attr { called = true; return nil })
	if called || buf.Len() != 0 || len(l.keys) != 0 {
		t.Errorf("got attrs called %v, output %q, %d keys; want nothing for a disabled level", called, buf.String(), len(l.keys))
	}
}

func TestNewDefaults(t *testing.T) {
	l := New[int](0, nil)
	if l.period != DefaultPeriod || l.clock == nil {
		t.Errorf("got period %v, clock %v; want %v and the system clock", l.period, l.clock, DefaultPeriod)
	}
}

// BenchmarkLogCounted measures an event counted within the period: the cost
// every event but one per second pays under a storm.
func BenchmarkLogCounted(b *testing.B) {
	l := New[int](time.Hour, nil)
	log := slog.New(slog.NewTextHandler(discard{}, nil))
	ctx := context.Background()
	l.Log(ctx, log, slog.LevelWarn, 1, "drop", event(0))
	b.ReportAllocs()
	for b.Loop() {
		l.Log(ctx, log, slog.LevelWarn, 1, "drop", event(1))
	}
}

// BenchmarkLogCountedEveryClockRead is BenchmarkLogCounted reading the
// clock for every event: what reading it once per 64 events buys.
func BenchmarkLogCountedEveryClockRead(b *testing.B) {
	l := New[int](time.Hour, nil)
	l.every = 1
	log := slog.New(slog.NewTextHandler(discard{}, nil))
	ctx := context.Background()
	l.Log(ctx, log, slog.LevelWarn, 1, "drop", event(0))
	b.ReportAllocs()
	for b.Loop() {
		l.Log(ctx, log, slog.LevelWarn, 1, "drop", event(1))
	}
}

// BenchmarkBaselineLogText is what each event cost before: one text line.
func BenchmarkBaselineLogText(b *testing.B) {
	log := slog.New(slog.NewTextHandler(discard{}, nil))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		log.LogAttrs(ctx, slog.LevelWarn, "drop", slog.Int("n", 1))
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
