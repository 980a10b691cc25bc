package bus

import "fmt"

// A Policy says what a subscription does with an event when its inbox is
// full.
type Policy int

const (
	// Block waits for room, bounded by the publisher's context and by the
	// subscription's timeout ([WithTimeout]); an event that times out is
	// dropped with [ErrTimeout]. Publish waits for Block subscriptions only
	// after it has offered the event to every other subscription. Block is
	// the default.
	Block Policy = iota
	// DropNewest drops the event being published when the inbox is full
	// ([ErrDroppedNewest]) and never waits.
	DropNewest
	// DropOldest evicts the oldest queued event to make room for the new
	// one ([ErrDroppedOldest]) and never waits: the inbox keeps the newest
	// events. The inbox must have a Displace method (see [Displacer]).
	DropOldest
)

// String returns the policy's name.
func (p Policy) String() string {
	switch p {
	case Block:
		return "Block"
	case DropNewest:
		return "DropNewest"
	case DropOldest:
		return "DropOldest"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

func (p Policy) valid() bool { return p >= Block && p <= DropOldest }
