package main

import (
	"slices"
	"sync"
	"time"
)

// Latencies records durations and reports their percentiles. The zero value
// is ready to use; it is safe for concurrent use. It keeps every sample: the
// demo records a few thousand.
type Latencies struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Add records one duration.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

// Percentiles returns the count of samples and the given percentiles (0 to
// 100, nearest rank) of them; zeros when there are none.
func (l *Latencies) Percentiles(ps ...float64) (n int, out []time.Duration) {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	slices.Sort(s)
	out = make([]time.Duration, len(ps))
	if len(s) == 0 {
		return 0, out
	}
	for i, p := range ps {
		rank := int(p/100*float64(len(s))+0.999999) - 1 // nearest rank, 1-based
		out[i] = s[min(max(rank, 0), len(s)-1)]
	}
	return len(s), out
}
