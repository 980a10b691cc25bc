package observer_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/observer"
)

func TestDeadLettersKeepsTheLatestNewestFirst(t *testing.T) {
	d := observer.NewDeadLetters(3, nil)
	for i := range 5 {
		d.Actor(actor.DeadLetter{Actor: fmt.Sprint("a", i), Msg: i, Reason: actor.ErrStopped})
	}
	d.Bus(bus.DeadLetter{Subscription: "s", Event: "e", Reason: bus.ErrDroppedNewest})
	got, total := d.Latest()
	var names []string
	for _, dl := range got {
		names = append(names, dl.Source+":"+dl.Name)
	}
	if strings.Join(names, " ") != "bus:s actor:a4 actor:a3" || total != 6 {
		t.Errorf("got %v, total %d; want [bus:s actor:a4 actor:a3], total 6", names, total)
	}
	if got[0].Type != "string" || got[0].Reason != bus.ErrDroppedNewest.Error() || got[1].Type != "int" {
		t.Errorf("got %+v; want the types and reasons recorded", got)
	}
}

func TestDeadLettersLogsBounded(t *testing.T) {
	var buf bytes.Buffer
	d := observer.NewDeadLetters(3, slog.New(slog.NewTextHandler(&buf, nil)))
	d.UseClock(clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	for range 100 {
		d.Actor(actor.DeadLetter{Actor: "a", Msg: 1, Reason: errors.New("why"), Attempts: 1})
	}
	// One line at once; the rest is counted, the fake clock standing still.
	if got := strings.Count(buf.String(), "\n"); got != 1 || !strings.Contains(buf.String(), `msg="actor dead letter" actor=a type=int reason=why attempts=1 count=1`) {
		t.Errorf("got log %q; want one line", buf.String())
	}
}

func TestNewDeadLettersRejectsZero(t *testing.T) {
	defer func() {
		if got := recover(); got != "observer: NewDeadLetters: n 0 < 1" {
			t.Errorf("got panic %v; want n named", got)
		}
	}()
	observer.NewDeadLetters(0, nil)
}
