package bus

import "testing"

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
