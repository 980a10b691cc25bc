package supervisor

import "time"

// window counts restarts within a sliding time window: the restart
// intensity. It keeps the times of the last restarts in a ring, oldest
// first, so that a check costs O(1) whatever the number of restarts in the
// window: if the oldest time kept is still within the window, every time
// kept is, and a restart past max kept is one too many; if it is not, it
// makes room for the new one.
//
// The ring is allocated lazily and grows, by doubling, only when every
// time it holds is within the window and it is full: its size is at most
// twice the most restarts ever within one window, and at most max. So an
// intensity out of reach (1<<30 restarts, say) costs 8 bytes per restart
// that the window actually held at its peak, not per restart allowed: a
// child crash-looping without backoff every 3 µs for a 10 s window would
// hold 3.3 million (27 MB), one restarting every 100 ms, 100 (1 KB).
// Growth copies the ring; that is amortised over the restarts that filled
// it.
type window struct {
	max  int
	span time.Duration

	base time.Time       // the first restart: times are kept as offsets from it
	ring []time.Duration // restart times since base; a ring of len(ring) slots
	head int             // the oldest time kept
	n    int             // times kept
}

// add records a restart at now and reports whether the restarts within the
// window are still at most max. Times must not go backwards.
func (w *window) add(now time.Time) bool {
	if w.max <= 0 {
		return false // no restart allowed
	}
	if w.n == 0 && len(w.ring) == 0 {
		w.base = now
	}
	t := now.Sub(w.base)
	if w.n > 0 && t-w.ring[w.head] >= w.span {
		// The oldest left the window: drop it. (Others may have left
		// too; they are dropped as they become the oldest. Until then
		// they only make n count more than the window holds, never so
		// many that a restart is refused: this one was not.)
		w.head = (w.head + 1) % len(w.ring)
		w.n--
	} else if w.n >= w.max {
		// Every time kept is within the window: max of them, and now.
		return false
	}
	if w.n == len(w.ring) {
		w.grow()
	}
	w.ring[(w.head+w.n)%len(w.ring)] = t
	w.n++
	return true
}

// grow doubles the ring, up to max slots, keeping the times in order.
func (w *window) grow() {
	size := min(max(2*len(w.ring), 4), w.max)
	ring := make([]time.Duration, size)
	k := copy(ring, w.ring[w.head:])
	copy(ring[k:], w.ring[:w.head])
	w.ring, w.head = ring, 0
}
