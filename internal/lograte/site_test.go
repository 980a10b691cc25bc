package lograte

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/panics"
)

func site(f string, line int) panics.Site { return panics.Site{Function: f, Line: line} }

func stack(s string) func() []slog.Attr {
	return func() []slog.Attr { return []slog.Attr{slog.String("stack", s)} }
}

func TestLogSiteWritesDetailOnceAndCountsTheRest(t *testing.T) {
	l, c, log, buf := setup()
	ctx := context.Background()
	// A crash loop: 100 panics at one site, over 2.5 seconds.
	for i := range 100 {
		l.LogSite(ctx, log, slog.LevelError, "kid", site("f", 1), "panicked", event(i), stack("main.f"))
		c.Advance(25 * time.Millisecond)
	}
	// Another key, the same site: no stack again.
	l.LogSite(ctx, log, slog.LevelError, "other", site("f", 1), "panicked", event(100), stack("main.f"))
	// A new site: its stack, once.
	l.LogSite(ctx, log, slog.LevelError, "third", site("g", 1), "panicked", event(101), stack("main.g"))
	l.Flush()
	got := lines(buf)
	want := []string{
		`level=ERROR msg=panicked n=0 stack=main.f count=1`,
		`level=ERROR msg=panicked n=1 count=40 first=2026-01-01T00:00:00.025Z`,
		`level=ERROR msg=panicked n=41 count=40 first=2026-01-01T00:00:01.025Z`,
		`level=ERROR msg=panicked n=100 count=1`,
		`level=ERROR msg=panicked n=101 stack=main.g count=1`,
		// The flush writes kid's last batch.
		`level=ERROR msg=panicked n=81 count=19 first=2026-01-01T00:00:02.025Z`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant first\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	total := 0
	for _, ln := range got {
		if strings.Count(ln, "stack=") > 0 && !strings.Contains(ln, "count=1") {
			t.Errorf("line %q: a stack on a summary", ln)
		}
		var n int
		if i := strings.Index(ln, "count="); i >= 0 {
			for _, ch := range ln[i+len("count="):] {
				if ch < '0' || ch > '9' {
					break
				}
				n = n*10 + int(ch-'0')
			}
		}
		total += n
	}
	if total != 102 {
		t.Errorf("counts add up to %d; want 102 events\n%s", total, strings.Join(got, "\n"))
	}
}

// TestLogSiteKeepsDetailOfACountedFirstEvent: a new site whose key already
// has a line in its period is counted, and its detail kept for the batch.
func TestLogSiteKeepsDetailOfACountedFirstEvent(t *testing.T) {
	l, c, log, buf := setup()
	ctx := context.Background()
	l.Log(ctx, log, slog.LevelError, "kid", "failed", event(0))
	l.LogSite(ctx, log, slog.LevelError, "kid", site("h", 1), "failed", event(1), stack("main.h"))
	c.Advance(time.Second)
	l.LogSite(ctx, log, slog.LevelError, "kid", site("h", 1), "failed", event(2), stack("main.h"))
	got := lines(buf)
	want := []string{
		`level=ERROR msg=failed n=0 count=1`,
		`level=ERROR msg=failed n=1 stack=main.h count=2 first=2026-01-01T00:00:00.000Z`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLogSiteForgetsSitesPastTheBound(t *testing.T) {
	l, _, log, buf := setup()
	ctx := context.Background()
	for i := range maxSites + 1 {
		l.LogSite(ctx, log, slog.LevelError, strconv.Itoa(i), site("f", i+1), "panicked", event(0), stack("s"))
	}
	if got := len(l.sites); got > maxSites {
		t.Errorf("%d sites remembered; want at most %d", got, maxSites)
	}
	buf.Reset()
	l.Flush()
	l.LogSite(ctx, log, slog.LevelError, "again", site("f", 1), "panicked", event(0), stack("s"))
	if got := lines(buf); len(got) != 1 || !strings.Contains(got[0], "stack=s") {
		t.Errorf("got %q; want site 1's stack again once the sites were forgotten", got)
	}
}

// TestLogSiteCountedAllocatesNothing: an event of a known site that is
// only counted costs no allocation (a crash loop logs one on each restart,
// twice: the actor's line and the supervisor's).
func TestLogSiteCountedAllocatesNothing(t *testing.T) {
	l, _, log, _ := setup()
	ctx := context.Background()
	attrs, detail := event(0), stack("main.f")
	s := site("main.f", 1)
	l.LogSite(ctx, log, slog.LevelError, "kid", s, "panicked", attrs, detail) // written
	l.LogSite(ctx, log, slog.LevelError, "kid", s, "panicked", attrs, detail) // kept for the batch
	if n := testing.AllocsPerRun(100, func() {
		l.LogSite(ctx, log, slog.LevelError, "kid", s, "panicked", attrs, detail)
	}); n != 0 {
		t.Errorf("a counted event allocates %v times; want 0", n)
	}
}
