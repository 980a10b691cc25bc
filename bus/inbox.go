package bus

import "context"

// An Inbox is what the bus delivers events of type E to: usually an
// [*github.com/troupe-go/troupe/actor.Actor][E], which implements it without an adapter.
//
// Offer must not wait: it accepts e or returns an error, [ErrFull] when
// there is no room; its ctx is the publisher's, for the values it carries
// (a trace's span context), never to wait on. Send may wait for room; it must return when ctx is done
// (with an error wrapping ctx's) and should return at once with an error
// when the inbox can never accept e (a stopped actor). Both must be safe for
// concurrent use. Name names the inbox in logs, stats and dead letters
// unless [WithName] says otherwise.
//
// An inbox may also implement [Displacer] (needed for [DropOldest]) and
// [Depther] (to show its depth in [Bus.Stats] and detect a recovered slow
// subscriber).
type Inbox[E any] interface {
	Name() string
	Send(ctx context.Context, e E) error
	Offer(ctx context.Context, e E) error
}

// A Displacer is an inbox that can make room by evicting its oldest event,
// as actor.Actor.Displace does. Displace puts e in the inbox without
// waiting (ctx as for Offer); when the inbox is full it first removes the oldest event and
// returns it with evicted true. It returns an error when e was not accepted.
type Displacer[E any] interface {
	Displace(ctx context.Context, e E) (old E, evicted bool, err error)
}

// A Depther is an inbox that reports how many events it holds (Len) and
// how many it can hold (Cap).
type Depther interface {
	Len() int
	Cap() int
}
