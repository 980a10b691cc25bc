package bus

import (
	"errors"
	"fmt"

	"github.com/troupe-go/troupe/internal/errfull"
)

// Errors returned by the bus and carried by a [DeadLetter]'s Reason. Match
// them with errors.Is.
var (
	// ErrClosed is returned by [Publish] and [Subscribe] once [Bus.Close]
	// has been called, and is the cause of a blocked delivery that Close
	// abandoned when its context ended.
	ErrClosed = errors.New("bus: closed")

	// ErrInvalid is wrapped by the errors [Subscribe] and [Publish] return
	// for bad input: a nil bus, a nil inbox or event, an invalid option, or
	// [DropOldest] for an inbox without a Displace method.
	ErrInvalid = errors.New("bus: invalid argument")

	// ErrDuplicate is returned by [Subscribe] when the same inbox is already
	// subscribed to the same event type on the bus: it would receive every
	// event twice.
	ErrDuplicate = errors.New("bus: inbox already subscribed to this event type")

	// ErrFull is what an [Inbox]'s Offer returns when it has no room. It
	// is the same value as actor.ErrMailboxFull, so an actor's error and a
	// user inbox's error are told apart from other refusals the same way.
	ErrFull = errfull.Err

	// ErrDroppedNewest is the reason of an event a [DropNewest]
	// subscription dropped because its inbox was full.
	ErrDroppedNewest = errors.New("bus: dropped newest: inbox full")

	// ErrDroppedOldest is the reason of a queued event a [DropOldest]
	// subscription evicted from its inbox to make room for a newer one.
	ErrDroppedOldest = errors.New("bus: dropped oldest: evicted by a newer event")

	// ErrTimeout is the reason of an event a [Block] subscription dropped
	// because its inbox stayed full for the subscription's timeout
	// ([WithTimeout]).
	ErrTimeout = errors.New("bus: timed out waiting for room")

	// ErrCanceled is the reason of an event a [Block] subscription dropped
	// because its wait for room was ended by the publisher's context, by
	// [Subscription.Unsubscribe] or by [Bus.Close]; the reason also wraps
	// the cause (context.Canceled, context.DeadlineExceeded,
	// [ErrUnsubscribed] or [ErrClosed]).
	ErrCanceled = errors.New("bus: wait for room canceled")

	// ErrRejected is the reason of an event the inbox refused for a reason
	// other than being full: a stopped actor (actor.ErrStopped), or an
	// actor's handler publishing into its own full mailbox
	// (actor.ErrWouldDeadlock). The reason also wraps the inbox's error.
	ErrRejected = errors.New("bus: rejected by inbox")

	// ErrUnsubscribed is the cause, under [ErrCanceled], of a blocked
	// delivery abandoned by [Subscription.Unsubscribe].
	ErrUnsubscribed = errors.New("bus: unsubscribed")
)

var errNilEvent = fmt.Errorf("%w: nil event", ErrInvalid)

// A DeliveryError is a subscription that [Publish] could not deliver an
// event to for a reason other than its drop policy. Publish joins one per
// such subscription with errors.Join.
type DeliveryError struct {
	// Subscription is the name of the subscription.
	Subscription string
	// Reason is the same as the [DeadLetter]'s.
	Reason error
}

// Error returns the subscription's name and the reason.
func (e *DeliveryError) Error() string {
	return fmt.Sprintf("bus: delivery to %q: %v", e.Subscription, e.Reason)
}

// Unwrap returns the reason.
func (e *DeliveryError) Unwrap() error { return e.Reason }
