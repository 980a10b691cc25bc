// The race detector doubles the stack guard of every function (the part
// of a stack no frame may reach into): every goroutine grows past 2 KB
// under -race, a bare one included, so the test means nothing there; nor
// on aix and openbsd, whose guard is doubled too. Frame sizes differ from
// one architecture to another: the margin was measured on amd64.

//go:build amd64 && !race && !aix && !openbsd

package actor

import (
	"context"
	"runtime"
	"sync"
	"testing"
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
// holds 2 or 4 KB, so the average tells how many grew. A few may grow on a
// rare deep path of the runtime (a lock taken under contention, an
// allocation that sweeps), hence the margin.
func TestIdleActorStack(t *testing.T) {
	const n = 1000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	actors := make([]*Actor[idleMsg], n)
	for i := range actors {
		actors[i] = New("idle", func(context.Context, idleMsg) error { return nil }, WithMailbox(16))
	}
	before := stackInUse()
	var wg sync.WaitGroup
	for _, a := range actors {
		wg.Go(func() { _ = a.Run(ctx) })
	}
	for _, a := range actors {
		for !a.isParked() {
			runtime.Gosched()
		}
	}
	perActor := float64(stackInUse()-before) / n
	cancel()
	wg.Wait()
	t.Logf("stack per idle actor: %.0f B", perActor)
	if perActor > maxIdleStack {
		t.Errorf("stack per idle actor: %.0f B; want at most %d (a goroutine's first stack is 2048 B)", perActor, maxIdleStack)
	}
}

// maxIdleStack is the most stack per idle actor TestIdleActorStack
// accepts: 2 KB, and a tenth of the goroutines grown to 4 KB.
const maxIdleStack = 2048 + 2048/10

// isParked reports whether the actor's loop waits for a message.
func (a *Actor[M]) isParked() bool {
	a.mb.mu.Lock()
	defer a.mb.mu.Unlock()
	return a.l.parked
}

func stackInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}
