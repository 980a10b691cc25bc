package bus_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

type traceKey struct{}

// traceProp carries the string under traceKey across an actor's mailbox.
type traceProp struct{}

func (traceProp) Extract(ctx context.Context) any { return ctx.Value(traceKey{}) }

func (traceProp) Inject(ctx context.Context, c any) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, c)
}

// traced collects, per event, the traceKey value of the handler's context.
type traced struct {
	mu  sync.Mutex
	got map[int]string
}

func (tr *traced) handle(ctx context.Context, e int) error {
	v, _ := ctx.Value(traceKey{}).(string)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got[e] = v
	return nil
}

func (tr *traced) of(e int) (string, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	v, ok := tr.got[e]
	return v, ok
}

// What the publisher's context carries reaches the handler of an actor
// with a propagator, on every delivery path: an offer with room, a Block
// wait for room (Send) and a DropOldest eviction (Displace); and a bus
// middleware's context is the one delivered with.
func TestPublishersContextReachesHandler(t *testing.T) {
	for _, viaMiddleware := range []bool{false, true} {
		for _, policy := range []bus.Policy{bus.Block, bus.DropOldest} {
			t.Run(fmt.Sprint(policy, " middleware=", viaMiddleware), func(t *testing.T) {
				// The slow hook tells that a Block publish is waiting for
				// room.
				waiting := make(chan struct{})
				var once sync.Once
				opts := []bus.Option{
					bus.WithSlowAfter(time.Nanosecond),
					bus.WithSlowHook(func(bus.SlowSubscriber) { once.Do(func() { close(waiting) }) }),
				}
				ctx := testCtx(t)
				if viaMiddleware {
					opts = append(opts, bus.WithMiddleware(func(next bus.PublishFunc) bus.PublishFunc {
						return func(ctx context.Context, p bus.Publication) error {
							return next(context.WithValue(ctx, traceKey{}, fmt.Sprint("mw", p.Event)), p)
						}
					}))
				}
				b, _ := newBus(t, opts...)
				tr := &traced{got: map[int]string{}}
				a := actor.New("traced", tr.handle, actor.WithPropagator(traceProp{}), actor.WithMailbox(1))
				subscribe(t, b, bus.Inbox[int](a), bus.WithPolicy(policy))
				want := func(e int) string {
					if viaMiddleware {
						return fmt.Sprint("mw", e)
					}
					return fmt.Sprint("pub", e)
				}
				pub := func(e int) error {
					return bus.Publish(context.WithValue(ctx, traceKey{}, fmt.Sprint("pub", e)), b, e)
				}
				// The actor is not running: 1 fills its mailbox.
				if err := pub(1); err != nil {
					t.Fatal(err)
				}
				published := make(chan error, 1)
				go func() { published <- pub(2) }() // waits (Block) or evicts 1 (DropOldest)
				if policy == bus.DropOldest {
					if err := <-published; err != nil {
						t.Fatal(err)
					}
				} else {
					<-waiting
				}
				run(t, a)
				if policy == bus.Block {
					if err := <-published; err != nil {
						t.Fatal(err)
					}
				}
				waitForCond(t, func() bool { _, ok := tr.of(2); return ok })
				if got, _ := tr.of(2); got != want(2) {
					t.Errorf("event 2: handler's context carries %q; want %q", got, want(2))
				}
				if policy == bus.Block {
					if got, _ := tr.of(1); got != want(1) {
						t.Errorf("event 1: handler's context carries %q; want %q", got, want(1))
					}
				}
			})
		}
	}
}

func waitForCond(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatal("gave up waiting")
		}
		runtime.Gosched()
	}
}

// Middleware composes in the order given, the first outermost; it sees the
// event and its route's type (the dynamic type when published through an
// interface); an error it returns is Publish's and nothing is delivered.
func TestBusMiddlewareOrderAndError(t *testing.T) {
	var log []string
	errDenied := errors.New("denied")
	mw := func(name string) bus.Middleware {
		return func(next bus.PublishFunc) bus.PublishFunc {
			return func(ctx context.Context, p bus.Publication) error {
				log = append(log, fmt.Sprintf("%s>%v:%v", name, p.Type, p.Event))
				if p.Event == (OrderCreated{ID: 13}) {
					return errDenied
				}
				err := next(ctx, p)
				log = append(log, "<"+name)
				return err
			}
		}
	}
	b, _ := newBus(t, bus.WithMiddleware(mw("a")), bus.WithMiddleware(mw("b")))
	rec := bustest.NewRecorder[OrderCreated]("rec")
	subscribe(t, b, bus.Inbox[OrderCreated](rec))
	publish(t, b, OrderCreated{ID: 1})
	publish[OrderEvent](t, b, OrderCreated{ID: 2})
	if err := bus.Publish(testCtx(t), b, OrderCreated{ID: 13}); err != errDenied {
		t.Errorf("Publish denied: got %v; want the middleware's error", err)
	}
	if err := bus.Publish[OrderEvent](testCtx(t), b, nil); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Publish(nil): got %v; want ErrInvalid", err)
	}
	want := []string{
		"a>bus_test.OrderCreated:{1}", "b>bus_test.OrderCreated:{1}", "<b", "<a",
		"a>bus_test.OrderCreated:{2}", "b>bus_test.OrderCreated:{2}", "<b", "<a",
		"a>bus_test.OrderCreated:{13}",
	}
	if !slices.Equal(log, want) {
		t.Errorf("got %q\nwant %q", log, want)
	}
	if got := rec.Events(); !slices.Equal(got, []OrderCreated{{1}, {2}}) {
		t.Errorf("delivered %v; want [{1} {2}]", got)
	}
}
