package bus

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func isDone(g *guard) bool {
	select {
	case <-g.done():
		return true
	default:
		return false
	}
}

// A sealed guard is done once every delivery that entered has left or
// withdrawn; no delivery enters it after the seal; only the deliveries
// that left count in its total.
func TestGuard(t *testing.T) {
	var g guard
	g.init()
	for range 2 {
		if !g.enter() {
			t.Fatal("enter on an open guard: got false; want true")
		}
	}
	g.seal()
	if g.enter() {
		t.Error("enter on a sealed guard: got true; want false")
	}
	g.leave()
	if isDone(&g) {
		t.Fatal("done with a delivery still under way")
	}
	g.withdraw()
	if !isDone(&g) {
		t.Error("not done once every delivery left or withdrew")
	}
	if got := g.total(); got != 1 {
		t.Errorf("total: got %d; want the 1 delivery that left", got)
	}

	var idle guard
	idle.init()
	idle.seal()
	if !isDone(&idle) {
		t.Error("a guard sealed with nothing under way is not done")
	}
}

// Many goroutines enter and leave a guard while it is sealed: once it is
// done, no delivery is under way, none enters, and its total is the number
// of deliveries that entered.
func TestGuardSealRace(t *testing.T) {
	for range 50 {
		var g guard
		g.init()
		var under, entered atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				for range 1000 {
					if !g.enter() {
						return
					}
					under.Add(1)
					entered.Add(1)
					under.Add(-1)
					g.leave()
				}
			})
		}
		close(start)
		runtime.Gosched()
		g.seal()
		<-g.done()
		if n := under.Load(); n != 0 {
			t.Fatalf("done with %d deliveries under way", n)
		}
		total := g.total()
		wg.Wait()
		if got, want := total, uint64(entered.Load()); got != want {
			t.Fatalf("total when done: got %d; want the %d deliveries that entered", got, want)
		}
	}
}

// BenchmarkGuard is what a delivery pays for its subscription's guard:
// an enter and a leave, two atomic read-modify-writes (the floor under
// which Unsubscribe and Close could not wait for the deliveries under way,
// nor count them). BenchmarkGuardBaselineAdd is one atomic add, for scale.
func BenchmarkGuard(b *testing.B) {
	var g guard
	g.init()
	for b.Loop() {
		if g.enter() {
			g.leave()
		}
	}
}

func BenchmarkGuardBaselineAdd(b *testing.B) {
	var n atomic.Uint64
	for b.Loop() {
		n.Add(1)
	}
}
