package bus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"time"
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
// or the subscription was unsubscribed or the bus closed before or while
// it waited for room) or [ErrRejected] (the inbox refused it: a stopped
// actor, or an actor's handler publishing into its own full mailbox with
// the handler's context, which fails with actor.ErrWouldDeadlock instead
// of hanging). It returns [ErrClosed], having delivered nothing, after
// [Bus.Close], and an error wrapping [ErrInvalid] for a nil bus or a nil
// interface event.
//
// With middleware ([WithMiddleware]), Publish calls it first, and delivers
// with the context and event it passes on, routed by the event's dynamic
// type. Publish holds no lock and does not allocate for concrete event types,
// except on the paths that wait for room or drop an event. An event
// delivered to subscriptions of an interface type is converted to an
// interface value once per publish, which allocates unless E is a pointer,
// or another type that fits an interface value without boxing.
func Publish[E any](ctx context.Context, b *Bus, e E) error {
	if b == nil {
		return errNilBus
	}
	if b.publish != nil {
		return b.publishVia(ctx, any(e))
	}
	t := reflect.TypeFor[E]()
	r := b.probe(t)
	if r == nil {
		if r = b.routeOf(t); r == nil {
			return ErrClosed
		}
	}
	if r.dynamic {
		return b.publishAny(ctx, any(e))
	}
	subs := r.subs.Load()
	direct, _ := subs.direct.([]*typed[E])
	var v any
	if len(subs.boxed) > 0 {
		v = e
	}
	return deliver(ctx, b, direct, e, subs.boxed, v)
}

var errNilBus = fmt.Errorf("%w: Publish: nil bus", ErrInvalid)

// publishAny delivers v, published through an interface type, along the
// route of its dynamic type.
func (b *Bus) publishAny(ctx context.Context, v any) error {
	if v == nil {
		return errNilEvent
	}
	r := b.routeOf(reflect.TypeOf(v))
	if r == nil {
		return ErrClosed
	}
	return deliver[any](ctx, b, nil, nil, r.subs.Load().all, v)
}

// pendBuf is how many waiting Block subscriptions a publish tracks without
// allocating.
const pendBuf = 8

// deliver is the one delivery path of a publish: it delivers e to the
// subscriptions direct, statically typed, and v, e as an interface value,
// to the subscriptions boxed.
//
// It enters the guard of every subscription before the first offer, then
// checks that the bus is open: Close closes the bus before it seals the
// guards, so either this publish sees the bus closed and delivers nothing
// (ErrClosed), or Close waits for all its offers. A guard sealed by
// Unsubscribe is skipped without a report, as if the publish came after
// Unsubscribe returned.
func deliver[E any](ctx context.Context, b *Bus, direct []*typed[E], e E, boxed []deliverer, v any) error {
	n := len(direct)
	var sealed []bool // the subscriptions whose guard is sealed; nil if none
	for i, t := range direct {
		if !t.s.guard.enter() {
			sealed = markSealed(sealed, n+len(boxed), i)
		}
	}
	for i, d := range boxed {
		if !d.sub().guard.enter() {
			sealed = markSealed(sealed, n+len(boxed), n+i)
		}
	}
	if b.closed.Load() {
		for i, t := range direct {
			if sealed == nil || !sealed[i] {
				t.s.guard.withdraw()
			}
		}
		for i, d := range boxed {
			if sealed == nil || !sealed[n+i] {
				d.sub().guard.withdraw()
			}
		}
		return ErrClosed
	}

	var buf [pendBuf]int32
	pend := buf[:0]
	var errs []error
	for i, t := range direct {
		if sealed != nil && sealed[i] {
			continue
		}
		wait, err := t.offer(ctx, e)
		if wait {
			pend = append(pend, int32(i))
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	for i, d := range boxed {
		if sealed != nil && sealed[n+i] {
			continue
		}
		wait, err := d.offerAny(ctx, v)
		if wait {
			pend = append(pend, int32(n+i))
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	for _, i := range pend {
		var err error
		if int(i) < n {
			err = direct[i].wait(ctx, e)
		} else {
			err = boxed[int(i)-n].waitAny(ctx, v)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return joined(errs)
}

// markSealed marks subscription i of n as sealed, making the marks if need
// be.
func markSealed(sealed []bool, n, i int) []bool {
	if sealed == nil {
		sealed = make([]bool, n)
	}
	sealed[i] = true
	return sealed
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
	// removeFrom returns a new []*typed[T] of list's elements but the
	// deliverer.
	removeFrom(list any) any
	offerAny(ctx context.Context, v any) (wait bool, err error)
	waitAny(ctx context.Context, v any) error
}

// typed is the part of a subscription to events of type T that knows T.
type typed[T any] struct {
	s    *Subscription
	in   Inbox[T]
	disp Displacer[T] // for DropOldest
}

func (t *typed[T]) sub() *Subscription { return t.s }

func (t *typed[T]) appendTo(list any) any {
	l, _ := list.([]*typed[T])
	return append(l, t)
}

func (t *typed[T]) removeFrom(list any) any {
	l, _ := list.([]*typed[T])
	out := make([]*typed[T], 0, len(l))
	for _, x := range l {
		if x != t {
			out = append(out, x)
		}
	}
	return out
}

func (t *typed[T]) offerAny(ctx context.Context, v any) (bool, error) { return t.offer(ctx, v.(T)) }

func (t *typed[T]) waitAny(ctx context.Context, v any) error { return t.wait(ctx, v.(T)) }

// offer tries to deliver e without waiting (ctx, the publisher's, is
// passed on for its values only), within the subscription's
// guard, which the caller entered and offer leaves. It reports whether the
// subscription is a Block one that must wait for room, and returns a
// *DeliveryError when the inbox rejected e. Drops are reported before the
// guard is left, so that once Unsubscribe or Close returns every event
// offered is counted.
func (t *typed[T]) offer(ctx context.Context, e T) (wait bool, err error) {
	err = t.in.Offer(ctx, e)
	if err == nil && !t.s.slow.Load() {
		t.s.guard.leave()
		return false, nil
	}
	return t.settle(ctx, e, err)
}

// settle ends an offer of e that the inbox answered with err, on the paths
// other than a delivery to a subscription that is not slow.
func (t *typed[T]) settle(ctx context.Context, e T, err error) (wait bool, _ error) {
	s := t.s
	if err == nil {
		s.recovering()
		s.leave(true)
		return false, nil
	}
	if !isFull(err) {
		err = s.deliveryError(reasonRejected, e, fmt.Errorf("%w: %w", ErrRejected, err))
		s.leave(false)
		return false, err
	}
	switch s.policy {
	case Block:
		// Missed until wait delivers it.
		s.leave(false)
		return true, nil
	case DropNewest:
		s.becameSlow()
		dropped(s, reasonNewest, e, ErrDroppedNewest)
		s.guard.leave() // a miss counted by its drop (see deliveries)
		return false, nil
	}
	delivered, newest, err := t.displace(ctx, e)
	s.becameSlow()
	if newest {
		s.guard.leave()
	} else {
		s.leave(delivered)
	}
	return false, err
}

// spinTries is how many times a Block delivery yields and tries again
// before it waits for room in earnest.
const spinTries = 8

// displaceTries bounds how often DropOldest evicts to make room when other
// senders keep taking the room it made.
const displaceTries = 3

// displace puts e in a full inbox by evicting the oldest events, and
// reports whether e was delivered, or else dropped as the newest (when
// other senders kept taking the room it made).
func (t *typed[T]) displace(ctx context.Context, e T) (delivered, newest bool, err error) {
	s := t.s
	for range displaceTries {
		old, evicted, err := t.disp.Displace(ctx, e)
		if evicted {
			dropped(s, reasonOldest, old, ErrDroppedOldest)
		}
		switch {
		case err == nil:
			return true, false, nil
		case !isFull(err):
			return false, false, s.deliveryError(reasonRejected, e, fmt.Errorf("%w: %w", ErrRejected, err))
		}
	}
	dropped(s, reasonNewest, e, ErrDroppedNewest)
	return false, true, nil
}

// wait delivers e, which an offer found no room for, to a Block inbox,
// waiting for room until ctx ends, the subscription's timeout runs out, or
// Unsubscribe or Close (when its context ends) cancels the wait. It enters
// the subscription's guard again: a subscription sealed since the offer
// gets no delivery, and the event, offered already, is reported.
func (t *typed[T]) wait(ctx context.Context, e T) error {
	s := t.s
	if !s.guard.enter() {
		return s.deliveryError(reasonCanceled, e, s.sealCause())
	}
	// A consumer that keeps up usually makes room within a few yields;
	// trying again first saves the allocations of a cancelable wait.
	for range spinTries {
		runtime.Gosched()
		err := t.in.Offer(ctx, e)
		if err == nil {
			s.leave(true)
			return nil
		}
		if !isFull(err) {
			err = s.deliveryError(reasonRejected, e, fmt.Errorf("%w: %w", ErrRejected, err))
			s.leave(false)
			return err
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
		s.leave(true)
		return nil
	}
	s.becameSlow()
	err = s.deliveryError(kind, e, why)
	s.leave(false)
	return err
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
