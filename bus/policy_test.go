package bus_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

// Five events published to an inbox with room for two, under each policy.
func TestPolicies(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		opts       []bus.SubscribeOption
		ctx        context.Context
		wantQueued []int
		wantDrops  bus.Drops
		wantDead   []int
		wantReason error
		wantErr    []error // of the publishes that did not deliver, nil if none
	}{{
		name:       "DropNewest",
		opts:       []bus.SubscribeOption{bus.WithPolicy(bus.DropNewest)},
		wantQueued: []int{1, 2},
		wantDrops:  bus.Drops{Newest: 3},
		wantDead:   []int{3, 4, 5},
		wantReason: bus.ErrDroppedNewest,
	}, {
		name:       "DropOldest",
		opts:       []bus.SubscribeOption{bus.WithPolicy(bus.DropOldest)},
		wantQueued: []int{4, 5},
		wantDrops:  bus.Drops{Oldest: 3},
		wantDead:   []int{1, 2, 3},
		wantReason: bus.ErrDroppedOldest,
	}, {
		name:       "BlockTimeout",
		opts:       []bus.SubscribeOption{bus.WithTimeout(time.Millisecond)},
		wantQueued: []int{1, 2},
		wantDrops:  bus.Drops{Timeout: 3},
		wantDead:   []int{3, 4, 5},
		wantReason: bus.ErrTimeout,
		wantErr:    []error{bus.ErrTimeout},
	}, {
		name:       "BlockCanceled",
		ctx:        canceled,
		wantQueued: []int{1, 2},
		wantDrops:  bus.Drops{Canceled: 3},
		wantDead:   []int{3, 4, 5},
		wantReason: bus.ErrCanceled,
		wantErr:    []error{bus.ErrCanceled, context.Canceled},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, dl := newBus(t)
			// An actor that does not run yet keeps what it is sent.
			handled := bustest.NewRecorder[int]("handled")
			a := actor.New("slow", func(_ context.Context, n int) error {
				handled.Record(n)
				return nil
			}, actor.WithMailbox(2))
			s := subscribe(t, b, a, tt.opts...)
			ctx := tt.ctx
			if ctx == nil {
				ctx = testCtx(t)
			}
			for i := 1; i <= 5; i++ {
				err := bus.Publish(ctx, b, i)
				switch {
				case i <= 2 || tt.wantErr == nil:
					if err != nil {
						t.Errorf("Publish(%d): got %v; want nil", i, err)
					}
				case !isAll(err, tt.wantErr...):
					t.Errorf("Publish(%d): got %v; want an error matching %v", i, err, tt.wantErr)
				default:
					var de *bus.DeliveryError
					if !errors.As(err, &de) || de.Subscription != "slow" {
						t.Errorf("Publish(%d): got %v; want a *DeliveryError for slow", i, err)
					}
				}
			}

			st := s.Stats()
			if st.Dropped != tt.wantDrops || st.Delivered != uint64(5-tt.wantDrops.Total()+tt.wantDrops.Oldest) {
				t.Errorf("got delivered %d, drops %+v; want drops %+v", st.Delivered, st.Dropped, tt.wantDrops)
			}
			if st.Queued != 2 || st.Capacity != 2 || st.Policy.String() == "" {
				t.Errorf("got depth %d/%d; want 2/2", st.Queued, st.Capacity)
			}
			var dead []int
			for _, d := range dl.Events() {
				dead = append(dead, d.Event.(int))
				if d.Subscription != "slow" || !errors.Is(d.Reason, tt.wantReason) {
					t.Errorf("got dead letter %+v; want subscription slow, reason %v", d, tt.wantReason)
				}
			}
			if !reflect.DeepEqual(dead, tt.wantDead) {
				t.Errorf("got dead letters %v; want %v", dead, tt.wantDead)
			}

			run(t, a)
			if err := bustest.Expect(testCtx(t), handled, tt.wantQueued...); err != nil {
				t.Error(err)
			}
		})
	}
}

// An inbox that refuses events (a stopped actor) makes Publish fail under
// every policy, and the event is a dead letter.
func TestRejected(t *testing.T) {
	for _, p := range []bus.Policy{bus.Block, bus.DropNewest, bus.DropOldest} {
		t.Run(p.String(), func(t *testing.T) {
			b, dl := newBus(t)
			a := actor.New("stopped", func(context.Context, int) error { return nil })
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := a.Run(ctx); err != nil {
				t.Fatal(err)
			}
			s := subscribe(t, b, a, bus.WithPolicy(p))
			err := bus.Publish(testCtx(t), b, 1)
			if !isAll(err, bus.ErrRejected, actor.ErrStopped) {
				t.Errorf("got %v; want ErrRejected and actor.ErrStopped", err)
			}
			if got := s.Stats().Dropped; got != (bus.Drops{Rejected: 1}) {
				t.Errorf("got drops %+v; want 1 rejected", got)
			}
			if d := dl.Events(); len(d) != 1 || !errors.Is(d[0].Reason, actor.ErrStopped) {
				t.Errorf("got dead letters %+v; want one, stopped", d)
			}
		})
	}
}

// A subscriber whose handler is stuck does not hold up a fast one: the fast
// one gets each event before the publisher waits for the slow one, even
// though it subscribed after it.
func TestIsolation(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBus(t)
	slow := bustest.NewQueue[int]("slow", 1)
	subscribe(t, b, slow, bus.WithTimeout(time.Hour))
	fast := bustest.NewRecorder[int]("fast")
	subscribe(t, b, fast)

	publish(t, b, 1) // fills slow
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- bus.Publish(pctx, b, 2) }()
	if err := bustest.Expect(ctx, fast, 1, 2); err != nil {
		t.Fatal(err)
	}
	// The publisher is still waiting for slow.
	if err := slow.WaitSenders(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !isAll(err, bus.ErrCanceled, context.Canceled) {
		t.Errorf("Publish: got %v; want ErrCanceled", err)
	}
}

func TestSlowReportedOnce(t *testing.T) {
	ctx := testCtx(t)
	slowRec := bustest.NewRecorder[bus.SlowSubscriber]("slow reports")
	b, _ := newBus(t, bus.WithSlowHook(slowRec.Record))
	q := bustest.NewQueue[int]("email", 4)
	s, err := bus.Subscribe(b, q, bus.WithPolicy(bus.DropNewest)) // this line is reported
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		publish(t, b, i)
	}
	reports := slowRec.Events()
	if len(reports) != 1 {
		t.Fatalf("got %d slow reports; want 1", len(reports))
	}
	r := reports[0]
	if r.Subscription != "email" || r.Where != s.Where() || r.Queued != 4 || r.Capacity != 4 || r.Policy != bus.DropNewest {
		t.Errorf("got report %+v; want email at %s, 4/4, DropNewest", r, s.Where())
	}
	if want := "bus/policy_test.go:"; len(r.Where) < len(want) || r.Where[:len(want)] != want {
		t.Errorf("got where %q; want the Subscribe call in %s", r.Where, want)
	}
	if !s.Stats().Slow {
		t.Error("got Slow false; want true")
	}

	// Taking one event out does not make it recover (hysteresis)...
	if _, err := q.Take(ctx); err != nil {
		t.Fatal(err)
	}
	publish(t, b, 100)
	publish(t, b, 101)
	if n := slowRec.Count(); n != 1 || !s.Stats().Slow {
		t.Errorf("got %d reports, slow %v; want 1, true", n, s.Stats().Slow)
	}
	// ... emptying it does, and falling behind again is reported again.
	q.Drain()
	publish(t, b, 200)
	if s.Stats().Slow {
		t.Error("got Slow true after draining; want false")
	}
	for i := range 10 {
		publish(t, b, i)
	}
	if n := slowRec.Count(); n != 2 {
		t.Errorf("got %d reports; want 2", n)
	}
}
