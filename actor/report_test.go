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
	a.cfg.logs = lograte.New[logKey](time.Second, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
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
		want   logKey
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
