package actor_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/supervisor"
)

func divide(_ context.Context, n int) error {
	_ = 100 / n
	return nil
}

// crash runs an actor whose handler divides by zero and returns Run's error;
// the actor logs to log.
func crash(t *testing.T, log *slog.Logger) error {
	t.Helper()
	a := actor.New("divider", divide, actor.WithLogger(log), actor.WithDeadLetterHook(func(actor.DeadLetter) {}))
	if err := a.TrySend(0); err != nil {
		t.Fatal(err)
	}
	return a.Run(context.Background())
}

func TestPanicErrorIsOneLine(t *testing.T) {
	err := crash(t, discard)
	var perr *actor.PanicError
	if !errors.As(err, &perr) {
		t.Fatalf("Run = %v; want *PanicError", err)
	}
	const prefix = "panic: runtime error: integer divide by zero (at github.com/troupe-go/troupe/actor_test.divide panicerror_test.go:"
	if got := perr.Error(); !strings.HasPrefix(got, prefix) || strings.Contains(got, "\n") {
		t.Errorf("got %q; want one line starting %q", got, prefix)
	}
	if got := perr.Frame(); !strings.HasPrefix(got, "github.com/troupe-go/troupe/actor_test.divide panicerror_test.go:") {
		t.Errorf("got frame %q; want the dividing function", got)
	}
	var re interface{ RuntimeError() }
	if !errors.As(err, &re) {
		t.Errorf("errors.As(%v, runtime.Error) = false; want the panic value seen through", err)
	}
}

func TestPanicErrorMatchesSupervisorPanicError(t *testing.T) {
	err := crash(t, discard)
	var sp *supervisor.PanicError
	if !errors.As(err, &sp) {
		t.Fatalf("errors.As(%v, *supervisor.PanicError) = false; want true", err)
	}
	var perr *actor.PanicError
	errors.As(err, &perr)
	if sp.Value != perr.Value || sp.Stack() != perr.Stack() {
		t.Errorf("got supervisor form %v; want the same panic as %v", sp, perr)
	}
}

func TestPanicLogHasStackApart(t *testing.T) {
	var buf bytes.Buffer
	_ = crash(t, slog.New(slog.NewTextHandler(&buf, nil)))
	line := buf.String()
	if !strings.Contains(line, `error="panic: runtime error: integer divide by zero (at github.com/troupe-go/troupe/actor_test.divide panicerror_test.go:`) {
		t.Errorf("got log %q; want the one-line error", line)
	}
	if !strings.Contains(line, `stack="github.com/troupe-go/troupe/actor_test.divide\n\t`) {
		t.Errorf("got log %q; want the stack in its own attribute, starting at the panicking frame", line)
	}
}
