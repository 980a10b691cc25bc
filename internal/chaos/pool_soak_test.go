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

// PoolJob is the pool soak's event; a keyed pool orders it by Key.
type PoolJob struct {
	Seq
	Key int
}

// poolSoak is the pool member of the soak: a pool fed through the bus,
// with handlers that panic, fail and stall, a monkey that changes the
// number of workers all the time, a Run that gives up now and then and is
// restarted by its supervisor, and a panicking handler that now and then
// cancels the Run's context, so that the pool stops as it gives up.
type poolSoak struct {
	// run runs the pool, restarted whenever it returns; cancels counts
	// the handlers that ended its Run.
	run     restarter
	cancels atomic.Uint64

	ok, errs, panics, stuck atomic.Uint64
	// Dead letters reported by the pool and by the bus.
	dead  deadLetters
	drops busDrops

	// keyed checks, for a keyed pool, that each key sees each publisher's
	// events in order.
	keyed    bool
	mu       sync.Mutex
	last     map[[2]int]int // by key and publisher
	disorder []string
}

func (s *poolSoak) handler(seed uint64) actor.Handler[PoolJob] {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 1))
	roll := func() (int, int64) {
		mu.Lock()
		defer mu.Unlock()
		if r.IntN(10_000) == 0 {
			return -1, 0
		}
		return r.IntN(1000), r.Int64N(int64(time.Millisecond))
	}
	return func(ctx context.Context, e PoolJob) error {
		if s.keyed {
			s.mu.Lock()
			k := [2]int{e.Key, e.Pub}
			// A message seen again is a retry after a panic, in its
			// place in the order.
			if l, seen := s.last[k]; seen && e.N < l && len(s.disorder) < 5 {
				s.disorder = append(s.disorder, fmt.Sprintf("key %d, publisher %d: %d after %d", e.Key, e.Pub, e.N, l))
			}
			s.last[k] = e.N
			s.mu.Unlock()
		}
		switch roll, d := roll(); {
		case roll < 0:
			// Stuck past the drain timeout and its grace, deaf to ctx:
			// a Run that stops meanwhile abandons the worker, which
			// reports what it holds when this returns.
			s.stuck.Add(1)
			time.Sleep(drainTimeout + actor.StuckGrace + 50*time.Millisecond)
		case roll < 10:
			s.panics.Add(1)
			if roll < 2 && s.run.cancel() {
				s.cancels.Add(1)
			}
			panic(fmt.Sprintf("chaos: pool panics on %v", e.Seq))
		case roll < 30:
			s.errs.Add(1)
			return errHandler
		case roll < 40:
			stall(ctx, time.Duration(d))
		}
		s.ok.Add(1)
		return nil
	}
}

// TestSoakPool runs the pool member, on a plain pool and on a keyed one
// (KeyBy), for the soak's duration each, and checks that every published
// event was handled, failed, reported as a dead letter by the pool or
// dropped by the bus with a reason, exactly once, and that in the keyed
// pool each key saw each publisher's events in order.
func TestSoakPool(t *testing.T) {
	for _, tt := range []struct {
		name   string
		keyed  bool
		policy bus.Policy
	}{
		{"plain", false, bus.Block},
		{"keyed", true, bus.Block},
		// Evictions from a pool's queue: a keyed pool's backlogs are not
		// evicted from, and per-key order holds.
		{"plain drop oldest", false, bus.DropOldest},
		{"keyed drop oldest", true, bus.DropOldest},
	} {
		t.Run(tt.name, func(t *testing.T) { soakPool(t, tt.keyed, tt.policy) })
	}
}

func soakPool(t *testing.T, keyed bool, policy bus.Policy) {
	dur, seed := soakDuration(t)
	t.Logf("pool soak: %v, seed %d", dur, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pool soak failed: seed %d, duration %v", seed, dur)
		}
	})
	s := &poolSoak{keyed: keyed, last: map[[2]int]int{}}
	b := bus.New(bus.WithLogger(discard), bus.WithDeadLetterHook(s.drops.count), bus.WithSlowHook(func(bus.SlowSubscriber) {}))
	const keys = 50
	opts := []actor.PoolOption{
		actor.WithMailbox(64),
		actor.WithDrainTimeout(drainTimeout),
		actor.WithLogger(discard),
		actor.WithDeadLetterHook(s.dead.count),
		actor.WithErrorHook(func(context.Context, string, any, error) {}),
		actor.WithMaxRetries(1),
		actor.WithWorkerRestarts(12, 100*time.Millisecond),
	}
	if keyed {
		opts = append(opts, actor.KeyBy(func(e PoolJob) uint64 { return uint64(e.Key) }))
	}
	p := actor.NewPool("jobs", 3, s.handler(seed), opts...)
	sub, err := bus.Subscribe(b, p, bus.WithPolicy(policy), bus.WithTimeout(blockTimeout))
	if err != nil {
		t.Fatal(err)
	}
	s.run.start(t, "jobs", p)

	// The monkey changes the number of workers between 1 and 6.
	monkeyCtx, stopMonkey := context.WithCancel(context.Background())
	monkeyDone := make(chan struct{})
	go func() {
		defer close(monkeyDone)
		r := rand.New(rand.NewPCG(seed, 1000))
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-monkeyCtx.Done():
				return
			case <-tick.C:
				p.SetWorkers(1 + r.IntN(6))
			}
		}
	}()

	var published atomic.Uint64
	pubCtx, stopPublishing := context.WithCancel(context.Background())
	var pubs sync.WaitGroup
	for pub := range publishers {
		pubs.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(3000+pub)))
			for n := 1; pubCtx.Err() == nil; n++ {
				err := bus.Publish(pubCtx, b, PoolJob{Seq{Pub: pub, N: n}, r.IntN(keys)})
				published.Add(1)
				var de *bus.DeliveryError
				if err != nil && !errors.As(err, &de) {
					t.Errorf("publisher %d: Publish = %v; want nil or *DeliveryError", pub, err)
					return
				}
				if policy != bus.Block && n%64 == 0 {
					// Publishers that never wait would leave the
					// workers little of the machine.
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	time.Sleep(dur)
	stopPublishing()
	pubs.Wait()
	stopMonkey()
	<-monkeyDone
	s.run.stop(t)
	p.Retire() // what a pool that gave up last still holds
	sub.Unsubscribe()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A worker abandoned by a Run reports what it holds when it exits:
	// wait for every goroutine to be gone before counting.
	goleak.VerifyNone(t)

	dead, drops := s.dead.total(), s.drops.total()
	got := s.ok.Load() + s.errs.Load() + dead + drops
	t.Logf("published %d: handled %d, errors %d, panics %d, dead letters %d (panicked %d, drain %d, stopped %d), bus drops %d (oldest %d, timeout %d, canceled %d, rejected %d); Runs %d, failures %d, cancelled by a handler %d, stuck handlers %d, Runs that abandoned workers %d",
		published.Load(), s.ok.Load(), s.errs.Load(), s.panics.Load(), dead, s.dead.panicked.Load(), s.dead.drain.Load(), s.dead.stopped.Load(),
		drops, s.drops.oldest.Load(), s.drops.timeout.Load(), s.drops.canceled.Load(), s.drops.rejected.Load(), s.run.runs.Load(), s.run.failures.Load(), s.cancels.Load(), s.stuck.Load(), s.run.stuck.Load())
	if got != published.Load() {
		t.Errorf("published %d != handled %d + errors %d + dead letters %d + bus drops %d; off by %d",
			published.Load(), s.ok.Load(), s.errs.Load(), dead, drops, int64(published.Load())-int64(got))
	}
	if s.dead.other.Load() != 0 || s.drops.other.Load() != 0 {
		t.Errorf("dead letters without a known reason: pool %d, bus %d", s.dead.other.Load(), s.drops.other.Load())
	}
	if s.mu.Lock(); len(s.disorder) > 0 {
		t.Errorf("events out of publish order: %v", s.disorder)
	}
	s.mu.Unlock()
	// Give-ups and abandoned workers are likely, not certain: logged above.
	if s.panics.Load() == 0 || s.cancels.Load() == 0 {
		t.Errorf("the soak did not exercise panics (%d) and cancels (%d)", s.panics.Load(), s.cancels.Load())
	}
}
