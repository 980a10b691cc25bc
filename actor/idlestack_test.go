// The race detector doubles the stack guard of every function (the part
// of a stack no frame may reach into): every goroutine grows past 2 KB
// under -race, a bare one included, so the test means nothing there; nor
// on aix and openbsd, whose guard is doubled too. Frame sizes differ from
// one architecture to another: the margin was measured on amd64.

//go:build amd64 && !race && !aix && !openbsd

package actor

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// idleMsg is the message of the idle-stack test: a small struct, as a bus
// event is.
type idleMsg struct {
	ID   int64
	Kind string
	At   int64
}

// TestIdleActorStack checks that an idle actor's goroutine keeps the
// smallest stack Go gives a goroutine (2 KB): that nothing on the way from
// Run to its park (the setup of the Run, the first take, the park itself)
// grows it. A goroutine's stack, once grown to 4 KB, is never shrunk back
// while the actor waits (the runtime halves a stack only when a quarter of
// it is used), so an idle actor would cost 2 KB more for good.
//
// The stack in use is counted in whole stacks: each of the n goroutines
// holds 2 or 4 KB, so the average tells how many grew (see freshStacks). A few may grow on a
// rare deep path of the runtime (a lock taken under contention, an
// allocation that sweeps), hence the margin.
func TestIdleActorStack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	actors := newIdleActors()
	before := freshStacks(t)
	var wg sync.WaitGroup
	for _, a := range actors {
		wg.Go(func() { _ = a.Run(ctx) })
	}
	perActor := idleStack(actors, before)
	cancel()
	wg.Wait()
	checkIdleStack(t, perActor)
}

// TestIdleSupervisedActorStack is TestIdleActorStack for actors run as a
// service runs them: each subscribed to a bus, under a supervisor, whose
// frames sit above the actor's on its goroutine. It also checks that a
// child costs one goroutine, the one its Run is called on.
func TestIdleSupervisedActorStack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	discard := slog.New(slog.DiscardHandler)
	b := bus.New(bus.WithLogger(discard))
	sup := supervisor.New("root", supervisor.WithLogger(discard))
	actors := newIdleActors()
	for i, a := range actors {
		if _, err := bus.Subscribe(b, a); err != nil {
			t.Fatal(err)
		}
		if err := sup.Add(strconv.Itoa(i), a); err != nil {
			t.Fatal(err)
		}
	}
	before := freshStacks(t)
	goroutines := runtime.NumGoroutine()
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	perActor := idleStack(actors, before)
	// The supervisor's goroutine, and one per child.
	if n := runtime.NumGoroutine() - goroutines; n != len(actors)+1 {
		t.Errorf("%d goroutines for %d idle children; want %d", n, len(actors), len(actors)+1)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkIdleStack(t, perActor)
}

// idleActors is how many actors the idle-stack tests run: enough that a
// few whose stack grew move the average little.
const idleActors = 1000

func newIdleActors() []*Actor[idleMsg] {
	actors := make([]*Actor[idleMsg], idleActors)
	for i := range actors {
		actors[i] = New("idle", func(context.Context, idleMsg) error { return nil }, WithMailbox(16))
	}
	return actors
}

// idleStack waits until every actor waits for a message and returns the
// stack in use per actor since the stack in use was before.
func idleStack(actors []*Actor[idleMsg], before uint64) float64 {
	for _, a := range actors {
		for !a.isParked() {
			runtime.Gosched()
		}
	}
	return float64(stackInUse()-before) / float64(len(actors))
}

func checkIdleStack(t *testing.T, perActor float64) {
	t.Helper()
	t.Logf("stack per idle actor: %.0f B", perActor)
	if perActor > maxIdleStack {
		t.Errorf("stack per idle actor: %.0f B; want at most %d (a goroutine's first stack is 2048 B)", perActor, maxIdleStack)
	}
}

// maxIdleStack is the most stack per idle actor the idle-stack tests
// accept: 2 KB, and a quarter of the goroutines grown to 4 KB. About one in
// ten supervised actors grows on the runtime's rarer paths (an allocation
// that refills its cache under the actor's first context registration, or
// under its park): with one processor the figure nears 2.25 KB. An actor
// whose every Run grows its stack costs 4 KB.
const maxIdleStack = 2048 + 2048/4

// isParked reports whether the actor's loop waits for a message.
func (a *Actor[M]) isParked() bool {
	a.mb.mu.Lock()
	defer a.mb.mu.Unlock()
	return a.l.parked
}

// freshStacks returns the stack in use before the test starts its
// goroutines, and makes those get stacks of their own, as far as it can. A
// goroutine that exits leaves its 2 KB stack with its processor for the next
// one started there, whose stack then does not count as more stack in use:
// so it first starts goroutines that take those (a processor keeps at most
// 64), and wait until the test ends; and it makes the test end only once
// every goroutine it started has exited. Stacks are also handed out from
// caches and from blocks partly in use, so a few idle actors may seem to
// cost less than 2 KB: the figure errs low by a few hundred bytes, never
// high, and a regrown stack shows as 4 KB.
func freshStacks(t *testing.T) uint64 {
	goroutines := runtime.NumGoroutine()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 64 * runtime.GOMAXPROCS(0) {
		wg.Go(func() { <-stop })
	}
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		// The next test starts once every goroutine of this one has
		// exited, leaving its stack behind.
		for runtime.NumGoroutine() > goroutines {
			runtime.Gosched()
		}
	})
	return stackInUse()
}

func stackInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}
