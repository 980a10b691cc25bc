package bus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Publish delivers e to every subscription of b whose type is E's type or an
// interface type that E's type implements. When E is itself an interface
// type, e is routed by its dynamic type.
//
// Publish first offers e to every subscription without waiting: those with
// room get it at once, the [DropNewest] and [DropOldest] ones with a full
// inbox drop an event. Then it waits for room in the full [Block] inboxes,
// one after the other, each wait bounded by ctx and by the subscription's
// timeout. So a slow subscription delays the publisher by at most its own
// wait, and never delays the delivery to another subscription of the same
// event. Events published by one goroutine reach each subscription in the
// order they were published. An event published while no subscription
// matches it is discarded.
//
// Every event a subscription does not get is counted in its stats and handed
// to the dead-letter hook. Publish returns nil when every subscription got
// e or dropped it by its policy. It returns a [*DeliveryError] (several
// joined with errors.Join) for each subscription that did not get it for
// another reason: [ErrTimeout], [ErrCanceled] (the publisher's context ended,
// or the subscription was unsubscribed or the bus closed while waiting, or
// the bus closed before the delivery to an actor started) or
// [ErrRejected] (the inbox refused it: a stopped actor, or an actor's
// handler publishing into its own full mailbox with the handler's context,
// which fails with [actor.ErrWouldDeadlock] instead of hanging). It returns
// [ErrClosed] after [Bus.Close], and an error wrapping [ErrInvalid] for a nil
// bus or a nil interface event.
//
// Publish holds no lock and does not allocate for concrete event types,
// except on the paths that wait for room or drop an event. An event
// delivered to subscriptions of an interface type is converted to an
// interface value once per publish, which allocates unless E is a pointer,
// or another type that fits an interface value without boxing.
func Publish[E any](ctx context.Context, b *Bus, e E) error {
	if b == nil {
		return errNilBus
	}
	r, err := b.enterRoute(reflect.TypeFor[E]())
	if err != nil {
		return err
	}
	if r.dynamic {
		b.exitRoute(r)
		return b.publishAny(ctx, any(e))
	}
	return publish(ctx, b, r, e)
}

var errNilBus = fmt.Errorf("%w: Publish: nil bus", ErrInvalid)

// pendBuf is how many waiting Block subscriptions a publish tracks without
// allocating.
const pendBuf = 8

// publish delivers e along r, statically typed for the subscriptions to E,
// and leaves r.
func publish[E any](ctx context.Context, b *Bus, r *route, e E) error {
	direct, _ := r.direct.([]*typed[E])
	var v any
	if len(r.boxed) > 0 {
		v = e
	}
	var buf [pendBuf]int32
	pend := buf[:0]
	var errs []error
	for i, t := range direct {
		wait, err := t.offer(e)
		if wait {
			pend = append(pend, int32(i))
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	for i, d := range r.boxed {
		wait, err := d.offerAny(v)
		if wait {
			pend = append(pend, int32(-1-i))
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	if len(pend) == 0 {
		b.exitRoute(r)
		return joined(errs)
	}
	if !b.holdWaits(r) {
		for _, i := range pend {
			if i >= 0 {
				errs = append(errs, direct[i].s.fail(reasonCanceled, e, errClosedWait))
			} else {
				errs = append(errs, r.boxed[-1-i].sub().fail(reasonCanceled, v, errClosedWait))
			}
		}
		return joined(errs)
	}
	defer b.waiting.leave()
	for _, i := range pend {
		var err error
		if i >= 0 {
			err = direct[i].wait(ctx, e)
		} else {
			err = r.boxed[-1-i].waitAny(ctx, v)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return joined(errs)
}

// publishAny delivers v, published through an interface type, along the
// route of its dynamic type.
func (b *Bus) publishAny(ctx context.Context, v any) error {
	if v == nil {
		return errNilEvent
	}
	r, err := b.enterRoute(reflect.TypeOf(v))
	if err != nil {
		return err
	}
	n := len(r.directAny)
	var buf [pendBuf]int32
	pend := buf[:0]
	var errs []error
	at := func(i int) deliverer {
		if i < n {
			return r.directAny[i]
		}
		return r.boxed[i-n]
	}
	for i := range n + len(r.boxed) {
		wait, err := at(i).offerAny(v)
		if wait {
			pend = append(pend, int32(i))
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	if len(pend) == 0 {
		b.exitRoute(r)
		return joined(errs)
	}
	if !b.holdWaits(r) {
		for _, i := range pend {
			errs = append(errs, at(int(i)).sub().fail(reasonCanceled, v, errClosedWait))
		}
		return joined(errs)
	}
	defer b.waiting.leave()
	for _, i := range pend {
		if err := at(int(i)).waitAny(ctx, v); err != nil {
			errs = append(errs, err)
		}
	}
	return joined(errs)
}

// exitRoute ends a publish's offers along r.
func (b *Bus) exitRoute(r *route) {
	if r.counted {
		r.flight.leave()
	}
}

// holdWaits ends the offers of a publish that has deliveries left to wait
// for, and counts it in b.waiting, which the caller must leave when done.
// Along a counted route it is counted before it leaves the route, so that
// Close, which waits for the routes and then for b.waiting, sees it. Along
// an uncounted one it fails once Close has closed b.waiting: Close returned,
// or is about to, and no delivery may start.
func (b *Bus) holdWaits(r *route) bool {
	if !r.counted {
		return b.waiting.enter()
	}
	b.waiting.hold()
	r.flight.leave()
	return true
}

func joined(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// A deliverer is the typed side of a subscription, handed events as
// interface values.
type deliverer interface {
	sub() *Subscription
	// appendTo appends the deliverer to list, a []*typed[T] or nil.
	appendTo(list any) any
	offerAny(v any) (wait bool, err error)
	waitAny(ctx context.Context, v any) error
}

// typed is the part of a subscription to events of type T that knows T.
//
// When the inbox is an actor, the deliveries that do not wait go through
// an [actor.Tap], which the actor's own lock guards: Unsubscribe and Close
// cut the tap off instead of counting the publishes in flight, and the tap
// counts the deliveries.
type typed[T any] struct {
	s    *Subscription
	in   Inbox[T]
	disp Displacer[T] // for DropOldest: the tap, if any
	tap  actor.Tap[T]
}

func (t *typed[T]) sub() *Subscription { return t.s }

// trySend offers e to the inbox without waiting, through the tap if any.
func (t *typed[T]) trySend(e T) error {
	if t.tap != nil {
		return t.tap.TrySend(e)
	}
	return t.in.TrySend(e)
}

// sent counts a delivery by trySend or Displace of an event the offer
// counted as missed; a tap counts its deliveries itself.
func (t *typed[T]) sent() {
	if t.tap == nil {
		t.s.delivered()
	}
}

func (t *typed[T]) appendTo(list any) any {
	l, _ := list.([]*typed[T])
	return append(l, t)
}

func (t *typed[T]) offerAny(v any) (bool, error) { return t.offer(v.(T)) }

func (t *typed[T]) waitAny(ctx context.Context, v any) error { return t.wait(ctx, v.(T)) }

// offer tries to deliver e without waiting. It reports whether the
// subscription is a Block one that must wait for room, and returns a
// *DeliveryError when the inbox rejected e.
//
// An offer along a counted route is made within its flight, which counts
// it as a delivery when it leaves; one that does not deliver counts itself
// as missed (see Subscription.Stats). An offer through a tap cut off by
// Unsubscribe is dropped without a report, as if the publish came after
// Unsubscribe; one cut off by Close is reported.
func (t *typed[T]) offer(e T) (wait bool, err error) {
	s := t.s
	err = t.trySend(e)
	if err == nil {
		if s.slow.Load() {
			s.recovering()
		}
		return false, nil
	}
	if err == actor.ErrTapClosed {
		if s.b.Closed() {
			return false, s.fail(reasonCanceled, e, errClosedWait)
		}
		return false, nil
	}
	s.missed.Add(1)
	if !isFull(err) {
		return false, s.fail(reasonRejected, e, fmt.Errorf("%w: %w", ErrRejected, err))
	}
	switch s.policy {
	case Block:
		// Counted as missed until wait delivers it.
		return true, nil
	case DropNewest:
		s.becameSlow()
		s.dropped(reasonNewest, e, ErrDroppedNewest)
		return false, nil
	}
	err = t.displace(e)
	s.becameSlow()
	return false, err
}

// spinTries is how many times a Block delivery yields and tries again
// before it waits for room in earnest.
const spinTries = 8

// displaceTries bounds how often DropOldest evicts to make room when other
// senders keep taking the room it made.
const displaceTries = 3

// displace puts e in a full inbox by evicting the oldest events; e was
// counted as missed.
func (t *typed[T]) displace(e T) error {
	s := t.s
	for range displaceTries {
		old, evicted, err := t.disp.Displace(e)
		if evicted {
			s.dropped(reasonOldest, old, ErrDroppedOldest)
		}
		switch {
		case err == nil:
			t.sent()
			return nil
		case err == actor.ErrTapClosed:
			return s.fail(reasonCanceled, e, s.cutReason())
		case !isFull(err):
			return s.fail(reasonRejected, e, fmt.Errorf("%w: %w", ErrRejected, err))
		}
	}
	s.dropped(reasonNewest, e, ErrDroppedNewest)
	return nil
}

// wait delivers e to a full Block inbox, waiting for room until ctx ends,
// the subscription's timeout runs out, or the subscription is unsubscribed
// or the bus's Close gives up waiting. e was counted as missed.
func (t *typed[T]) wait(ctx context.Context, e T) error {
	s := t.s
	if !s.inWait.enter() {
		// Unsubscribed since the offer found the inbox full: the event was
		// offered, so it is reported, not dropped silently.
		return s.fail(reasonCanceled, e, errUnsubscribedWait)
	}
	// A consumer that keeps up usually makes room within a few yields;
	// trying again first saves the allocations of a cancelable wait.
	for range spinTries {
		runtime.Gosched()
		if err := t.trySend(e); err == nil {
			t.sent()
			s.inWait.leave()
			return nil
		} else if err == actor.ErrTapClosed {
			s.inWait.leave()
			return s.fail(reasonCanceled, e, s.cutReason())
		} else if !isFull(err) {
			s.inWait.leave()
			return s.fail(reasonRejected, e, fmt.Errorf("%w: %w", ErrRejected, err))
		}
	}
	// A wait that lasts makes the subscription slow.
	slow := time.AfterFunc(s.b.cfg.slowAfter, s.becameSlow)
	wctx, cancel := context.WithCancelCause(ctx)
	w := s.addWait(cancel)
	sctx, stop := wctx, context.CancelFunc(func() {})
	if s.timeout > 0 {
		sctx, stop = context.WithTimeoutCause(wctx, s.timeout, ErrTimeout)
	}
	err := t.in.Send(sctx, e)
	var kind reason
	var why error
	if err != nil {
		kind, why = classify(ctx, sctx, err)
	}
	slow.Stop()
	stop()
	s.removeWait(w)
	cancel(nil)
	if err == nil {
		s.sentUntapped()
		s.inWait.leave()
		return nil
	}
	s.inWait.leave()
	s.becameSlow()
	return s.fail(kind, e, why)
}

// classify tells why a Send with context sctx, derived from the
// publisher's ctx, failed with err.
func classify(ctx, sctx context.Context, err error) (reason, error) {
	if sctx.Err() == nil || !(isFull(err) || errors.Is(err, sctx.Err()) || errors.Is(err, context.Cause(sctx))) {
		return reasonRejected, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	// The publisher's context wins when both it and the subscription's
	// timeout have ended, so that the reason matches one sentinel only.
	if ctx.Err() != nil {
		return reasonCanceled, fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
	}
	cause := context.Cause(sctx)
	if cause == ErrTimeout {
		return reasonTimeout, ErrTimeout
	}
	return reasonCanceled, fmt.Errorf("%w: %w", ErrCanceled, cause)
}

var (
	errUnsubscribedWait = fmt.Errorf("%w: %w", ErrCanceled, ErrUnsubscribed)
	errClosedWait       = fmt.Errorf("%w: %w", ErrCanceled, ErrClosed)
)

func isFull(err error) bool { return err == ErrFull || errors.Is(err, ErrFull) }
