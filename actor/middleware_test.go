package actor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// traceKey is the context key of the value the test propagator carries.
type traceKey struct{}

// valuePropagator carries the string under traceKey from the sender's
// context to the handler's, and counts its calls.
type valuePropagator struct {
	mu                sync.Mutex
	extracts, injects int
}

func (p *valuePropagator) Extract(ctx context.Context) any {
	p.mu.Lock()
	p.extracts++
	p.mu.Unlock()
	if v, ok := ctx.Value(traceKey{}).(string); ok {
		return v
	}
	return nil
}

func (p *valuePropagator) Inject(ctx context.Context, carried any) context.Context {
	p.mu.Lock()
	p.injects++
	p.mu.Unlock()
	if carried == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, carried)
}

func withTrace(v string) context.Context {
	return context.WithValue(context.Background(), traceKey{}, v)
}

// seen collects, per message, the traceKey value of the handler's context.
type seen struct {
	mu   sync.Mutex
	got  map[int]string
	done chan struct{}
	want int
}

func newSeen(want int) *seen {
	return &seen{got: map[int]string{}, done: make(chan struct{}), want: want}
}

func (s *seen) handle(ctx context.Context, m int) error {
	v, _ := ctx.Value(traceKey{}).(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[m] = v
	if len(s.got) == s.want {
		close(s.done)
	}
	return nil
}

// keyedRunner is a Keyed's inbox view with the Keyed's Run.
type keyedRunner struct {
	*actor.KeyedInbox[int, int]
	kd *actor.Keyed[int, int]
}

func (k keyedRunner) Run(ctx context.Context) error { return k.kd.Run(ctx) }

// Send, Offer and Displace carry what the propagator extracts from the
// sender's context to the handler's context, message by message; TrySend,
// which has no context, carries nothing. The messages are queued before Run
// and across the ring's growth, so the carried values travel with them
// through the mailbox, not beside it.
func TestPropagatorCarriesSendersContext(t *testing.T) {
	for _, kind := range []string{"actor", "pool", "keyed pool", "keyed actors"} {
		t.Run(kind, func(t *testing.T) {
			const n = 40
			s := newSeen(n + 1)
			p := &valuePropagator{}
			var r interface {
				Run(context.Context) error
				Send(context.Context, int) error
				Offer(context.Context, int) error
				TrySend(int) error
				Displace(context.Context, int) (int, bool, error)
			}
			switch kind {
			case "actor":
				r = actor.New("a", s.handle, actor.WithPropagator(p), actor.WithMailbox(n+1))
			case "pool":
				r = actor.NewPool("p", 3, s.handle, actor.WithPropagator(p), actor.WithMailbox(n+1))
			case "keyed pool":
				r = actor.NewPool("k", 3, s.handle, actor.WithPropagator(p), actor.WithMailbox(n+1),
					actor.KeyBy(func(m int) uint64 { return uint64(m % 2) }))
			default:
				kd := actor.NewKeyed("kd", func(int) actor.Handler[int] { return s.handle },
					actor.WithPropagator(p), actor.WithMailbox(n+1))
				r = keyedRunner{kd.By(func(m int) int { return m % 3 }), kd}
			}
			want := map[int]string{}
			for i := range n {
				tr := fmt.Sprint("t", i)
				var err error
				switch i % 4 {
				case 0:
					err = r.Send(withTrace(tr), i)
				case 1:
					err = r.Offer(withTrace(tr), i)
				case 2:
					_, _, err = r.Displace(withTrace(tr), i)
				case 3:
					err, tr = r.TrySend(i), ""
				}
				if err != nil {
					t.Fatal(err)
				}
				want[i] = tr
			}
			if err := r.Send(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			want[n] = ""
			stop := run(t, r)
			<-s.done
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, w := range want {
				if s.got[i] != w {
					t.Errorf("message %d: handler's context carries %q; want %q", i, s.got[i], w)
				}
			}
			if p.extracts != n-n/4+1 || p.injects != n+1 {
				t.Errorf("got %d extracts, %d injects; want %d, %d", p.extracts, p.injects, n-n/4+1, n+1)
			}
		})
	}
}

// A message retried after its handler panicked keeps what it carries.
func TestPropagatorCarriesIntoRetry(t *testing.T) {
	var mu sync.Mutex
	var got []string
	first := true
	a := actor.New("r", func(ctx context.Context, m int) error {
		mu.Lock()
		defer mu.Unlock()
		v, _ := ctx.Value(traceKey{}).(string)
		got = append(got, v)
		if first {
			first = false
			panic("once")
		}
		return nil
	}, actor.WithPropagator(&valuePropagator{}), actor.WithMaxRetries(1), actor.WithLogger(discard))
	if err := a.Send(withTrace("x"), 1); err != nil {
		t.Fatal(err)
	}
	var perr *actor.PanicError
	if err := a.Run(context.Background()); !errors.As(err, &perr) {
		t.Fatalf("first Run: got %v; want a *PanicError", err)
	}
	stop := run(t, a)
	waitFor(t, "the retry", func() bool { return a.Stats().Handled == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"x", "x"}) {
		t.Errorf("handler saw %q; want [x x]", got)
	}
}

// recorder returns a middleware that appends "name>" before and "<name"
// after calling next, to log.
func recorder(name string, log *[]string) actor.Middleware {
	return func(next actor.HandleFunc) actor.HandleFunc {
		return func(ctx context.Context, m actor.Message) error {
			*log = append(*log, fmt.Sprintf("%s>%s:%v", name, m.Actor, m.Msg))
			err := next(ctx, m)
			*log = append(*log, "<"+name)
			return err
		}
	}
}

// Middleware composes in the order given, the first outermost, over
// several options; it sees what the propagator injected; its error counts
// as the handler's (failed, to the error hook) and a middleware that does
// not call next keeps the message from the handler.
func TestMiddlewareOrderErrorsAndContext(t *testing.T) {
	var log []string
	errDenied := errors.New("denied")
	var hooked []error
	auth := func(next actor.HandleFunc) actor.HandleFunc {
		return func(ctx context.Context, m actor.Message) error {
			if v, _ := ctx.Value(traceKey{}).(string); v != "ok" {
				log = append(log, "auth denied")
				return errDenied
			}
			return next(ctx, m)
		}
	}
	a := actor.New("mw", func(_ context.Context, m int) error {
		log = append(log, fmt.Sprint("handle ", m))
		return nil
	},
		actor.WithPropagator(&valuePropagator{}),
		actor.WithMiddleware(recorder("a", &log), recorder("b", &log)),
		actor.WithMiddleware(auth),
		actor.WithErrorHook(func(_ context.Context, _ string, _ any, err error) { hooked = append(hooked, err) }),
	)
	_ = a.Send(withTrace("ok"), 1)
	_ = a.Send(withTrace("nope"), 2)
	stop := run(t, a)
	waitFor(t, "both messages", func() bool { s := a.Stats(); return s.Handled+s.Failed == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a>mw:1", "b>mw:1", "handle 1", "<b", "<a",
		"a>mw:2", "b>mw:2", "auth denied", "<b", "<a",
	}
	if !slices.Equal(log, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
	if s := a.Stats(); s.Handled != 1 || s.Failed != 1 {
		t.Errorf("got handled %d, failed %d; want 1, 1", s.Handled, s.Failed)
	}
	if len(hooked) != 1 || hooked[0] != errDenied {
		t.Errorf("error hook got %v; want [denied]", hooked)
	}
}

// A panic in a middleware is a panic of the handler: Run returns a
// *PanicError and the message is a dead letter.
func TestMiddlewarePanicIsHandlerPanic(t *testing.T) {
	var dl deadLetters
	a := actor.New("mwp", func(context.Context, int) error { return nil },
		actor.WithMiddleware(func(actor.HandleFunc) actor.HandleFunc {
			return func(context.Context, actor.Message) error { panic("in middleware") }
		}),
		actor.WithDeadLetterHook(dl.hook), actor.WithLogger(discard))
	_ = a.TrySend(7)
	var perr *actor.PanicError
	if err := a.Run(context.Background()); !errors.As(err, &perr) {
		t.Fatalf("Run: got %v; want a *PanicError", err)
	}
	if got := dl.get(); len(got) != 1 || got[0].Msg != 7 || !errors.Is(got[0].Reason, actor.ErrPanicked) {
		t.Errorf("dead letters: got %+v; want message 7 with ErrPanicked", got)
	}
}

func TestMiddlewareAndPropagatorOptionsPanicOnNil(t *testing.T) {
	for name, f := range map[string]func(){
		"propagator": func() { actor.WithPropagator(nil) },
		"middleware": func() { actor.WithMiddleware(nil) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "actor: With") {
					t.Errorf("%s: got panic %v; want one naming the option", name, r)
				}
			}()
			f()
		}()
	}
}

// Stats counts dead letters by reason.
func TestStatsDeadLettersByReason(t *testing.T) {
	a := actor.New("dl", func(_ context.Context, m int) error {
		if m == 1 {
			panic("poison")
		}
		return nil
	}, actor.WithLogger(discard))
	_ = a.TrySend(1)
	_ = a.TrySend(2)
	var perr *actor.PanicError
	if err := a.Run(context.Background()); !errors.As(err, &perr) {
		t.Fatalf("Run: got %v; want a *PanicError", err)
	}
	a.Retire() // 2 was taken with 1 and not handled
	s := a.Stats()
	want := actor.DeadLetterCounts{Panicked: 1, Stopped: 1}
	if s.DeadLettersBy != want || s.DeadLetters != 2 {
		t.Errorf("got %d dead letters, by reason %+v; want 2, %+v", s.DeadLetters, s.DeadLettersBy, want)
	}
}

// The middleware wraps a handler made by a factory too, at every Run and
// at every key's start.
func TestMiddlewareWrapsFactoryHandlers(t *testing.T) {
	var mu sync.Mutex
	var saw []string
	mw := actor.WithMiddleware(func(next actor.HandleFunc) actor.HandleFunc {
		return func(ctx context.Context, m actor.Message) error {
			mu.Lock()
			saw = append(saw, fmt.Sprint(m.Actor, ":", m.Msg))
			mu.Unlock()
			return next(ctx, m)
		}
	})
	done := make(chan struct{}, 2)
	h := func(context.Context, int) error { done <- struct{}{}; return nil }
	a := actor.NewFrom("from", func() actor.Handler[int] { return h }, mw)
	kd := actor.NewKeyed("keyed", func(int) actor.Handler[int] { return h }, mw)
	stopA, stopK := run(t, a), run(t, kd)
	if err := a.TrySend(1); err != nil {
		t.Fatal(err)
	}
	if err := kd.TrySend(7, 2); err != nil {
		t.Fatal(err)
	}
	<-done
	<-done
	if err := errors.Join(stopA(), stopK()); err != nil {
		t.Fatal(err)
	}
	slices.Sort(saw)
	if want := []string{"from:1", "keyed:2"}; !slices.Equal(saw, want) {
		t.Errorf("middleware saw %v; want %v", saw, want)
	}
}
