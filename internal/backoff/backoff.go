// Package backoff computes exponential backoff delays with full jitter.
//
// The n-th delay (counting from zero) is drawn uniformly from
// [0, min(Max, Min·2ⁿ)]: the ceiling doubles from Min up to Max, and the
// jitter spreads the restarts of many failing components apart instead of
// letting them retry in lock step ("full jitter", as described in the AWS
// Architecture Blog's "Exponential Backoff And Jitter").
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff produces successive delays. It is not safe for concurrent use; the
// zero value returns zero delays.
type Backoff struct {
	// Min is the ceiling of the first delay. Zero means no delay at all.
	Min time.Duration
	// Max caps every ceiling.
	Max time.Duration
	// Int64N returns a uniform number in [0, n). Nil means
	// math/rand/v2.Int64N; tests inject a deterministic source.
	Int64N func(n int64) int64

	attempt int
}

// New returns a Backoff whose ceiling starts at min and doubles up to max.
// It panics if min or max is negative or max is less than min.
func New(min, max time.Duration, int64n func(n int64) int64) *Backoff {
	if min < 0 || max < 0 || max < min {
		panic("backoff: want 0 <= min <= max")
	}
	return &Backoff{Min: min, Max: max, Int64N: int64n}
}

// Ceiling returns the upper bound of the next delay.
func (b *Backoff) Ceiling() time.Duration {
	if b.Min <= 0 {
		return 0
	}
	c := b.Min
	for i := 0; i < b.attempt && c < b.Max; i++ {
		c *= 2
	}
	return min(c, b.Max)
}

// Next returns the next delay and advances the ceiling.
func (b *Backoff) Next() time.Duration {
	c := b.Ceiling()
	if c < b.Max {
		b.attempt++
	}
	if c <= 0 {
		return 0
	}
	n := b.Int64N
	if n == nil {
		n = rand.Int64N
	}
	return time.Duration(n(int64(c) + 1))
}

// Reset starts the sequence over, so the next delay is again at most Min.
func (b *Backoff) Reset() { b.attempt = 0 }
