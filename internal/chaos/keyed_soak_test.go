package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"go.uber.org/goleak"
)

// CustomerEvent is the keyed soak's event: its key is its customer.
type CustomerEvent struct {
	Seq
	Customer int
}

// keyedSoak is the keyed-actor member of the soak: one actor per customer,
// fed through the bus, with handlers that panic, fail and stall, factories
// that fail, keys removed after too many panics, a 1 ms idle timeout so
// that passivation races the sends, and a Keyed that gives up now and then
// and is restarted by its supervisor; a panicking handler now and then
// cancels the Run's context, so that the Keyed stops as it gives up.
type keyedSoak struct {
	// run runs the Keyed, restarted whenever it returns; cancels counts
	// the handlers that ended its Run.
	run     restarter
	cancels atomic.Uint64

	ok, errs, panics, factoryFailures atomic.Uint64
	// Dead letters by reason: the Keyed's own, then the others.
	dlKeyRestarts, dlFactory atomic.Uint64
	dead                     deadLetters
	drops                    busDrops

	mu       sync.Mutex
	disorder []string
}

func (s *keyedSoak) newHandler(seed uint64) func(int) actor.Handler[CustomerEvent] {
	var made atomic.Uint64
	return func(customer int) actor.Handler[CustomerEvent] {
		r := rand.New(rand.NewPCG(seed, made.Add(1)))
		if r.IntN(200) == 0 {
			s.factoryFailures.Add(1)
			panic(fmt.Sprintf("chaos: no handler for customer %d", customer))
		}
		last := map[int]int{} // per publisher; fresh at every restart
		return func(ctx context.Context, e CustomerEvent) error {
			if e.Customer != customer {
				return fmt.Errorf("chaos: customer %d's actor got customer %d's event", customer, e.Customer)
			}
			if l, seen := last[e.Pub]; seen && e.N <= l {
				s.mu.Lock()
				if len(s.disorder) < 5 {
					s.disorder = append(s.disorder, fmt.Sprintf("customer %d, publisher %d: %d after %d", customer, e.Pub, e.N, l))
				}
				s.mu.Unlock()
			}
			last[e.Pub] = e.N
			switch roll := r.IntN(1000); {
			case roll < 10:
				s.panics.Add(1)
				if roll < 2 && s.run.cancel() {
					s.cancels.Add(1)
				}
				panic(fmt.Sprintf("chaos: customer %d panics on %v", customer, e.Seq))
			case roll < 30:
				s.errs.Add(1)
				return errHandler
			case roll < 40:
				stall(ctx, time.Duration(r.Int64N(int64(time.Millisecond))))
			}
			s.ok.Add(1)
			return nil
		}
	}
}

func (s *keyedSoak) deadLetter(dl actor.DeadLetter) {
	switch {
	case errors.Is(dl.Reason, actor.ErrFactory):
		s.dlFactory.Add(1)
	case errors.Is(dl.Reason, actor.ErrKeyRestarts):
		s.dlKeyRestarts.Add(1)
	default:
		s.dead.count(dl)
	}
}

// TestSoakKeyed runs the keyed member for the soak's duration and checks
// that every published event was handled, failed, reported as a dead letter
// by the Keyed or dropped by the bus with a reason, exactly once, and that
// each customer saw each publisher's events in order.
func TestSoakKeyed(t *testing.T) {
	dur, seed := soakDuration(t)
	t.Logf("keyed soak: %v, seed %d", dur, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keyed soak failed: seed %d, duration %v", seed, dur)
		}
	})
	s := &keyedSoak{}
	b := bus.New(bus.WithLogger(discard), bus.WithDeadLetterHook(s.drops.count), bus.WithSlowHook(func(bus.SlowSubscriber) {}))
	const customers = 200
	kd := actor.NewKeyed("customers", s.newHandler(seed),
		actor.WithMailbox(16),
		actor.WithDrainTimeout(drainTimeout),
		actor.WithLogger(discard),
		actor.WithDeadLetterHook(s.deadLetter),
		actor.WithErrorHook(func(context.Context, string, any, error) {}),
		actor.WithMaxRetries(1),
		actor.WithIdleTimeout(time.Millisecond),
		actor.WithMaxKeys(customers-20), // some new keys refused at the bound
		actor.WithKeyRestarts(1, time.Second),
		actor.WithKeyedRestarts(12, 100*time.Millisecond),
	)
	sub, err := bus.Subscribe(b, kd.By(func(e CustomerEvent) int { return e.Customer }),
		bus.WithPolicy(bus.Block), bus.WithTimeout(blockTimeout))
	if err != nil {
		t.Fatal(err)
	}
	s.run.start(t, "customers", kd)

	var published atomic.Uint64
	pubCtx, stopPublishing := context.WithCancel(context.Background())
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(2000+p)))
			for n := 1; pubCtx.Err() == nil; n++ {
				e := CustomerEvent{Seq{Pub: p, N: n}, r.IntN(customers)}
				err := bus.Publish(pubCtx, b, e)
				published.Add(1)
				var de *bus.DeliveryError
				if err != nil && !errors.As(err, &de) {
					t.Errorf("publisher %d: Publish = %v; want nil or *DeliveryError", p, err)
					return
				}
				if n%64 == 0 {
					time.Sleep(2 * time.Millisecond) // let keys go idle and be passivated
				}
			}
		})
	}
	time.Sleep(dur)
	stopPublishing()
	pubs.Wait()
	s.run.stop(t)
	kd.Retire() // what a Keyed that gave up last still queued
	sub.Unsubscribe()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	dead := s.dlKeyRestarts.Load() + s.dlFactory.Load() + s.dead.total()
	drops := s.drops.total()
	got := s.ok.Load() + s.errs.Load() + dead + drops
	st := kd.Stats()
	t.Logf("published %d: handled %d, errors %d, panics %d, dead letters %d (panicked %d, key restarts %d, factory %d, drain %d, stopped %d), bus drops %d (timeout %d, canceled %d, rejected %d); keys created %d, passivated %d, restarted %d, removed %d; factory failures %d; Keyed runs %d, failures %d, cancelled by a handler %d",
		published.Load(), s.ok.Load(), s.errs.Load(), s.panics.Load(), dead, s.dead.panicked.Load(), s.dlKeyRestarts.Load(), s.dlFactory.Load(), s.dead.drain.Load(), s.dead.stopped.Load(),
		drops, s.drops.timeout.Load(), s.drops.canceled.Load(), s.drops.rejected.Load(), st.Created, st.Passivated, st.Restarted, st.Removed, s.factoryFailures.Load(), s.run.runs.Load(), s.run.failures.Load(), s.cancels.Load())
	if got != published.Load() {
		t.Errorf("published %d != handled %d + errors %d + dead letters %d + bus drops %d; off by %d",
			published.Load(), s.ok.Load(), s.errs.Load(), dead, drops, int64(published.Load())-int64(got))
	}
	if s.dead.other.Load() != 0 || s.drops.other.Load() != 0 {
		t.Errorf("dead letters without a known reason: Keyed %d, bus %d", s.dead.other.Load(), s.drops.other.Load())
	}
	if s.mu.Lock(); len(s.disorder) > 0 {
		t.Errorf("events out of publish order: %v", s.disorder)
	}
	s.mu.Unlock()
	if st.Passivated == 0 || st.Restarted == 0 || st.Removed == 0 {
		t.Errorf("Stats %+v: the soak did not exercise passivation, restarts and removals", st)
	}
	goleak.VerifyNone(t)
}
