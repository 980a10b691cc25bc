package actor

import (
	"context"
	"errors"
	"log/slog"

	"github.com/troupe-go/troupe/internal/panics"
)

// logKey is what the default logging of an actor bounds its lines by: at
// most one line per second for each (see [WithLogger]). The actor is the
// limiter's owner, so the key is only the reason and, for a panic, its
// site: each statement that panics gets its own line.
type logKey struct {
	kind logKind
	site panics.Site
}

// logKind is the reason of a log line.
type logKind uint8

const (
	logHandlerError logKind = iota
	logPanicked
	logDeadPanicked
	logDeadDrainTimeout
	logDeadStopped
	logDeadOther
)

// deadLetterKey returns the log kind of a dead letter's reason.
func deadLetterKey(reason error) logKind {
	if _, ok := reason.(*panickedError); ok {
		return logDeadPanicked // the usual one, without errors.Is's allocation
	}
	switch {
	case errors.Is(reason, ErrPanicked):
		return logDeadPanicked
	case errors.Is(reason, ErrDrainTimeout):
		return logDeadDrainTimeout
	case errors.Is(reason, ErrStopped):
		return logDeadStopped
	}
	return logDeadOther
}

// flushLogs writes the default log's lines still counted; Run calls it when
// it returns after its context ended.
func (c *config) flushLogs() {
	if l := c.logs.Load(); l != nil {
		l.Flush()
	}
}

// deadLetter reports msg, accepted by the actor or pool called name, as a
// dead letter: to a waiting [Ask], then to the hook or the log.
func (c *config) deadLetter(name string, msg any, reason error, attempts int) {
	if kd := c.extras().keyedDead; kd != nil {
		kd[deadReason(reason)].Add(1)
	}
	dl := DeadLetter{Actor: name, Msg: msg, Reason: reason, Attempts: attempts}
	if n, ok := dl.Msg.(abandoner); ok {
		n.abandon(reason)
	}
	if h := c.extras().onDeadLetter; h != nil {
		h(dl)
		return
	}
	c.limiter().Log(context.Background(), c.log(), slog.LevelWarn, logKey{kind: deadLetterKey(reason)}, "actor dead letter", func() []slog.Attr {
		return []slog.Attr{slog.String("actor", name), slog.Any("reason", reason), slog.Int("attempts", attempts)}
	})
}

// logPanic logs a handler panic; worker is the pool worker's number, or -1
// for an actor. The stack is written with the first line for the panic's
// site (the statement that panicked) only: formatting it costs more than
// the rest of a restart, and a crash loop would write the same stack each
// time. The panics of one site after that are counted, one line per second
// with the count, like the other default logs.
func (c *config) logPanic(name string, worker, attempt int, perr *PanicError) {
	l := c.log()
	if !l.Enabled(context.Background(), slog.LevelError) {
		return // before the site is looked up
	}
	site := perr.p.Site()
	c.limiter().LogSite(context.Background(), l, slog.LevelError, logKey{logPanicked, site}, site, "actor handler panicked", func() []slog.Attr {
		attrs := []slog.Attr{slog.String("actor", name), slog.Int("attempt", attempt), slog.Any("error", perr)}
		if worker >= 0 {
			attrs = append(attrs, slog.Int("worker", worker))
		}
		return attrs
	}, func() []slog.Attr {
		stack, _ := panics.StackAttr(perr)
		return []slog.Attr{stack}
	})
}

// panickedError is the reason of a dead letter whose handler panicked: it
// matches [ErrPanicked] and the [*PanicError], and formats the stack only
// when printed.
// It keeps the errors it unwraps to, so that matching it with errors.Is
// (a dead letter's count by reason does, at every restart of a crash loop)
// allocates nothing.
type panickedError struct{ errs [2]error } // ErrPanicked, the *PanicError

func newPanicked(perr *PanicError) *panickedError { return &perr.dead }

func (e *panickedError) Error() string   { return ErrPanicked.Error() + ": " + e.errs[1].Error() }
func (e *panickedError) Unwrap() []error { return e.errs[:] }

// reportError reports the error a handler returned for msg: to a waiting
// [Ask], then to the hook or the log.
func (c *config) reportError(ctx context.Context, name string, msg any, err error) {
	if n, ok := msg.(abandoner); ok {
		n.abandon(err)
	}
	if h := c.extras().onError; h != nil {
		h(ctx, name, msg, err)
		return
	}
	c.limiter().Log(ctx, c.log(), slog.LevelError, logKey{kind: logHandlerError}, "actor handler failed", func() []slog.Attr {
		return []slog.Attr{slog.String("actor", name), slog.Any("error", err)}
	})
}

// abandoner is implemented by messages that someone waits on (see [Ask]):
// they are told when their handler failed or they became dead letters.
type abandoner interface{ abandon(err error) }
