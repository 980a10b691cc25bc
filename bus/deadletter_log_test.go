package bus

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/internal/errfull"
	"github.com/troupe-go/troupe/internal/lograte"
)

// fullInbox is an inbox that never has room.
type fullInbox struct{}

func (fullInbox) Name() string                     { return "full" }
func (fullInbox) Send(context.Context, int) error  { return errfull.Err }
func (fullInbox) Offer(context.Context, int) error { return errfull.Err }
func (fullInbox) Len() int                         { return 1 }
func (fullInbox) Cap() int                         { return 1 }

// textLog returns a logger writing text lines without their time to buf.
func textLog(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

func TestDefaultDeadLetterLogIsBounded(t *testing.T) {
	var buf bytes.Buffer
	c := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := New(WithLogger(textLog(&buf)))
	b.cfg.logs = lograte.New[logKey](time.Second, c)
	if _, err := Subscribe[int](b, fullInbox{}, WithPolicy(DropNewest), WithName("full")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 10_000 {
		_ = Publish(ctx, b, i)
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	buf.Reset()
	if len(got) != 2 || !strings.Contains(got[0], "msg=\"bus subscriber is slow\"") || !strings.Contains(got[1], `msg="bus dead letter" subscription=full event=int reason="bus: dropped newest: inbox full" count=1`) {
		t.Fatalf("got lines\n%s\nwant one slow line and one dead-letter line", strings.Join(got, "\n"))
	}
	c.Advance(time.Second)
	// Past the period, a line for the storm comes within 64 events (the
	// limiter reads the clock every 64th event of a storm).
	published := 10_000
	for ; buf.Len() == 0; published++ {
		if published == 10_000+64 {
			t.Fatal("got no line within 64 publishes past the period")
		}
		_ = Publish(ctx, b, 0)
	}
	got = strings.Split(strings.TrimSpace(buf.String()), "\n")
	const prefix = `level=WARN msg="bus dead letter" subscription=full event=int reason="bus: dropped newest: inbox full" count=`
	const suffix = ` first=2026-01-01T00:00:00.000Z`
	if len(got) != 1 || !strings.HasPrefix(got[0], prefix) || !strings.HasSuffix(got[0], suffix) {
		t.Fatalf("got lines\n%s\nwant one line %s<count>%s", strings.Join(got, "\n"), prefix, suffix)
	}
	counted, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(got[0], prefix), suffix))
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	// What is left counted when the storm stops is written by Close: the
	// counts add up to the dead letters.
	for range 3 {
		_ = Publish(ctx, b, 0)
		published++
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rest := strings.TrimSpace(buf.String())
	left := published - 1 - counted
	if want := prefix + strconv.Itoa(left) + ` first=2026-01-01T00:00:01.000Z`; rest != want {
		t.Fatalf("got\n%s\nwant\n%s", rest, want)
	}
}

func TestDeadLetterHookGetsEveryEvent(t *testing.T) {
	var buf bytes.Buffer
	n := 0
	b := New(WithLogger(textLog(&buf)), WithDeadLetterHook(func(DeadLetter) { n++ }), WithSlowHook(func(SlowSubscriber) {}))
	if _, err := Subscribe[int](b, fullInbox{}, WithPolicy(DropNewest)); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		_ = Publish(context.Background(), b, i)
	}
	if n != 1000 || buf.Len() != 0 {
		t.Errorf("got %d hook calls and log %q; want 1000 calls and no log", n, buf.String())
	}
}
