package actor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/internal/lograte"
	"github.com/troupe-go/troupe/internal/panics"
)

// TestDefaultErrorLogIsBounded makes a handler fail 100 times within one
// second of a fake clock: one line is written at once, and the other 99
// when Run returns.
func TestDefaultErrorLogIsBounded(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	const n = 100
	done := make(chan struct{})
	handled := 0
	a := New("failing", func(_ context.Context, i int) error {
		handled++
		if handled == n {
			close(done)
		}
		return errors.New("no")
	}, WithLogger(log), WithMailbox(n))
	a.cfg.logs.Store(lograte.New[logKey](time.Second, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))))
	for i := range n {
		if err := a.TrySend(i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- a.Run(ctx) }()
	<-done
	got := strings.TrimSpace(buf.String())
	if want := `level=ERROR msg="actor handler failed" actor=failing error=no count=1`; got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	buf.Reset()
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	got = strings.TrimSpace(buf.String())
	if want := `level=ERROR msg="actor handler failed" actor=failing error=no count=99 first=2026-01-01T00:00:00.000Z`; got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestDeadLetterKey(t *testing.T) {
	tests := []struct {
		reason error
		want   logKind
	}{
		{&panickedError{}, logDeadPanicked},
		{errRetiredPending, logDeadPanicked},
		{ErrDrainTimeout, logDeadDrainTimeout},
		{ErrStopped, logDeadStopped},
		{errors.New("other"), logDeadOther},
	}
	for _, tt := range tests {
		if got := deadLetterKey(tt.reason); got != tt.want {
			t.Errorf("deadLetterKey(%v) = %d; want %d", tt.reason, got, tt.want)
		}
	}
}

// TestPanicLogWritesTheStackOncePerSite crash-loops an actor 50 times at
// one site over 2.5 seconds of a fake clock, then panics once at another:
// the first panic of each site is written with its stack, the rest of the
// first site summarised in lines without it whose counts add up.
func TestPanicLogWritesTheStackOncePerSite(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	c := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := New("looping", func(_ context.Context, i int) error {
		if i < 0 {
			panic("other site")
		}
		panic("crash loop")
	}, WithLogger(log), WithMailbox(64), WithMaxRetries(0), WithDeadLetterHook(func(DeadLetter) {}))
	a.cfg.logs.Store(lograte.New[logKey](time.Second, c))
	const n = 50
	for i := range n + 1 {
		m := i
		if i == n {
			m = -1
		}
		if err := a.TrySend(m); err != nil {
			t.Fatal(err)
		}
		var perr *PanicError
		if err := a.Run(context.Background()); !errors.As(err, &perr) {
			t.Fatalf("Run = %v; want a *PanicError", err)
		}
		c.Advance(50 * time.Millisecond)
	}
	a.cfg.flushLogs()
	var stacks []string
	count := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.Contains(line, `msg="actor handler panicked"`) {
			t.Fatalf("unexpected line %q", line)
		}
		if strings.Contains(line, "stack=") {
			stacks = append(stacks, line)
		}
		i := strings.Index(line, " count=")
		if i < 0 {
			t.Fatalf("line %q has no count", line)
		}
		k := 0
		for _, ch := range line[i+len(" count="):] {
			if ch < '0' || ch > '9' {
				break
			}
			k = k*10 + int(ch-'0')
		}
		count += k
	}
	if len(stacks) != 2 || !strings.Contains(stacks[0], "crash loop") || !strings.Contains(stacks[1], "other site") {
		t.Errorf("got lines with a stack\n%s\nwant the first of each site only", strings.Join(stacks, "\n"))
	}
	if count != n+1 {
		t.Errorf("counts add up to %d; want %d panics\n%s", count, n+1, buf.String())
	}
	if lines := strings.Count(buf.String(), "\n"); lines > 6 {
		t.Errorf("%d lines for 2.5 s of crash loop; want at most one a second per site\n%s", lines, buf.String())
	}
}

// TestDisabledPanicLogCostsNothing: with the log's level off, logging a
// panic costs no allocation (its site is not even looked up).
func TestDisabledPanicLogCostsNothing(t *testing.T) {
	a := New("quiet", func(context.Context, int) error { panic("boom") }, WithLogger(slog.New(slog.DiscardHandler)), WithDeadLetterHook(func(DeadLetter) {}))
	if err := a.TrySend(1); err != nil {
		t.Fatal(err)
	}
	var perr *PanicError
	if err := a.Run(context.Background()); !errors.As(err, &perr) {
		t.Fatalf("Run = %v; want a *PanicError", err)
	}
	if n := testing.AllocsPerRun(100, func() { a.cfg.logPanic("quiet", -1, 1, perr) }); n != 0 {
		t.Errorf("logPanic allocates %v times with the log off; want 0", n)
	}
}

// TestPanickedReasonMatchesWithoutAllocating: counting a panicked message's
// dead letter by reason matches it with errors.Is, at every restart of a
// crash loop: that allocates nothing.
func TestPanickedReasonMatchesWithoutAllocating(t *testing.T) {
	reason := error(newPanicked(newPanicError(panics.New("boom", 0))))
	if !errors.Is(reason, ErrPanicked) || deadReason(reason) != 0 {
		t.Fatalf("deadReason(%v) = %d; want 0 (panicked)", reason, deadReason(reason))
	}
	if n := testing.AllocsPerRun(100, func() { _ = deadReason(reason) }); n != 0 {
		t.Errorf("deadReason of a panicked reason: %v allocations; want 0", n)
	}
}
