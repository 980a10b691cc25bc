package actor

import (
	"context"
	"log/slog"
)

// deadLetter reports msg, accepted by the actor or pool called name, as a
// dead letter: to a waiting [Ask], then to the hook or the log.
func (c *config) deadLetter(name string, msg any, reason error, attempts int) {
	dl := DeadLetter{Actor: name, Msg: msg, Reason: reason, Attempts: attempts}
	if n, ok := dl.Msg.(abandoner); ok {
		n.abandon(reason)
	}
	if c.onDeadLetter != nil {
		c.onDeadLetter(dl)
		return
	}
	c.log().Warn("actor dead letter", "actor", name, "reason", reason, "attempts", attempts)
}

// logPanic logs a handler panic; worker is the pool worker's number, or -1
// for an actor. The stack is formatted only if the record is written:
// formatting it costs more than the rest of a restart.
func (c *config) logPanic(name string, worker, attempt int, perr *PanicError) {
	l := c.log()
	if !l.Enabled(context.Background(), slog.LevelError) {
		return
	}
	attrs := []any{"actor", name, "attempt", attempt, "error", perr.Value, "stack", stackValue{perr}}
	if worker >= 0 {
		attrs = append(attrs, "worker", worker)
	}
	l.Error("actor handler panicked", attrs...)
}

// stackValue formats a panic's stack when a log handler asks for it.
type stackValue struct{ perr *PanicError }

func (v stackValue) LogValue() slog.Value { return slog.StringValue(v.perr.Stack()) }

// panickedError is the reason of a dead letter whose handler panicked: it
// matches [ErrPanicked] and the [*PanicError], and formats the stack only
// when printed.
type panickedError struct{ perr *PanicError }

func (e *panickedError) Error() string   { return ErrPanicked.Error() + ": " + e.perr.Error() }
func (e *panickedError) Unwrap() []error { return []error{ErrPanicked, e.perr} }

// reportError reports the error a handler returned for msg: to a waiting
// [Ask], then to the hook or the log.
func (c *config) reportError(ctx context.Context, name string, msg any, err error) {
	if n, ok := msg.(abandoner); ok {
		n.abandon(err)
	}
	if c.onError != nil {
		c.onError(ctx, name, msg, err)
		return
	}
	c.log().ErrorContext(ctx, "actor handler failed", "actor", name, "error", err)
}

// abandoner is implemented by messages that someone waits on (see [Ask]):
// they are told when their handler failed or they became dead letters.
type abandoner interface{ abandon(err error) }
