package bus

import (
	"sync"
	"sync/atomic"
)

// sealedBit marks a guard as sealed; the bits below it count the
// deliveries that entered.
const sealedBit = uint64(1) << 62

// A guard counts the deliveries under way to one subscription, and tells
// when it is sealed and none is left: Unsubscribe and Close seal it and
// wait for that. It keeps two running totals, of the deliveries that
// entered and of those that left, rather than one count of those under
// way: the total that left, less the deliveries that missed (see
// Subscription.leave), is the subscription's Delivered count, so one guard
// both guards and counts. Its zero value is not usable: call init.
type guard struct {
	entered atomic.Uint64 // with sealedBit
	left    atomic.Uint64
	drained chan struct{}
	once    sync.Once
}

func (g *guard) init() { g.drained = make(chan struct{}) }

// enter counts a delivery under way; it reports false, counting nothing,
// once the guard is sealed.
func (g *guard) enter() bool {
	if g.entered.Add(1)&sealedBit == 0 {
		return true
	}
	g.withdraw()
	return false
}

// withdraw takes back an entry that made no delivery attempt: it does not
// count as left.
func (g *guard) withdraw() {
	e := g.entered.Add(^uint64(0))
	g.check(e, g.left.Load())
}

// leave ends a delivery counted by enter.
func (g *guard) leave() {
	// check written out: the call would make leave too big to be inlined
	// into the offer (see BenchmarkPublishNoConsumer).
	if g.left.Add(1)|sealedBit == g.entered.Load() {
		g.drain()
	}
}

// seal makes enter fail from now on.
func (g *guard) seal() {
	e := g.entered.Or(sealedBit) | sealedBit
	g.check(e, g.left.Load())
}

// check closes drained if the guard is sealed and every delivery entered
// has left or withdrawn. Each change to a total is followed by a check that
// reads the other total afterwards, so the last change sees the final
// totals.
func (g *guard) check(entered, left uint64) {
	if entered == sealedBit|left {
		g.drain()
	}
}

// drain closes drained, once.
func (g *guard) drain() { g.once.Do(func() { close(g.drained) }) }

// total returns the number of deliveries that left so far.
func (g *guard) total() uint64 { return g.left.Load() }

// done is closed once the guard is sealed and no delivery is under way.
func (g *guard) done() <-chan struct{} { return g.drained }

// leave ends a delivery counted in the guard; one that did not deliver
// its event (it dropped it, or will wait for room) counts as missed, so
// that Delivered is the guard's total less the misses.
func (s *Subscription) leave(delivered bool) {
	if !delivered {
		s.missed.Add(1)
	}
	s.guard.leave()
}

// sealCause is why a delivery found the guard sealed: Unsubscribe or Close.
func (s *Subscription) sealCause() error {
	if s.unsubscribed.Load() {
		return errUnsubscribedWait
	}
	return errClosedWait
}
