package chaos

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// stall waits for d or for ctx to end, as a handler's slow call to another
// service would.
func stall(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// deadLetters counts the dead letters an actor, pool or Keyed reports, by
// reason.
type deadLetters struct {
	panicked, drain, stopped, other atomic.Uint64
}

func (d *deadLetters) count(dl actor.DeadLetter) {
	switch {
	case errors.Is(dl.Reason, actor.ErrPanicked):
		d.panicked.Add(1)
	case errors.Is(dl.Reason, actor.ErrDrainTimeout):
		d.drain.Add(1)
	case errors.Is(dl.Reason, actor.ErrStopped):
		d.stopped.Add(1)
	default:
		d.other.Add(1)
	}
}

func (d *deadLetters) total() uint64 {
	return d.panicked.Load() + d.drain.Load() + d.stopped.Load() + d.other.Load()
}

// busDrops counts the dead letters the bus reports, by reason.
type busDrops struct {
	newest, oldest, timeout, canceled, rejected, other atomic.Uint64
}

func (d *busDrops) count(dl bus.DeadLetter) {
	switch {
	case errors.Is(dl.Reason, bus.ErrDroppedNewest):
		d.newest.Add(1)
	case errors.Is(dl.Reason, bus.ErrDroppedOldest):
		d.oldest.Add(1)
	case errors.Is(dl.Reason, bus.ErrCanceled): // before ErrTimeout: it may wrap it as the cause (BUG 4)
		d.canceled.Add(1)
	case errors.Is(dl.Reason, bus.ErrTimeout):
		d.timeout.Add(1)
	case errors.Is(dl.Reason, bus.ErrRejected):
		d.rejected.Add(1)
	default:
		d.other.Add(1)
	}
}

func (d *busDrops) total() uint64 {
	return d.newest.Load() + d.oldest.Load() + d.timeout.Load() + d.canceled.Load() + d.rejected.Load() + d.other.Load()
}
