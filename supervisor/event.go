package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/troupe-go/troupe/internal/panics"
)

// EventKind says what happened in an [Event].
type EventKind int

const (
	// Started: a child was started for the first time in this Run of
	// its supervisor: its start phase succeeded and its Run begins.
	Started EventKind = iota + 1
	// Restarted: a child was started again, after its own exit or a
	// sibling's under OneForAll or RestForOne.
	Restarted
	// Failed: a child returned an error other than context.Canceled, or
	// panicked (Err is then a *PanicError with the stack).
	Failed
	// BackingOff: a child is waiting Backoff before its restart; a child
	// that keeps doing so is crash-looping.
	BackingOff
	// Stopped: a child returned and will not be restarted by this event:
	// it exited for good, or the supervisor stopped it.
	Stopped
	// Abandoned: a child did not return within its shutdown timeout; its
	// goroutine is left running and reported in a [ShutdownError]. The
	// child is not started again in this Run of its supervisor, even by a
	// sibling's restart: its old Run may still be going on.
	Abandoned
	// Ignored: a child's start phase returned ErrIgnore: it is not
	// running, and no restart was counted.
	Ignored
	// ShuttingDown: a significant child exited for good and the
	// supervisor shuts down (see WithAutoShutdown); Child names it.
	ShuttingDown
	// GaveUp: the supervisor exceeded its restart intensity, stopped its
	// children and is returning an error matching ErrTooManyRestarts.
	GaveUp
)

// String returns the kind's name in lower case, such as "restarted"; it is
// the value of the log attribute "event".
func (k EventKind) String() string {
	switch k {
	case Started:
		return "started"
	case Restarted:
		return "restarted"
	case Failed:
		return "failed"
	case BackingOff:
		return "backing off"
	case Stopped:
		return "stopped"
	case Abandoned:
		return "abandoned"
	case Ignored:
		return "ignored"
	case ShuttingDown:
		return "shutting down"
	case GaveUp:
		return "gave up"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a lifecycle event of a child or of the supervisor itself, passed
// to the [WithHook] function and logged. It is a plain value, safe to copy.
type Event struct {
	Kind EventKind
	// Time is when it happened, read from the supervisor's clock.
	Time time.Time
	// Supervisor is the path of the supervisor reporting the event.
	Supervisor string
	// Child is the child's name; empty for GaveUp.
	Child string
	// Path is the child's path in the tree; the supervisor's for GaveUp.
	Path string
	// Err is the child's error (Failed, Stopped), or the supervisor's
	// (GaveUp).
	Err error
	// Restarts is how many times the child has been restarted, over every
	// Run of its supervisor.
	Restarts int
	// Backoff is the wait before the restart (BackingOff).
	Backoff time.Duration
}

// message returns the log message of an event of kind k: "supervisor: "
// and the kind's name, without building it each time.
func (k EventKind) message() string {
	switch k {
	case Started:
		return "supervisor: started"
	case Restarted:
		return "supervisor: restarted"
	case Failed:
		return "supervisor: failed"
	case BackingOff:
		return "supervisor: backing off"
	case Stopped:
		return "supervisor: stopped"
	case Abandoned:
		return "supervisor: abandoned"
	case Ignored:
		return "supervisor: ignored"
	case ShuttingDown:
		return "supervisor: shutting down"
	case GaveUp:
		return "supervisor: gave up"
	}
	return "supervisor: " + k.String()
}

func (k EventKind) level() slog.Level {
	switch k {
	case Failed, Abandoned, GaveUp:
		return slog.LevelError
	case BackingOff:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// logKey is what the supervisor's log bounds the lines of a restart by:
// at most one line per second for each child, kind of event and, for a
// panic, its site (the statement that panicked).
type logKey struct {
	path string
	kind EventKind
	site panics.Site
}

// emit sends e to the hook and to the log. Every event goes to the hook.
// The events of a restart (Failed, BackingOff, Restarted) are logged at
// most once a second for each child and kind, the lines carrying the count
// of events they stand for, and a panic's stack is written with the first
// failure of its site only: a crash-looping child would otherwise cost a
// stack formatted and written on every restart. The other events are
// always logged.
func (s *Supervisor) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = s.cfg.clock.Now()
	}
	e.Supervisor = s.path
	if h := s.cfg.hook; h != nil {
		h(e)
	}
	lvl := e.Kind.level()
	if !s.log.Enabled(context.Background(), lvl) {
		return // before anything is computed or allocated for the log
	}
	attrs := func() []slog.Attr {
		attrs := []slog.Attr{
			slog.String("supervisor", e.Supervisor),
			slog.String("child", e.Child),
			slog.String("path", e.Path),
			slog.String("event", e.Kind.String()),
			slog.Int("restarts", e.Restarts),
		}
		if e.Err != nil {
			attrs = append(attrs, slog.Any("error", e.Err))
		}
		if e.Kind == BackingOff {
			attrs = append(attrs, slog.Duration("backoff", e.Backoff))
		}
		return attrs
	}
	msg := e.Kind.message()
	switch e.Kind {
	case Failed, BackingOff, Restarted:
	default:
		s.log.LogAttrs(context.Background(), lvl, msg, attrs()...)
		return
	}
	k := logKey{path: e.Path, kind: e.Kind}
	p := panics.Find(e.Err)
	if e.Kind != Failed || p == nil {
		s.logs.Log(context.Background(), s.log, lvl, k, msg, attrs)
		return
	}
	k.site = p.Site()
	s.logs.LogSite(context.Background(), s.log, lvl, k, k.site, msg, attrs, func() []slog.Attr {
		stack, _ := panics.StackAttr(p)
		return []slog.Attr{stack} // formatted only if written
	})
}
