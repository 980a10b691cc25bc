//go:build amd64

package actor

import (
	"runtime"
	"testing"
)

// TestActorSizeClass checks that an Actor takes 576 bytes of memory, the
// size class of Go's allocator it has been brought to on amd64: every
// idle actor holds one, so a field that takes it past costs 64 more per
// actor (the 640 class), a tenth of what an idle actor holds beside its
// stack. A field added must go where the alignment of its neighbours
// leaves room, behind the config's extra options if most actors do
// without it, or pay for itself. The allocation is measured, not the
// struct: an object of more than 512 bytes with pointers carries an
// 8-byte header, so a 576-byte struct takes 640.
func TestActorSizeClass(t *testing.T) {
	const n = 1000
	actors := make([]*Actor[int], n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range actors {
		actors[i] = new(Actor[int])
	}
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(actors)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 576 {
		t.Errorf("an Actor takes %d bytes; want at most 576 (its size class)", per)
	}
}
