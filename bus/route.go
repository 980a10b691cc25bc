package bus

import (
	"maps"
	"math/bits"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// A table maps each event type published so far to its route. A table is
// never modified once stored in Bus.table: the first publish of a type
// stores a new one (copy on write), so that Publish reads it with one
// atomic load and no lock. Subscribe and Unsubscribe change the routes, not
// the table.
type table struct {
	routes map[reflect.Type]*route
	// slots index routes by the address of the type's descriptor, in an
	// open-addressing table at most half full: Publish finds its route
	// with a multiplication and a pointer comparison or two, where the
	// map's lookup would hash an interface value (see
	// BenchmarkRouteLookup_Table and BenchmarkRouteLookup_Map).
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
// to, computed when the type is first published and kept up to date by
// Subscribe and Unsubscribe.
type route struct {
	// dynamic is set when the published type is an interface type: each
	// event is then routed by its dynamic type.
	dynamic bool
	// subs is what a publish along the route reads, with one atomic load.
	subs atomic.Pointer[routeSubs]
}

// routeSubs are the subscriptions of a route at one moment; a new one is
// stored, under Bus.mu, when one comes or goes.
//
// Subscribe appends to the slices rather than copying them, so that n
// subscriptions of one type cost O(n) in all, not O(n²): a publish reads
// only the elements within the length of the slices it loaded, and
// appending writes beyond it. Unsubscribe builds new slices, so that no
// slice a publish may hold is ever overwritten.
type routeSubs struct {
	// direct holds the subscriptions to exactly the route's type T, as a
	// []*typed[T], so that Publish[T] delivers without boxing; nil if none.
	direct any
	// boxed holds the subscriptions to interface types that T implements:
	// they are handed the event as an interface value.
	boxed []deliverer
	// all holds direct's and boxed's subscriptions in the order they were
	// made, for events of type T published through an interface type.
	all []deliverer
}

// probe returns the route of events of type t if it is in the first slot
// of the table probed, or nil. Small enough to be inlined, it saves
// Publish a call in the common case; routeOf does the rest.
func (b *Bus) probe(t reflect.Type) *route {
	tb, k := b.table.Load(), typeKey(t)
	if s := &tb.slots[tb.hash(k)]; s.key == k {
		return s.r
	}
	return nil
}

// routeOf returns the route of events of type t, computing it when t is
// published for the first time. It returns nil if the bus is closed.
func (b *Bus) routeOf(t reflect.Type) *route {
	if r := b.table.Load().lookup(typeKey(t)); r != nil {
		return r
	}
	return b.addRoute(t)
}

// addRoute returns the route of events of type t, computing it if t has
// none yet, or nil if the bus is closed.
func (b *Bus) addRoute(t reflect.Type) *route {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil
	}
	old := b.table.Load()
	if r := old.routes[t]; r != nil {
		return r
	}
	r := b.buildRoute(t)
	routes := maps.Clone(old.routes)
	routes[t] = r
	b.table.Store(newTable(routes))
	return r
}

// buildRoute computes the route of type t from the subscriptions. b.mu is
// held.
func (b *Bus) buildRoute(t reflect.Type) *route {
	r := &route{dynamic: t.Kind() == reflect.Interface}
	rs := &routeSubs{}
	r.subs.Store(rs)
	if r.dynamic {
		return r
	}
	direct := b.byType[t]
	var boxed []*Subscription
	for _, s := range b.ifaces {
		if t.Implements(s.typ) {
			boxed = append(boxed, s)
		}
	}
	for _, s := range direct {
		rs.direct = s.d.appendTo(rs.direct)
	}
	for _, s := range boxed {
		rs.boxed = append(rs.boxed, s.d)
	}
	// Both lists are in the order the subscriptions were made: merge them.
	for i, j := 0, 0; i < len(direct) || j < len(boxed); {
		if j == len(boxed) || i < len(direct) && direct[i].seq < boxed[j].seq {
			rs.all = append(rs.all, direct[i].d)
			i++
		} else {
			rs.all = append(rs.all, boxed[j].d)
			j++
		}
	}
	return r
}

// routesTo calls f with each route computed so far that delivers to a
// subscription of type typ, and whether it hands it boxed events. b.mu is
// held.
func (b *Bus) routesTo(typ reflect.Type, f func(r *route, boxed bool)) {
	routes := b.table.Load().routes
	if typ.Kind() != reflect.Interface {
		if r := routes[typ]; r != nil {
			f(r, false)
		}
		return
	}
	for t, r := range routes {
		if !r.dynamic && t.Implements(typ) {
			f(r, true)
		}
	}
}

// add appends s to the route. b.mu is held.
func (r *route) add(s *Subscription, boxed bool) {
	cur := r.subs.Load()
	next := *cur
	if boxed {
		next.boxed = append(cur.boxed, s.d)
	} else {
		next.direct = s.d.appendTo(cur.direct)
	}
	next.all = append(cur.all, s.d)
	r.subs.Store(&next)
}

// remove removes s from the route, in new slices. b.mu is held.
func (r *route) remove(s *Subscription, boxed bool) {
	cur := r.subs.Load()
	next := *cur
	if boxed {
		next.boxed = without(cur.boxed, s.d)
	} else {
		next.direct = s.d.removeFrom(cur.direct)
	}
	next.all = without(cur.all, s.d)
	r.subs.Store(&next)
}

// without returns a new slice of the deliverers of l but d.
func without(l []deliverer, d deliverer) []deliverer {
	out := make([]deliverer, 0, len(l))
	for _, x := range l {
		if x != d {
			out = append(out, x)
		}
	}
	return out
}
