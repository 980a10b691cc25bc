package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// waitIdle polls cond every millisecond until it holds, failing the test
// after a minute: for what real time drives (an idle timeout), or a
// goroutine the test cannot otherwise observe, without taking a core from
// it.
func waitIdle(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKeyedPerKeyOrderAndOneActorPerKey(t *testing.T) {
	const keys, per = 20, 200
	var mu sync.Mutex
	got := map[int][]int{}
	made := map[int]int{}
	var wg sync.WaitGroup
	wg.Add(keys * per)
	kd := actor.NewKeyed("orders", func(key int) actor.Handler[int] {
		mu.Lock()
		made[key]++
		mu.Unlock()
		return func(_ context.Context, n int) error {
			mu.Lock()
			got[key] = append(got[key], n)
			mu.Unlock()
			wg.Done()
			return nil
		}
	}, actor.WithMailbox(8))
	run(t, kd)
	var senders sync.WaitGroup
	for key := range keys {
		senders.Go(func() {
			for i := range per {
				if err := kd.Send(context.Background(), key, i); err != nil {
					t.Errorf("Send(%d, %d) = %v", key, i, err)
				}
			}
		})
	}
	senders.Wait()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for key := range keys {
		if made[key] != 1 {
			t.Errorf("key %d: factory called %d times; want 1", key, made[key])
		}
		for i, n := range got[key] {
			if n != i {
				t.Fatalf("key %d: message %d is %d; want send order", key, i, n)
			}
		}
	}
	if s := kd.Stats(); s.Keys != keys || s.Created != keys {
		t.Fatalf("Stats = %+v; want %d keys created and live", s, keys)
	}
}

// One key stuck in its handler holds up no other key: the head-of-line
// blocking a keyed pool's pinning caused.
func TestKeyedStuckKeyHoldsUpNoOther(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	const others, per = 100, 2
	var handled sync.WaitGroup
	handled.Add(others * per)
	kd := actor.NewKeyed("email", func(key string) actor.Handler[int] {
		return func(_ context.Context, _ int) error {
			if key == "stuck" {
				close(entered)
				<-release
				return nil
			}
			handled.Done()
			return nil
		}
	}, actor.WithMailbox(4))
	stop := run(t, kd)
	if err := kd.TrySend("stuck", 0); err != nil {
		t.Fatal(err)
	}
	<-entered
	for i := range others {
		for j := range per {
			if err := kd.TrySend(fmt.Sprint("c", i), j); err != nil {
				t.Fatalf("TrySend to another key while one is stuck = %v", err)
			}
		}
	}
	handled.Wait()
	close(release)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// A panic restarts the key from the factory with fresh state, its queued
// messages kept; a key that panics too often is removed with its queue
// dead-lettered, and its next message starts it afresh; the other keys
// never notice.
func TestKeyedPanicRestartsKeyFresh(t *testing.T) {
	var dl deadLetters
	var mu sync.Mutex
	counts := map[string][]int{}
	done := make(chan string, 100)
	kd := actor.NewKeyed("counter", func(key string) actor.Handler[int] {
		count := 0
		return func(_ context.Context, n int) error {
			if n < 0 {
				count = -999
				panic("bad message")
			}
			count++
			mu.Lock()
			counts[key] = append(counts[key], count)
			mu.Unlock()
			done <- key
			return nil
		}
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(dl.hook), actor.WithKeyRestarts(1, time.Hour))
	// Queue before Run: 1, 2, panic, 3 for "a"; the restart counts 3 from 1.
	for _, n := range []int{1, 2, -1, 3} {
		if err := kd.TrySend("a", n); err != nil {
			t.Fatal(err)
		}
	}
	run(t, kd)
	for range 3 {
		<-done
	}
	// A second panic within the window removes "a".
	if err := kd.TrySend("a", -2); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, "key a removed", func() bool { return kd.Stats().Removed == 1 })
	if err := kd.TrySend("a", 4); err != nil {
		t.Fatal(err)
	}
	if err := kd.TrySend("b", 1); err != nil {
		t.Fatal(err)
	}
	<-done
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 2, 1, 1}; !slices.Equal(counts["a"], want) {
		t.Fatalf("counts of a = %v; want %v", counts["a"], want)
	}
	if !slices.Equal(counts["b"], []int{1}) {
		t.Fatalf("counts of b = %v", counts["b"])
	}
	got := dl.get()
	if len(got) != 2 || !errors.Is(got[0].Reason, actor.ErrPanicked) || !errors.Is(got[1].Reason, actor.ErrPanicked) {
		t.Fatalf("dead letters = %v; want the two poison messages", got)
	}
	if s := kd.Stats(); s.Restarted != 2 || s.Removed != 1 || s.Created != 3 {
		t.Fatalf("Stats = %+v; want 2 restarts, 1 removed, 3 created", s)
	}
}

// The messages queued behind a key's last allowed panic are dead-lettered
// with ErrKeyRestarts when the key is removed.
func TestKeyedRemovedKeyReportsQueue(t *testing.T) {
	var dl deadLetters
	entered := make(chan struct{})
	release := make(chan struct{})
	kd := actor.NewKeyed("k", func(string) actor.Handler[int] {
		return func(_ context.Context, n int) error {
			if n == 0 {
				close(entered)
				<-release
				panic("boom")
			}
			return nil
		}
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(dl.hook), actor.WithKeyRestarts(0, time.Hour))
	run(t, kd)
	_ = kd.TrySend("x", 0)
	<-entered
	_ = kd.TrySend("x", 1)
	_ = kd.TrySend("x", 2)
	close(release)
	waitIdle(t, "three dead letters", func() bool { return len(dl.get()) == 3 })
	got := dl.get()
	for _, d := range got[1:] {
		if !errors.Is(d.Reason, actor.ErrKeyRestarts) || !strings.Contains(d.Reason.Error(), "key x") {
			t.Fatalf("dead letter %v: reason %v; want ErrKeyRestarts naming key x", d.Msg, d.Reason)
		}
	}
	// The removed key's mailbox is gone; its dead letters are still counted.
	if s := kd.Stats(); s.DeadLetters != 3 || s.DeadLettersBy.Panicked != 3 || s.Removed != 1 {
		t.Fatalf("Stats = %+v; want 3 dead letters (panicked) and 1 key removed", s)
	}
}

func TestKeyedFactoryFailureDeadLettersThatKey(t *testing.T) {
	var dl deadLetters
	done := make(chan struct{})
	kd := actor.NewKeyed("f", func(key string) actor.Handler[int] {
		switch key {
		case "panics":
			panic("no config")
		case "nil":
			return nil
		}
		return func(context.Context, int) error { close(done); return nil }
	}, actor.WithDeadLetterHook(dl.hook))
	run(t, kd)
	_ = kd.TrySend("panics", 1)
	_ = kd.TrySend("nil", 2)
	_ = kd.TrySend("ok", 3)
	<-done
	waitIdle(t, "two dead letters", func() bool { return len(dl.get()) == 2 })
	for _, d := range dl.get() {
		if !errors.Is(d.Reason, actor.ErrFactory) {
			t.Fatalf("reason %v; want ErrFactory", d.Reason)
		}
		var perr *actor.PanicError
		if d.Msg == 1 && !errors.As(d.Reason, &perr) || d.Msg == 2 && !errors.Is(d.Reason, actor.ErrNilHandler) {
			t.Fatalf("message %v: reason %v", d.Msg, d.Reason)
		}
	}
}

// Past its own intensity the Keyed's Run fails; the queues wait for the
// next Run, and Retire reports them.
func TestKeyedGivesUpPastItsIntensity(t *testing.T) {
	var dl deadLetters
	kd := actor.NewKeyed("k", func(string) actor.Handler[int] {
		return func(_ context.Context, n int) error {
			if n < 0 {
				panic("boom")
			}
			return nil
		}
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(dl.hook), actor.WithKeyedRestarts(1, time.Hour))
	_ = kd.TrySend("a", -1)
	_ = kd.TrySend("b", -1)
	err := kd.Run(context.Background())
	var perr *actor.PanicError
	if !errors.As(err, &perr) {
		t.Fatalf("Run = %v; want a panic", err)
	}
	if err := kd.TrySend("c", 1); err != nil {
		t.Fatalf("TrySend after the failed Run = %v; want it queued", err)
	}
	kd.Retire()
	if n := len(dl.get()); n != 3 {
		t.Fatalf("%d dead letters; want 3 (2 poison, 1 retired): %v", n, dl.get())
	}
	if err := kd.TrySend("c", 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("TrySend after Retire = %v; want ErrStopped", err)
	}
}

func TestKeyedStopDrainsAndRefuses(t *testing.T) {
	var handled atomic.Int64
	kd := actor.NewKeyed("k", func(string) actor.Handler[int] {
		return func(context.Context, int) error { handled.Add(1); return nil }
	})
	for i := range 100 {
		_ = kd.TrySend(fmt.Sprint(i%7), i)
	}
	stop := run(t, kd)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if handled.Load() != 100 {
		t.Fatalf("handled %d; want all 100 drained", handled.Load())
	}
	if err := kd.TrySend("x", 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("TrySend after stop = %v; want ErrStopped", err)
	}
	if err := kd.Send(context.Background(), "x", 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Send after stop = %v; want ErrStopped", err)
	}
	if s := kd.Stats(); s.Keys != 0 || s.Running {
		t.Fatalf("Stats after stop = %+v; want no keys", s)
	}
}

// A key stuck in its handler past the drain timeout is named in Run's
// error, while Run returns; its messages are reported when it unsticks.
func TestKeyedStuckKeyNamedAtStop(t *testing.T) {
	var dl deadLetters
	entered := make(chan struct{})
	release := make(chan struct{})
	kd := actor.NewKeyed("email", func(key string) actor.Handler[int] {
		return func(context.Context, int) error {
			if key == "slow-customer" {
				close(entered)
				<-release
			}
			return nil
		}
	}, actor.WithDrainTimeout(0), actor.WithDeadLetterHook(dl.hook))
	stop := run(t, kd)
	_ = kd.TrySend("slow-customer", 1)
	_ = kd.TrySend("slow-customer", 2)
	_ = kd.TrySend("fast", 1)
	<-entered
	err := stop()
	var se *actor.StuckKeysError
	if !errors.As(err, &se) || !slices.Equal(se.Keys, []string{"slow-customer"}) || !errors.Is(err, actor.ErrDrainTimeout) {
		t.Fatalf("Run = %v; want a StuckKeysError naming slow-customer", err)
	}
	close(release)
	waitIdle(t, "the stuck key's queue reported", func() bool { return len(dl.get()) == 1 })
	if d := dl.get()[0]; d.Msg != 2 || !errors.Is(d.Reason, actor.ErrDrainTimeout) {
		t.Fatalf("dead letter %+v; want message 2 with ErrDrainTimeout", d)
	}
}

// protoactor-go issue #66: a message sent while its key is being
// passivated reaches the old actor or a new one, never neither.
func TestKeyedPassivationLosesNoMessage(t *testing.T) {
	const senders, per, keys = 8, 20000, 16
	var handled atomic.Int64
	kd := actor.NewKeyed("p", func(int) actor.Handler[int] {
		return func(context.Context, int) error { handled.Add(1); return nil }
	}, actor.WithIdleTimeout(time.Millisecond), actor.WithMailbox(64))
	stop := run(t, kd)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(s), 1))
			for i := range per {
				if err := kd.Send(context.Background(), r.IntN(keys), i); err != nil {
					t.Errorf("Send = %v", err)
					return
				}
				if i%512 == 0 {
					time.Sleep(2 * time.Millisecond) // let keys go idle and be passivated
				}
			}
		})
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := handled.Load(); got != senders*per {
		t.Fatalf("handled %d of %d sent", got, senders*per)
	}
	s := kd.Stats()
	t.Logf("created %d, passivated %d", s.Created, s.Passivated)
	if s.Passivated == 0 {
		t.Fatalf("no key was passivated; the test did not race passivation")
	}
}

func TestKeyedIdleKeyPassivatedAndRecreated(t *testing.T) {
	made := atomic.Int64{}
	done := make(chan int, 2)
	kd := actor.NewKeyed("p", func(int) actor.Handler[int] {
		made.Add(1)
		return func(_ context.Context, n int) error { done <- n; return nil }
	}, actor.WithIdleTimeout(time.Millisecond))
	run(t, kd)
	_ = kd.TrySend(1, 1)
	<-done
	waitIdle(t, "passivation", func() bool { return kd.Stats().Passivated == 1 })
	if _, ok := kd.KeyStats(1); ok {
		t.Fatal("passivated key still listed")
	}
	_ = kd.TrySend(1, 2)
	<-done
	if made.Load() != 2 {
		t.Fatalf("factory called %d times; want 2 (a new actor after passivation)", made.Load())
	}
}

func TestKeyedMaxKeys(t *testing.T) {
	kd := actor.NewKeyed("m", func(int) actor.Handler[int] {
		return func(context.Context, int) error { return nil }
	}, actor.WithMaxKeys(2))
	_ = kd.TrySend(1, 0)
	_ = kd.TrySend(2, 0)
	if err := kd.TrySend(3, 0); !errors.Is(err, actor.ErrTooManyKeys) {
		t.Fatalf("third key: %v; want ErrTooManyKeys", err)
	}
	if err := kd.TrySend(1, 1); err != nil {
		t.Fatalf("existing key at the bound: %v", err)
	}
	if got := kd.Keys(); len(got) != 2 {
		t.Fatalf("Keys = %v", got)
	}
	kd.Retire()
}

func TestKeyedAskByKey(t *testing.T) {
	kd := actor.NewKeyed("sq", func(key int) actor.Handler[actor.Request[int, int]] {
		return func(_ context.Context, r actor.Request[int, int]) error {
			r.Reply(key*r.Msg, nil)
			return nil
		}
	})
	run(t, kd)
	n, err := actor.Ask[int, int](context.Background(), kd.To(6), 7)
	if n != 42 || err != nil {
		t.Fatalf("Ask = %d, %v", n, err)
	}
	in := kd.By(func(r actor.Request[int, int]) int { return r.Msg })
	n, err = actor.Ask[int, int](context.Background(), in, 5)
	if n != 25 || err != nil {
		t.Fatalf("Ask through By = %d, %v", n, err)
	}
}

// Every accepted message is handled or dead-lettered, exactly once, with
// random keys, panics, idle timeouts and a stop racing the sends.
func TestKeyedExactAccounting(t *testing.T) {
	var handled, dead, accepted atomic.Int64
	kd := actor.NewKeyed("acct", func(int) actor.Handler[int] {
		return func(_ context.Context, n int) error {
			if n%97 == 0 {
				panic("poison")
			}
			handled.Add(1)
			return nil
		}
	}, actor.WithLogger(discard), actor.WithMailbox(4), actor.WithIdleTimeout(time.Millisecond),
		actor.WithKeyRestarts(2, time.Hour), actor.WithKeyedRestarts(1<<30, time.Hour),
		actor.WithDeadLetterHook(func(actor.DeadLetter) { dead.Add(1) }))
	stop := run(t, kd)
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(s), 2))
			for i := 1; ; i++ {
				err := kd.TrySend(r.IntN(50), r.IntN(1000))
				if errors.Is(err, actor.ErrStopped) {
					return
				}
				if err == nil {
					accepted.Add(1)
				}
				if i == 20000 && s == 0 {
					go func() { _ = stop() }()
				}
			}
		})
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if h, d, a := handled.Load(), dead.Load(), accepted.Load(); h+d != a {
		t.Fatalf("handled %d + dead letters %d = %d; accepted %d", h, d, h+d, a)
	}
}

func TestKeyedBadInput(t *testing.T) {
	h := func(int) actor.Handler[int] { return nil }
	for name, tc := range map[string]struct {
		f    func()
		want string
	}{
		"empty name":   {func() { actor.NewKeyed("", h) }, "empty name"},
		"nil factory":  {func() { actor.NewKeyed[int, int]("x", nil) }, "nil newHandler"},
		"idle timeout": {func() { actor.WithIdleTimeout(-1) }, "negative timeout"},
		"max keys":     {func() { actor.WithMaxKeys(0) }, "n 0 < 1"},
		"key restarts": {func() { actor.WithKeyRestarts(-1, time.Second) }, "negative maxRestarts"},
		"keyed window": {func() { actor.WithKeyedRestarts(1, 0) }, "window 0s"},
		"nil key func": {func() { actor.NewKeyed("x", h).By(nil) }, "nil keyOf"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, _ := v.(string); !strings.HasPrefix(s, "actor: ") || !strings.Contains(s, tc.want) {
					t.Fatalf("panic %v; want one naming %q", v, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestKeyedRunTwice(t *testing.T) {
	kd := actor.NewKeyed("k", func(int) actor.Handler[int] { return func(context.Context, int) error { return nil } })
	run(t, kd)
	waitIdle(t, "Run started", func() bool { return kd.Stats().Running })
	if err := kd.Run(context.Background()); !errors.Is(err, actor.ErrAlreadyRunning) {
		t.Fatalf("second Run = %v", err)
	}
}
