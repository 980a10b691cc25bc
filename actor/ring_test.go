package actor

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRingModel runs random pushes (replacing the oldest message when the
// ring is full), pops and takes against a slice and checks that the ring
// buffer keeps the same messages in the same order, across wrap-arounds
// and growth, never holds more than its size, keeps its ready and brim
// flags true to its count and clears the slots it gives up; a ring that
// carries keeps each message's carried value beside it, and one that does
// not keeps none.
func TestRingModel(t *testing.T) {
	for _, carries := range []bool{false, true} {
		testRingModel(t, carries)
	}
}

func testRingModel(t *testing.T, carries bool) {
	// carriedOf is what the message m carries: its value, when the ring
	// carries.
	carriedOf := func(m *int) any {
		if !carries {
			return nil
		}
		return *m
	}
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, seed))
		size := 1 + rng.IntN(40)
		var q ring[*int]
		q.init(size, carries)
		var model []*int
		next := 0
		for range 2000 {
			switch op := rng.IntN(10); {
			case op < 5:
				if q.full() != (len(model) == size) {
					t.Fatalf("seed %d: full() = %v with %d of %d queued", seed, q.full(), len(model), size)
				}
				v := next
				next++
				if q.full() {
					// A full ring's oldest message gives its place.
					if old := q.replace(&v, carriedOf(&v)); old != model[0] {
						t.Fatalf("seed %d: replace returned %d; want the oldest, %d", seed, *old, *model[0])
					}
					model = append(model[1:], &v)
					continue
				}
				q.push(&v, carriedOf(&v))
				model = append(model, &v)
			case op < 7:
				m, c, ok := q.pop()
				if ok != (len(model) > 0) {
					t.Fatalf("seed %d: pop ok = %v with %d queued", seed, ok, len(model))
				}
				if ok {
					if m != model[0] || c != carriedOf(m) {
						t.Fatalf("seed %d: popped %d carrying %v; want %d carrying %v", seed, *m, c, *model[0], carriedOf(model[0]))
					}
					model = model[1:]
				}
			default:
				dst := make([]*int, 1+rng.IntN(batchSize))
				dstCarried := make([]any, len(dst))
				k := q.take(dst, dstCarried)
				want := min(len(dst), len(model))
				if k != want || !slices.Equal(dst[:k], model[:k]) {
					t.Fatalf("seed %d: took %d messages; want %d in order", seed, k, want)
				}
				for i, m := range dst[:k] {
					if dstCarried[i] != carriedOf(m) {
						t.Fatalf("seed %d: took %d carrying %v; want %v", seed, *m, dstCarried[i], carriedOf(m))
					}
				}
				model = model[k:]
			}
			if carries && len(q.carried) != len(q.buf) || !carries && q.carried != nil {
				t.Fatalf("seed %d: %d carried slots beside %d; want %v", seed, len(q.carried), len(q.buf), carries)
			}
			if q.n != len(model) || q.ready.Load() != (q.n > 0) || q.brim.Load() != (q.n == size) || len(q.buf) > size {
				t.Fatalf("seed %d: %d queued (ready %v, brim %v) in a buffer of %d; want %d of at most %d", seed, q.n, q.ready.Load(), q.brim.Load(), len(q.buf), len(model), size)
			}
			// The slots outside the queue hold nothing for the garbage
			// collector to keep.
			for i := len(model); i < len(q.buf); i++ {
				if q.buf[(q.head+i)%len(q.buf)] != nil || carries && q.carried[(q.head+i)%len(q.buf)] != nil {
					t.Fatalf("seed %d: slot %d outside the queue not cleared", seed, i)
				}
			}
		}
	}
}

// TestMailboxGrowsOnDemand checks that an actor's mailbox holds no buffer
// until messages queue up, and grows no further than they need.
func TestMailboxGrowsOnDemand(t *testing.T) {
	a := New("lazy", func(context.Context, int) error { return nil }, WithMailbox(1024))
	if len(a.mb.q.buf) != 0 {
		t.Fatalf("new actor's buffer holds %d slots; want 0", len(a.mb.q.buf))
	}
	for i := range 20 {
		if err := a.TrySend(i); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.mb.q.buf); n != 32 {
		t.Fatalf("buffer of %d slots for 20 messages; want 32", n)
	}
}
