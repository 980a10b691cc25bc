package panics

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func recovered(f func()) (err *Error) {
	defer func() {
		if v := recover(); v != nil {
			err = New(v, 0)
		}
	}()
	f()
	return nil
}

func boom() { panic("boom") }

func TestNewRecordsValueAndStack(t *testing.T) {
	err := recovered(boom)
	if err == nil {
		t.Fatal("got nil; want *Error")
	}
	if err.Value != "boom" {
		t.Errorf("got value %v; want boom", err.Value)
	}
	first := strings.SplitN(err.Stack(), "\n", 2)[0]
	if !strings.HasSuffix(first, "panics.boom") {
		t.Errorf("got first frame %q; want the panicking function panics.boom", first)
	}
}

func TestErrorIsOneLineWithValueAndFrame(t *testing.T) {
	err := recovered(boom)
	const prefix = "panic: boom (at github.com/troupe-go/troupe/internal/panics.boom panics_test.go:"
	if got := err.Error(); !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, ")") || strings.Contains(got, "\n") {
		t.Errorf("got %q; want one line %q<line>)", got, prefix)
	}
	if got, want := err.Frame(), "github.com/troupe-go/troupe/internal/panics.boom panics_test.go:"; !strings.HasPrefix(got, want) {
		t.Errorf("got frame %q; want %q<line>", got, want)
	}
	multi := recovered(func() { panic("two\nlines") })
	if got := multi.Error(); !strings.HasPrefix(got, `panic: "two\nlines" (at `) {
		t.Errorf("got %q; want the multi-line value quoted", got)
	}
	var runtimeErr *Error
	func() {
		defer func() { runtimeErr = New(recover(), 0) }()
		var s []int
		i := len(s)
		_ = s[i] // index out of range: the runtime panics
	}()
	if got := runtimeErr.Frame(); !strings.Contains(got, "TestErrorIsOneLineWithValueAndFrame") {
		t.Errorf("got frame %q for a runtime panic; want the function that caused it", got)
	}
	if got := (&Error{Value: "v"}).Error(); got != "panic: v" {
		t.Errorf("got %q without frames; want %q", got, "panic: v")
	}
}

func TestStackAttr(t *testing.T) {
	err := fmt.Errorf("child failed: %w", recovered(boom))
	a, ok := StackAttr(err)
	if !ok || a.Key != "stack" {
		t.Fatalf("got %v, %v; want the stack attribute", a, ok)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Error("failed", "error", err, a)
	if got := buf.String(); !strings.Contains(got, "stack=\"github.com/troupe-go/troupe/internal/panics.boom\\n") {
		t.Errorf("got log %q; want the formatted stack in its own attribute", got)
	}
	if _, ok := StackAttr(errors.New("plain")); ok {
		t.Error("got ok for an error without a panic; want false")
	}
}

func TestUnwrapSeesPanickedError(t *testing.T) {
	sentinel := errors.New("sentinel")
	err := recovered(func() { panic(sentinel) })
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, sentinel) = false; want true", err)
	}
	if got := recovered(boom).Unwrap(); got != nil {
		t.Errorf("got Unwrap() = %v for a string panic; want nil", got)
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = recovered(boom)
	}
}

func boomAt(which int) {
	if which == 0 {
		panic("zero")
	}
	panic("other")
}

// nilMap writes to m, which the tests pass nil: a runtime panic.
func nilMap(m map[string]int) { m["x"] = 1 }

func TestSiteIsThePanickingStatement(t *testing.T) {
	a, b := recovered(func() { boomAt(0) }), recovered(func() { boomAt(0) })
	c := recovered(func() { boomAt(1) })
	if a.Site() == (Site{}) || a.Site() != b.Site() {
		t.Errorf("two panics of one statement: sites %v and %v; want equal, not zero", a.Site(), b.Site())
	}
	if c.Site() == a.Site() {
		t.Errorf("panics of two statements share the site %v", c.Site())
	}
	// Called from elsewhere, the same statement is the same site.
	if d := recovered(func() { func() { boomAt(1) }() }); d.Site() != c.Site() {
		t.Errorf("same statement, another caller: site %v; want %v", d.Site(), c.Site())
	}
	// A site is what Frame names; for a runtime panic, the code that caused it.
	for _, e := range []*Error{a, c, recovered(func() { nilMap(nil) })} {
		s := e.Site()
		if want := s.Function + " panics_test.go:" + strconv.Itoa(s.Line); e.Frame() != want {
			t.Errorf("site %v; want the frame %q", s, e.Frame())
		}
	}
	if s := recovered(func() { nilMap(nil) }).Site(); !strings.HasSuffix(s.Function, "panics.nilMap") {
		t.Errorf("runtime panic: site %v; want panics.nilMap", s)
	}
}

func TestFindIsErrorsAs(t *testing.T) {
	p := recovered(boom)
	for _, err := range []error{p, fmt.Errorf("wrapped: %w", p), errors.Join(errors.New("x"), fmt.Errorf("w: %w", p))} {
		if got := Find(err); got != p {
			t.Errorf("Find(%v) = %v; want the panic", err, got)
		}
	}
	if got := Find(errors.New("plain")); got != nil {
		t.Errorf("Find(plain) = %v; want nil", got)
	}
	joined := errors.Join(errors.New("x"), fmt.Errorf("w: %w", p))
	if n := testing.AllocsPerRun(100, func() { Find(joined) }); n != 0 {
		t.Errorf("Find allocates %v times; want none", n)
	}
}

// BenchmarkSite is the lookup of the site of a panic at a place that
// panicked before, as in a crash loop: a lookup in the cache per frame
// skipped (Site adds its sync.Once).
func BenchmarkSite(b *testing.B) {
	p := recovered(boom)
	b.ReportAllocs()
	for b.Loop() {
		for _, pc := range p.pcs {
			if s, ok := siteOf(pc); ok {
				if s != p.Site() {
					b.Fatal("site changed")
				}
				break
			}
		}
	}
}

// BenchmarkSiteBaseline looks the panicking frame up without the cache.
func BenchmarkSiteBaseline(b *testing.B) {
	p := recovered(boom)
	b.ReportAllocs()
	for b.Loop() {
		for _, pc := range p.pcs {
			f := runtime.FuncForPC(pc - 1)
			if !strings.HasPrefix(f.Name(), "runtime.") {
				f.FileLine(pc - 1)
				break
			}
		}
	}
}
