package bus

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// A SubscribeOption configures one subscription.
type SubscribeOption func(*subConfig)

type subConfig struct {
	name    string
	policy  Policy
	timeout time.Duration
	err     error
}

func (c *subConfig) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
}

// WithPolicy sets what the subscription does when its inbox is full. The
// default is [Block]. Subscribe returns an error wrapping [ErrInvalid] for
// a value that is not one of the Policy constants.
func WithPolicy(p Policy) SubscribeOption {
	return func(c *subConfig) {
		if !p.valid() {
			c.fail("WithPolicy: invalid policy %v", p)
			return
		}
		c.policy = p
	}
}

// WithTimeout bounds how long a [Block] subscription waits for room before
// it drops the event with [ErrTimeout]. Zero, the default, waits as long as
// the publisher's context allows. Subscribe returns an error wrapping
// [ErrInvalid] if d is negative. Other policies never wait and ignore it.
func WithTimeout(d time.Duration) SubscribeOption {
	return func(c *subConfig) {
		if d < 0 {
			c.fail("WithTimeout: negative timeout %v", d)
			return
		}
		c.timeout = d
	}
}

// WithName sets the subscription's name in stats, dead letters and logs.
// The default is the inbox's Name. Subscribe returns an error wrapping
// [ErrInvalid] if name is empty.
func WithName(name string) SubscribeOption {
	return func(c *subConfig) {
		if name == "" {
			c.fail("WithName: empty name")
			return
		}
		c.name = name
	}
}

// A Subscription is one inbox subscribed to one event type on a [Bus]. It
// is safe for concurrent use.
type Subscription struct {
	b       *Bus
	name    string
	where   string
	typ     reflect.Type
	policy  Policy
	timeout time.Duration
	inbox   any     // the Inbox[E], for the duplicate check
	depth   Depther // nil if the inbox does not report its depth
	d       deliverer
	// tap is the part of the actor's tap, if the inbox has taps (see
	// typed), that knows no event type.
	tap tapControl

	// mu guards the cancel functions of the deliveries waiting for room,
	// and gone.
	mu    sync.Mutex
	waits map[*waitEntry]struct{}
	gone  error // set when waits are to be canceled at once: ErrUnsubscribed or ErrClosed

	// inWait counts the deliveries waiting for room in the inbox; it is
	// closed by Unsubscribe. (The deliveries that do not wait are counted
	// in the flight of their route.)
	inWait flight

	_ [64]byte
	// missed counts the events offered along the routes and not
	// delivered, or not yet: see Stats.
	missed atomic.Uint64
	// untapped counts, for a subscription with a tap, the deliveries that
	// did not go through it (those that waited for room).
	untapped  atomic.Uint64
	drops     [numReasons]atomic.Uint64
	slow      atomic.Bool
	okRun     atomic.Uint32
	_         [64]byte
	unsubOnce sync.Once
	// retired holds the routes that Unsubscribe waits for (see Bus.retired).
	retired []*route
	// routes lists the routes that deliver to the subscription, and base
	// the publishes along the routes dropped from the list; both are
	// guarded by b.mu.
	routes []*route
	base   uint64
}

// delivered counts the delivery of an event that the offer counted as
// missed.
func (s *Subscription) delivered() { s.missed.Add(^uint64(0)) }

// tapControl is what the bus does with an actor's tap besides sending.
type tapControl interface {
	Close()
	Sent() uint64
}

// cut closes the tap, if any: no delivery through it is under way when it
// returns, and none will succeed.
func (s *Subscription) cut() {
	if s.tap != nil {
		s.tap.Close()
	}
}

// sentUntapped counts a delivery made by waiting for room: outside the tap,
// if any, and not counted by the routes.
func (s *Subscription) sentUntapped() {
	if s.tap != nil {
		s.untapped.Add(1)
	} else {
		s.delivered()
	}
}

// cutReason is why a delivery met a tap cut off: Close or Unsubscribe.
func (s *Subscription) cutReason() error {
	if s.b.Closed() {
		return errClosedWait
	}
	return errUnsubscribedWait
}

type waitEntry struct{ cancel context.CancelCauseFunc }

// Subscribe subscribes in to the events of type E published on b: every
// event published with [Publish][E], and, when E is an interface type,
// every event whose type implements E (a subscription to any receives
// everything). The event is delivered per the subscription's [Policy].
//
// Subscribe records where it was called (file:line), to name the
// subscription in slow-subscriber reports. It returns an error wrapping
// [ErrInvalid] for a nil bus, a nil inbox, an invalid option, or
// [DropOldest] with an inbox that does not implement [Displacer];
// [ErrDuplicate] if in is already subscribed to E on b; [ErrClosed] if b is
// closed. Subscribing is safe while events are published: a publish
// concurrent with Subscribe may or may not deliver to the new subscription.
func Subscribe[E any](b *Bus, in Inbox[E], opts ...SubscribeOption) (*Subscription, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: Subscribe: nil bus", ErrInvalid)
	}
	if isNil(in) {
		return nil, fmt.Errorf("%w: Subscribe: nil inbox", ErrInvalid)
	}
	cfg := subConfig{name: in.Name()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if cfg.name == "" {
		return nil, fmt.Errorf("%w: Subscribe: inbox has an empty name; use WithName", ErrInvalid)
	}
	t := &typed[E]{in: in}
	var ctl tapControl
	if tp, ok := in.(interface{ Tap() actor.Tap[E] }); ok {
		t.tap = tp.Tap()
		t.disp, ctl = t.tap, t.tap
	}
	if cfg.policy == DropOldest && t.tap == nil {
		disp, ok := in.(Displacer[E])
		if !ok {
			return nil, fmt.Errorf("%w: Subscribe(%q): DropOldest needs an inbox with a Displace method; %T has none", ErrInvalid, cfg.name, in)
		}
		t.disp = disp
	}
	s := &Subscription{
		b:       b,
		name:    cfg.name,
		where:   caller(1),
		typ:     reflect.TypeFor[E](),
		policy:  cfg.policy,
		timeout: cfg.timeout,
		inbox:   in,
		d:       t,
		tap:     ctl,
	}
	s.inWait.init()
	s.depth, _ = in.(Depther)
	t.s = s

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Closed() {
		return nil, ErrClosed
	}
	for _, o := range b.byType[s.typ] {
		if sameInbox(o.inbox, in) {
			return nil, fmt.Errorf("%w: %q to %v", ErrDuplicate, s.name, s.typ)
		}
	}
	b.seq++
	b.byType[s.typ] = append(b.byType[s.typ], s)
	if s.typ.Kind() == reflect.Interface {
		b.ifaces = append(b.ifaces, s)
	}
	b.all = append(b.all, s)
	b.rebuildRoutes(s.typ)
	return s, nil
}

// isNil reports whether in is nil or holds a nil pointer, map, func,
// channel or slice.
func isNil(in any) bool {
	if in == nil {
		return true
	}
	switch v := reflect.ValueOf(in); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// sameInbox reports whether two inboxes are the same one, without
// panicking on inboxes of non-comparable types (which are never the same).
func sameInbox(a, b any) bool {
	if !reflect.ValueOf(b).Comparable() || !reflect.ValueOf(a).Comparable() {
		return false
	}
	return a == b
}

// caller returns "dir/file.go:line" of the caller skip frames above the
// function calling caller.
func caller(skip int) string {
	_, file, line, ok := runtime.Caller(skip + 1)
	if !ok {
		return "unknown"
	}
	return fmt.Sprintf("%s/%s:%d", filepath.Base(filepath.Dir(file)), filepath.Base(file), line)
}

// Name returns the subscription's name.
func (s *Subscription) Name() string { return s.name }

// Type returns the event type subscribed to.
func (s *Subscription) Type() reflect.Type { return s.typ }

// Where returns where [Subscribe] was called, as "dir/file.go:line".
func (s *Subscription) Where() string { return s.where }

// Unsubscribe removes the subscription from the bus. When it returns, no
// delivery to the subscription is in progress and none will start: it
// removes the subscription from the routes, cancels the deliveries waiting
// for room in its inbox (their events are reported as dead letters with
// [ErrCanceled] and [ErrUnsubscribed]) and waits for the deliveries in
// flight to end, which never takes longer than a TrySend or a canceled Send
// and a dead-letter hook. A publish concurrent with Unsubscribe may or may
// not deliver to the subscription; if not, the event is not reported, as
// for a publish after Unsubscribe. It does not touch the inbox. Unsubscribe
// may be called more than once; it must not be called from a dead-letter or
// slow hook of the same bus.
func (s *Subscription) Unsubscribe() {
	s.unsubOnce.Do(func() {
		b := s.b
		b.mu.Lock()
		drop := func(l []*Subscription) []*Subscription {
			return slices.DeleteFunc(l, func(o *Subscription) bool { return o == s })
		}
		if l := drop(b.byType[s.typ]); len(l) > 0 {
			b.byType[s.typ] = l
		} else {
			delete(b.byType, s.typ)
		}
		b.ifaces = drop(b.ifaces)
		b.all = drop(b.all)
		b.rebuildRoutes(s.typ)
		// Every route that may still hold s has been retired.
		s.retired = slices.Clone(b.retired)
		b.mu.Unlock()

		s.cut()
		s.inWait.close()
		s.cancelWaits(ErrUnsubscribed)
	})
	for _, r := range s.retired {
		<-r.flight.done()
	}
	<-s.inWait.done()
}

// addWait registers the cancel function of a delivery about to wait for
// room. If the waits are already being canceled it cancels at once.
func (s *Subscription) addWait(cancel context.CancelCauseFunc) *waitEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil && s.b.aborted.Load() {
		s.gone = ErrClosed
	}
	if s.gone != nil {
		cancel(s.gone)
		return nil
	}
	w := &waitEntry{cancel: cancel}
	if s.waits == nil {
		s.waits = make(map[*waitEntry]struct{})
	}
	s.waits[w] = struct{}{}
	return w
}

func (s *Subscription) removeWait(w *waitEntry) {
	if w == nil {
		return
	}
	s.mu.Lock()
	delete(s.waits, w)
	s.mu.Unlock()
}

// cancelWaits cancels the deliveries waiting for room, now and later, with
// cause.
func (s *Subscription) cancelWaits(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil {
		s.gone = cause
	}
	for w := range s.waits {
		w.cancel(s.gone)
	}
	clear(s.waits)
}
