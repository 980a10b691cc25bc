package actor

// A Tap is a sender's own way into an actor's mailbox, which its owner can
// close: once Close returns, no send through the tap is under way and every
// later one fails with [ErrTapClosed]. The tap counts the messages it put in
// the mailbox. Its state is guarded by the actor's mailbox lock, which every
// send takes anyway, so a tap costs a send nothing more.
//
// Package bus gives each subscription of an actor a tap: Unsubscribe closes
// it instead of waiting for every publish in flight, and the subscription's
// Delivered count is the tap's. A Tap is safe for concurrent use.
type Tap[M any] interface {
	// TrySend is [Actor.TrySend] through the tap.
	TrySend(m M) error
	// Displace is [Actor.Displace] through the tap.
	Displace(m M) (old M, evicted bool, err error)
	// Close closes the tap. When it returns, no send through the tap is
	// under way and none will succeed. Closing a closed tap does nothing.
	Close()
	// Sent returns the number of messages put in the mailbox through the
	// tap.
	Sent() uint64
}

// Tap returns a new open tap into a's mailbox. (It returns an interface so
// that code generic in M, such as the bus's, asserting that an inbox has
// taps does not make the compiler build Actor's methods for every M.)
func (a *Actor[M]) Tap() Tap[M] { return &tap[M]{a: &a.mb} }

type tap[M any] struct {
	a      *mailbox[M]
	closed bool   // guarded by a.mu
	sent   uint64 // guarded by a.mu
}

func (t *tap[M]) TrySend(m M) error {
	a := t.a
	a.mu.Lock()
	if t.closed {
		a.mu.Unlock()
		return ErrTapClosed
	}
	seq, wake, err := a.put(m)
	if err == nil {
		t.sent++
	}
	a.mu.Unlock()
	a.accepted(seq, wake)
	return err
}

func (t *tap[M]) Displace(m M) (old M, evicted bool, err error) {
	a := t.a
	a.mu.Lock()
	if t.closed {
		a.mu.Unlock()
		return old, false, ErrTapClosed
	}
	a.mu.Unlock()
	old, evicted, err = a.displace(m)
	if err == nil {
		a.mu.Lock()
		t.sent++
		a.mu.Unlock()
	}
	return old, evicted, err
}

func (t *tap[M]) Close() {
	t.a.mu.Lock()
	t.closed = true
	t.a.mu.Unlock()
}

func (t *tap[M]) Sent() uint64 {
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	return t.sent
}
