package supervisor

import "time"

// window counts restarts within a sliding time window: the restart
// intensity. It keeps at most max+1 restart times, dropping those that
// left the window from the front, so a check costs O(1) amortized.
type window struct {
	max   int
	span  time.Duration
	times []time.Time // oldest first, all within span of the last
}

// add records a restart at now and reports whether the restarts within the
// window are still at most max.
func (w *window) add(now time.Time) bool {
	from := now.Add(-w.span)
	i := 0
	for i < len(w.times) && !w.times[i].After(from) {
		i++
	}
	n := copy(w.times, w.times[i:]) // at most max+1: Run gives up past max
	w.times = append(w.times[:n], now)
	return len(w.times) <= w.max
}
