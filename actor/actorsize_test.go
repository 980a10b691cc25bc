//go:build amd64

package actor

import (
	"testing"
	"unsafe"
)

// TestActorSizeClass checks that an Actor stays within the 576-byte size
// class of Go's allocator on amd64: every idle actor holds one, so a field
// that takes it past 576 bytes costs 64 more per actor (the 640 class), a
// tenth of what an idle actor holds beside its stack. A field added must
// go where the alignment of its neighbours leaves room, behind the
// config's extra options if most actors do without it, or pay for itself.
func TestActorSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Actor[int]{}); n > 576 {
		t.Errorf("Actor is %d bytes; want at most 576 (its size class)", n)
	}
}
