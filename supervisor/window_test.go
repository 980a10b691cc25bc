package supervisor

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestWindowCountsAsAScanWould checks window against the plain definition
// (count the restarts of the last span, this one included) over random
// restart times, some at the same instant, for several intensities.
func TestWindowCountsAsAScanWould(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, max := range []int{0, 1, 2, 3, 5, 10, 100} {
		for round := range 20 {
			span := time.Duration(1+r.IntN(20)) * time.Millisecond
			w := window{max: max, span: span}
			var all []time.Time
			now := epoch
			for i := range 300 {
				now = now.Add(time.Duration(r.IntN(int(span/2))) * time.Duration(r.IntN(3)))
				all = append(all, now)
				in := 0
				for _, t := range all {
					if t.After(now.Add(-span)) {
						in++
					}
				}
				want := in <= max
				if got := w.add(now); got != want {
					t.Fatalf("max %d span %v round %d restart %d: add = %v; want %v (%d within the window)", max, span, round, i, got, want, in)
				}
				if !want {
					break // a supervisor gives up: the window is not used again
				}
			}
		}
	}
}

// TestWindowMemoryFollowsTheRestartsNotTheIntensity: with an intensity out
// of reach, the ring holds no more than twice the restarts a window holds,
// however many restarts there are in all.
func TestWindowMemoryFollowsTheRestartsNotTheIntensity(t *testing.T) {
	w := window{max: 1 << 30, span: 10 * time.Second}
	now := epoch
	for range 100_000 { // 10,000 s of a restart every 100 ms: 100 a window
		if !w.add(now) {
			t.Fatal("add refused a restart below the intensity")
		}
		now = now.Add(100 * time.Millisecond)
	}
	if len(w.ring) > 200 {
		t.Errorf("ring of %d slots for 100 restarts a window; want at most 200", len(w.ring))
	}
}

// BenchmarkWindowAdd is a restart's check with 1,000 restarts in the window
// (an intensity out of reach): it must cost the same as with one.
func BenchmarkWindowAdd(b *testing.B) {
	for _, inWindow := range []int{1, 1000} {
		b.Run(strconv.Itoa(inWindow), func(b *testing.B) {
			b.ReportAllocs()
			step := 10 * time.Second / time.Duration(inWindow)
			w := window{max: 1 << 30, span: 10*time.Second - 1}
			now := epoch
			for b.Loop() {
				w.add(now)
				now = now.Add(step)
			}
		})
	}
}
