package actor

import "time"

// A restartWindow is the restart intensity of a [Pool]'s workers, of a
// [Keyed] and of each of its keys: at most max restarts within window. It
// holds the times of the last max+1 restarts, oldest at at once full. It is
// not safe for concurrent use; its owner guards it.
type restartWindow struct {
	times []time.Time
	at    int
}

// allow records a restart at now and reports whether it stays within max
// restarts per window. When it does not, the window forgets its restarts,
// so that the next ones start counting afresh.
func (w *restartWindow) allow(now time.Time, max int, window time.Duration) bool {
	n := max + 1
	if len(w.times) < n {
		w.times = append(w.times, now)
	} else {
		w.times[w.at] = now
		w.at = (w.at + 1) % n
	}
	if len(w.times) < n || now.Sub(w.times[w.at]) >= window {
		return true
	}
	w.times, w.at = w.times[:0], 0
	return false
}
