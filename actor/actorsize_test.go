//go:build amd64

package actor

import (
	"testing"
	"unsafe"
)

// TestActorSizeClass checks that an Actor stays within the 640-byte size
// class of Go's allocator on amd64: every idle actor holds one, so a field
// that takes it past 640 bytes costs 64 more per actor (the 704 class), a
// tenth of what an idle actor holds beside its stack. A field added must
// go where the alignment of its neighbours leaves room, or pay for
// itself.
func TestActorSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Actor[int]{}); n > 640 {
		t.Errorf("Actor is %d bytes; want at most 640 (its size class)", n)
	}
}
