package observer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/lograte"
)

// A DeadLetter is one dead letter as the page shows it: where it happened,
// the type of the message, and why. The message itself is not kept.
type DeadLetter struct {
	Time time.Time `json:"time"`
	// Source is "actor" or "bus".
	Source string `json:"source"`
	// Name is the actor's or the subscription's name.
	Name string `json:"name"`
	// Type is the Go type of the message or event.
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// DeadLetters records the latest dead letters of actors and of a bus, for
// the page. Its [DeadLetters.Actor] and [DeadLetters.Bus] methods are
// dead-letter hooks (actor.WithDeadLetterHook, bus.WithDeadLetterHook).
//
// A hook replaces the default logging of dead letters; a DeadLetters made
// with a logger logs them instead, bounded as the default is: at most one
// line per second for each actor or subscription and reason, with the count
// of dead letters it stands for.
//
// It is safe for concurrent use and must not be copied.
type DeadLetters struct {
	log  *slog.Logger
	logs *lograte.Limiter[dlKey]

	mu    sync.Mutex
	ring  []DeadLetter // the latest, oldest at next once full
	next  int
	total uint64
}

type dlKey struct{ source, name, reason string }

// NewDeadLetters returns a recorder that keeps the latest n dead letters and
// logs them to log, unless log is nil. It panics if n < 1.
func NewDeadLetters(n int, log *slog.Logger) *DeadLetters {
	if n < 1 {
		panic(fmt.Sprintf("observer: NewDeadLetters: n %d < 1", n))
	}
	return &DeadLetters{log: log, logs: lograte.New[dlKey](0, nil), ring: make([]DeadLetter, 0, n)}
}

// Actor records an actor's dead letter. It is a hook for
// actor.WithDeadLetterHook.
func (d *DeadLetters) Actor(dl actor.DeadLetter) {
	d.record(DeadLetter{Source: "actor", Name: dl.Actor, Type: fmt.Sprintf("%T", dl.Msg)}, dl.Reason, slog.Int("attempts", dl.Attempts))
}

// Bus records a bus's dead letter. It is a hook for bus.WithDeadLetterHook.
func (d *DeadLetters) Bus(dl bus.DeadLetter) {
	d.record(DeadLetter{Source: "bus", Name: dl.Subscription, Type: fmt.Sprintf("%T", dl.Event)}, dl.Reason, slog.Attr{})
}

func (d *DeadLetters) record(dl DeadLetter, reason error, extra slog.Attr) {
	dl.Time = time.Now()
	if reason != nil {
		dl.Reason = reason.Error()
	}
	d.mu.Lock()
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, dl)
	} else {
		d.ring[d.next] = dl
		d.next = (d.next + 1) % len(d.ring)
	}
	d.total++
	d.mu.Unlock()
	if d.log == nil {
		return
	}
	d.logs.Log(context.Background(), d.log, slog.LevelWarn, dlKey{dl.Source, dl.Name, dl.Reason}, dl.Source+" dead letter", func() []slog.Attr {
		attrs := []slog.Attr{slog.String(nameKey(dl.Source), dl.Name), slog.String("type", dl.Type), slog.String("reason", dl.Reason)}
		if extra.Key != "" {
			attrs = append(attrs, extra)
		}
		return attrs
	})
}

func nameKey(source string) string {
	if source == "bus" {
		return "subscription"
	}
	return "actor"
}

// Latest returns the dead letters kept, newest first, and how many were
// recorded in all.
func (d *DeadLetters) Latest() ([]DeadLetter, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DeadLetter, 0, len(d.ring))
	for i := range len(d.ring) {
		out = append(out, d.ring[(d.next+len(d.ring)-1-i)%len(d.ring)])
	}
	return out, d.total
}
