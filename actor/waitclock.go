package actor

import (
	"sync/atomic"
	"time"
)

// epoch is the origin of the monotonic times stamped in a waitClock.
var epoch = time.Now()

// stampEvery is how many accepted messages share one clock reading.
const stampEvery = 16

// waitClock estimates how long the message at the head of the mailbox has
// waited. Reading the clock costs about as much as a channel send on common
// virtual machines, so it is read for one accepted message in stampEvery, and
// the head's wait is taken from the latest stamped message at or before it:
// an estimate that errs long by at most the time it took to accept
// stampEvery-1 messages.
//
// The ring is made at the first message pushed (see ready), so that an
// actor that never had a message holds none.
type waitClock struct {
	stamps   []stamp // ring of stamps, indexed by sequence / stampEvery, a power of two long
	capacity int
}

type stamp struct {
	seq atomic.Uint64
	at  atomic.Int64 // nanoseconds since epoch
}

// init says the capacity of the mailbox whose messages it stamps.
func (w *waitClock) init(capacity int) { w.capacity = capacity }

// ready makes the ring, sized to cover a full mailbox, unless it is made.
// It is called under the mailbox's lock before a message is pushed, so
// that the sender stamping it, and every later one, sees the ring.
func (w *waitClock) ready() {
	if w.stamps != nil {
		return
	}
	size := uint64(2)
	for size < uint64(w.capacity/stampEvery+2) {
		size <<= 1
	}
	w.stamps = make([]stamp, size)
}

// slot returns the stamp of the message with sequence n.
func (w *waitClock) slot(n uint64) *stamp {
	return &w.stamps[(n/stampEvery)&uint64(len(w.stamps)-1)]
}

// stamp stamps the message with sequence n (the mailbox numbers the
// messages it accepts from 1) if its turn has come. It may be called by several senders at once, and after the message was
// accepted: a stamp read while it is written reads as unavailable, and a
// late one errs short by the delay.
func (w *waitClock) stamp(n uint64) {
	if n%stampEvery != 1 {
		return
	}
	s := w.slot(n)
	s.seq.Store(0) // invalidate while writing
	s.at.Store(int64(time.Since(epoch)))
	s.seq.Store(n)
}

// oldest returns the estimated wait of the head of a mailbox that has
// accepted n messages so far and holds queued of them, or 0 when it is empty
// or the estimate is unavailable.
func (w *waitClock) oldest(n uint64, queued int) time.Duration {
	if queued <= 0 || uint64(queued) > n || w.stamps == nil {
		return 0
	}
	head := n - uint64(queued) + 1
	want := (head-1)/stampEvery*stampEvery + 1
	s := w.slot(want)
	if s.seq.Load() != want {
		return 0
	}
	at := s.at.Load()
	if s.seq.Load() != want {
		return 0
	}
	return max(time.Duration(int64(time.Since(epoch))-at), 0)
}
