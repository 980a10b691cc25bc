package bus

import (
	"sync"
	"sync/atomic"
)

// closedBit marks a flight as closed; the bits below it count the
// operations entered.
const closedBit = uint64(1) << 62

// A flight counts the operations in flight on something that can be closed
// (a route, a subscription's waits, the bus's waits) and tells when it is
// closed and none is left. It keeps two running totals, of the operations
// entered and of those that left, rather than one count of those in
// flight: a route's total of publishes that left is what its subscriptions'
// Delivered counts are computed from. Its zero value is not usable: call
// init.
type flight struct {
	// The totals are written by every publisher: a line of their own.
	_       [64]byte
	entered atomic.Uint64 // with closedBit
	left    atomic.Uint64
	_       [48]byte
	drained chan struct{}
	once    sync.Once
}

func (f *flight) init() { f.drained = make(chan struct{}) }

// enter counts an operation in flight; it reports false, counting nothing,
// once the flight is closed.
func (f *flight) enter() bool {
	if f.entered.Add(1)&closedBit != 0 {
		f.entered.Add(^uint64(0))
		f.check(f.entered.Load(), f.left.Load())
		return false
	}
	return true
}

// hold counts an operation in flight even if the flight is closed: for an
// operation that began under another flight not yet drained.
func (f *flight) hold() { f.entered.Add(1) }

// leave ends an operation counted by enter or hold.
func (f *flight) leave() {
	l := f.left.Add(1)
	f.check(f.entered.Load(), l)
}

// close makes enter fail from now on.
func (f *flight) close() {
	e := f.entered.Or(closedBit) | closedBit
	f.check(e, f.left.Load())
}

// check closes drained if the flight is closed and every operation entered
// has left. Each change to the totals is followed by a check that reads the
// other total afterwards, so the last change sees the final totals.
func (f *flight) check(entered, left uint64) {
	if entered == closedBit|left {
		f.once.Do(func() { close(f.drained) })
	}
}

// completed returns the number of operations that left so far.
func (f *flight) completed() uint64 { return f.left.Load() }

// done is closed once the flight is closed and nothing is in flight.
func (f *flight) done() <-chan struct{} { return f.drained }

// over reports whether done is closed.
func (f *flight) over() bool {
	select {
	case <-f.drained:
		return true
	default:
		return false
	}
}
