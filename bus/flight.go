package bus

import (
	"sync"
	"sync/atomic"
)

// closedBit marks a flight as closed; the bits below it count the
// operations in flight.
const closedBit = int64(1) << 62

// A flight counts the operations in flight on something that can be closed
// (a route, a subscription's waits, the bus's waits) and tells when it is
// closed and none is left. Its zero value is not usable: call init.
type flight struct {
	_       [64]byte // the counter is written by every publisher: a line of its own
	state   atomic.Int64
	_       [56]byte
	drained chan struct{}
	once    sync.Once
}

func (f *flight) init() { f.drained = make(chan struct{}) }

// enter counts an operation in flight; it reports false, counting nothing,
// once the flight is closed.
func (f *flight) enter() bool {
	if f.state.Add(1)&closedBit != 0 {
		f.leave()
		return false
	}
	return true
}

// hold counts an operation in flight even if the flight is closed: for an
// operation that began under another flight not yet drained.
func (f *flight) hold() { f.state.Add(1) }

// leave ends an operation counted by enter or hold.
func (f *flight) leave() {
	if f.state.Add(-1) == closedBit {
		f.once.Do(func() { close(f.drained) })
	}
}

// close makes enter fail from now on.
func (f *flight) close() {
	if f.state.Or(closedBit) == 0 {
		f.once.Do(func() { close(f.drained) })
	}
}

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
