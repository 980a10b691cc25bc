package bus

import (
	"math/bits"
	"reflect"
	"slices"
	"unsafe"
)

// A table maps each event type published so far to its route. A table is
// never modified once stored in Bus.table: Subscribe, Unsubscribe and the
// first publish of a type store a new one (copy on write), so that Publish
// reads it with one atomic load and no lock.
type table struct {
	routes map[reflect.Type]*route
	// slots index routes by the address of the type's descriptor, in an
	// open-addressing table at most half full: Publish finds its route
	// with a multiplication and a pointer comparison or two, where the
	// map's lookup would hash an interface value.
	slots []slot
	shift uint
}

type slot struct {
	key unsafe.Pointer
	r   *route
}

// newTable returns a table of routes.
func newTable(routes map[reflect.Type]*route) *table {
	n := 2
	for n < 2*len(routes) {
		n <<= 1
	}
	tb := &table{routes: routes, slots: make([]slot, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
	for t, r := range routes {
		k := typeKey(t)
		i := tb.hash(k)
		for tb.slots[i].key != nil {
			i = (i + 1) & uintptr(n-1)
		}
		tb.slots[i] = slot{k, r}
	}
	return tb
}

// typeKey returns the address of t's descriptor, which identifies the type:
// the data word of the interface value.
func typeKey(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

func (tb *table) hash(k unsafe.Pointer) uintptr {
	return uintptr((uint64(uintptr(k)) * 0x9E3779B97F4A7C15) >> tb.shift)
}

// lookup returns the route of the type whose key is k, or nil.
func (tb *table) lookup(k unsafe.Pointer) *route {
	mask := uintptr(len(tb.slots) - 1)
	for i := tb.hash(k); ; i = (i + 1) & mask {
		s := &tb.slots[i]
		if s.key == k {
			return s.r
		}
		if s.key == nil {
			return nil
		}
	}
}

// A route is the list of subscriptions an event of one published type goes
// to, computed once when the type is first published and recomputed only
// when a subscription that matches it comes or goes.
type route struct {
	// flight counts the publishes delivering along a counted route. It is
	// closed when the route is replaced in the table, or by Close, so that
	// Unsubscribe and Close can wait for the publishes that may still use
	// it.
	flight flight
	// counted is set when a subscription of the route has no tap (see
	// typed): only then do publishes enter the route's flight. Taps cut
	// off the others, at no cost to a publish.
	counted bool
	// dynamic is set when the published type is an interface type: each
	// event is then routed by its dynamic type.
	dynamic bool
	// direct holds the subscriptions to exactly the route's type T, as a
	// []*typed[T], so that Publish[T] delivers without boxing; nil if none.
	direct any
	// directAny holds the same subscriptions, for events published through
	// an interface type (see dynamic).
	directAny []deliverer
	// boxed holds the subscriptions to interface types that the route's type
	// implements: they are handed the event as an interface value.
	boxed []deliverer
}

// enterRoute returns the route of events of type t, counted in flight
// until the caller leaves it. It returns ErrClosed once the bus is closed.
func (b *Bus) enterRoute(t reflect.Type) (*route, error) {
	for {
		r := b.table.Load().lookup(typeKey(t))
		if r == nil {
			if r = b.addRoute(t); r == nil {
				return nil, ErrClosed
			}
		}
		if !r.counted {
			// A publish along a route replaced since meets the taps of the
			// subscriptions gone, cut off.
			if b.Closed() {
				return nil, ErrClosed
			}
			return r, nil
		}
		if r.flight.enter() {
			return r, nil
		}
		if b.Closed() {
			return nil, ErrClosed
		}
		// Replaced since the table was read: the new table has its
		// successor.
	}
}

// addRoute computes the route of a type published for the first time and
// stores it in a new table. It returns nil if the bus is closed.
func (b *Bus) addRoute(t reflect.Type) *route {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Closed() {
		return nil
	}
	old := b.table.Load()
	if r := old.routes[t]; r != nil {
		return r
	}
	r := b.buildRoute(t)
	routes := make(map[reflect.Type]*route, len(old.routes)+1)
	for k, v := range old.routes {
		routes[k] = v
	}
	routes[t] = r
	b.table.Store(newTable(routes))
	return r
}

// buildRoute computes the route of type t from the subscriptions. b.mu is
// held.
func (b *Bus) buildRoute(t reflect.Type) *route {
	r := &route{}
	r.flight.init()
	if t.Kind() == reflect.Interface {
		r.dynamic = true
		return r
	}
	var untapped []*Subscription
	for _, s := range b.byType[t] {
		r.direct = s.d.appendTo(r.direct)
		r.directAny = append(r.directAny, s.d)
		if s.tap == nil {
			untapped = append(untapped, s)
		}
	}
	for _, s := range b.ifaces {
		if t.Implements(s.typ) {
			r.boxed = append(r.boxed, s.d)
			if s.tap == nil {
				untapped = append(untapped, s)
			}
		}
	}
	// The route's count of publishes is the untapped subscriptions'.
	for _, s := range untapped {
		s.routes = append(s.routes, r)
	}
	r.counted = len(untapped) > 0
	return r
}

// rebuildRoutes stores a new table in which the routes that a subscription
// of type changed affects are recomputed, and retires the routes replaced.
// A closed bus keeps its table: its routes are all retired. b.mu is held.
func (b *Bus) rebuildRoutes(changed reflect.Type) {
	if b.Closed() {
		return
	}
	old := b.table.Load()
	routes := make(map[reflect.Type]*route, len(old.routes))
	iface := changed.Kind() == reflect.Interface
	var replaced []*route
	for t, r := range old.routes {
		if !r.dynamic && (t == changed || iface && t.Implements(changed)) {
			replaced = append(replaced, r)
			r = b.buildRoute(t)
		}
		routes[t] = r
	}
	// The new table first: a publish that finds a retired route reads the
	// table again and must find its successor.
	b.table.Store(newTable(routes))
	for _, r := range replaced {
		b.retire(r)
	}
}

// retire seals r, so that no publish enters it any more, and keeps it in
// b.retired until the publishes in it have left. b.mu is held.
func (b *Bus) retire(r *route) {
	r.flight.close()
	b.retired = slices.DeleteFunc(b.retired, func(r *route) bool { return b.forget(r) })
	if !b.forget(r) {
		b.retired = append(b.retired, r)
	}
}

// forget reports whether the publishes along the retired route r have all
// left; if so, it moves their count to r's subscriptions (see
// Subscription.Stats) and drops r from their lists. b.mu is held.
func (b *Bus) forget(r *route) bool {
	if !r.flight.over() {
		return false
	}
	n := r.flight.completed()
	for _, d := range slices.Concat(r.directAny, r.boxed) {
		s := d.sub()
		if i := slices.Index(s.routes, r); i >= 0 {
			s.routes = slices.Delete(s.routes, i, i+1)
			s.base += n
		}
	}
	return true
}
