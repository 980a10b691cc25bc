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
)

// A SubscribeOption configures one subscription.
type SubscribeOption func(*subConfig)

type subConfig struct {
	name    string
	policy  Policy
	timeout time.Duration
	err     error
}

func (c *subConfig) invalid(format string, args ...any) {
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
			c.invalid("WithPolicy: invalid policy %v", p)
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
			c.invalid("WithTimeout: negative timeout %v", d)
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
			c.invalid("WithName: empty name")
			return
		}
		c.name = name
	}
}

// A Subscription is one inbox subscribed to one event type on a [Bus]. It
// is safe for concurrent use.
type Subscription struct {
	// Set by Subscribe, then only read.
	b       *Bus
	name    string
	where   string
	typ     reflect.Type
	policy  Policy
	timeout time.Duration
	seq     uint64   // the order of the subscriptions on the bus
	key     inboxKey // the duplicate check's key; zero for an inbox never the same as another
	depth   Depther  // nil if the inbox does not report its depth
	d       deliverer
	// slow is read by every delivery, and written when it changes.
	slow atomic.Bool
	// unsubscribed is set by Unsubscribe before it seals the guard.
	unsubscribed atomic.Bool

	// guard is entered and left by every delivery. (A cache line of its
	// own, away from the fields above, measured no faster on fan-out 10 or
	// 4 publishers.)
	guard guard

	// missed counts the deliveries that left the guard without delivering
	// (see leave), but for the events dropped as the newest, counted in
	// drops only (see deliveries).
	missed atomic.Uint64
	drops  [numReasons]atomic.Uint64
	okRun  atomic.Uint32

	// mu guards the cancel functions of the deliveries waiting for room,
	// and cancelCause.
	mu          sync.Mutex
	waits       map[*waitEntry]struct{}
	cancelCause error // set when waits are to be canceled at once: ErrUnsubscribed or ErrClosed

	unsubOnce sync.Once
}

type waitEntry struct{ cancel context.CancelCauseFunc }

// inboxKey is the duplicate check's key: one inbox subscribed to one type.
type inboxKey struct {
	typ reflect.Type
	in  any
}

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
// Its cost does not grow with the subscriptions of the same type (amortised
// O(1)); a subscription to an interface type also visits each event type
// published so far.
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
	if cfg.policy == DropOldest {
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
		d:       t,
	}
	s.guard.init()
	s.depth, _ = in.(Depther)
	t.s = s
	// Inboxes of a type that is not comparable are never the same.
	if reflect.ValueOf(in).Comparable() {
		s.key = inboxKey{s.typ, in}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if s.key.typ != nil {
		if _, dup := b.inboxes[s.key]; dup {
			return nil, fmt.Errorf("%w: %q to %v", ErrDuplicate, s.name, s.typ)
		}
		b.inboxes[s.key] = s
	}
	b.seq++
	s.seq = b.seq
	if s.typ.Kind() == reflect.Interface {
		b.ifaces = append(b.ifaces, s)
	} else {
		b.byType[s.typ] = append(b.byType[s.typ], s)
	}
	b.all = append(b.all, s)
	b.routesTo(s.typ, func(r *route, boxed bool) { r.add(s, boxed) })
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
// [ErrCanceled] and [ErrUnsubscribed]) and waits for the deliveries under
// way to end, which never takes longer than the offers of the publishes
// under way (each an Offer or Displace and the hooks) and a canceled Send.
// A publish concurrent with Unsubscribe may or may not deliver to the
// subscription; if not, the event is not reported, as for a publish after
// Unsubscribe, unless it was offered already and was to wait for room. It
// does not touch the inbox. Unsubscribe may be called more than once, each
// call returning as the first; it must not be called from a dead-letter or
// slow hook of the same bus. It costs O(n) in the subscriptions of its
// type.
func (s *Subscription) Unsubscribe() {
	s.unsubOnce.Do(func() {
		b := s.b
		b.mu.Lock()
		if s.key.typ != nil {
			delete(b.inboxes, s.key)
		}
		drop := func(l []*Subscription) []*Subscription {
			return slices.DeleteFunc(l, func(o *Subscription) bool { return o == s })
		}
		if s.typ.Kind() == reflect.Interface {
			b.ifaces = drop(b.ifaces)
		} else if l := drop(b.byType[s.typ]); len(l) > 0 {
			b.byType[s.typ] = l
		} else {
			delete(b.byType, s.typ)
		}
		b.routesTo(s.typ, func(r *route, boxed bool) { r.remove(s, boxed) })
		s.unsubscribed.Store(true)
		s.guard.seal()
		b.mu.Unlock()

		s.cancelWaits(ErrUnsubscribed)
		<-s.guard.done()
		// Close waits for the subscriptions in b.all: it stays there until
		// no delivery to it is under way.
		b.mu.Lock()
		b.all = drop(b.all)
		b.mu.Unlock()
	})
}

// addWait registers the cancel function of a delivery about to wait for
// room. If the waits are already being canceled it cancels at once.
func (s *Subscription) addWait(cancel context.CancelCauseFunc) *waitEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelCause == nil && s.b.aborted.Load() {
		s.cancelCause = ErrClosed
	}
	if s.cancelCause != nil {
		cancel(s.cancelCause)
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
	if s.cancelCause == nil {
		s.cancelCause = cause
	}
	for w := range s.waits {
		w.cancel(s.cancelCause)
	}
	clear(s.waits)
}
