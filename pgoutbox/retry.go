package pgoutbox

import (
	"context"
	"math/rand/v2"
	"time"
)

// retry computes the delays between a relay's attempts: exponential backoff
// with full jitter. The n-th delay after a success is drawn uniformly from
// [0, min(max, min·2ⁿ)], so relays that failed together do not retry in
// lock step. It is not safe for concurrent use.
type retry struct {
	min, max time.Duration
	ceiling  time.Duration // of the next delay; 0 before the first
}

// next returns the next delay and doubles the ceiling, up to max.
func (r *retry) next() time.Duration {
	if r.ceiling == 0 {
		r.ceiling = r.min
	} else {
		r.ceiling = min(2*r.ceiling, r.max)
	}
	if r.ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(r.ceiling) + 1))
}

// reset starts the sequence over after a success.
func (r *retry) reset() { r.ceiling = 0 }

// sleep waits for d or until ctx is done, and reports whether it waited
// the whole d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
