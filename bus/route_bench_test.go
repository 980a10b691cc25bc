package bus

import (
	"reflect"
	"testing"
)

// Types for the lookup benchmarks: a table holds routes of several types,
// as a service's bus does.
type (
	lookupA struct{ N int }
	lookupB struct{ S string }
	lookupC struct{ F float64 }
	lookupD struct{ B bool }
	lookupE []int
	lookupF map[string]int
	lookupG *lookupA
	lookupH chan int
)

var lookupTypes = []reflect.Type{
	reflect.TypeFor[lookupA](), reflect.TypeFor[lookupB](), reflect.TypeFor[lookupC](), reflect.TypeFor[lookupD](),
	reflect.TypeFor[lookupE](), reflect.TypeFor[lookupF](), reflect.TypeFor[lookupG](), reflect.TypeFor[lookupH](),
}

func lookupRoutes() map[reflect.Type]*route {
	routes := make(map[reflect.Type]*route)
	for _, t := range lookupTypes {
		routes[t] = &route{}
	}
	return routes
}

var lookupSink *route

// BenchmarkRouteLookup_Table finds a route as Publish does: by the type
// descriptor's address in the open-addressing table.
func BenchmarkRouteLookup_Table(b *testing.B) {
	b.ReportAllocs()
	tb := newTable(lookupRoutes())
	for b.Loop() {
		lookupSink = tb.lookup(typeKey(reflect.TypeFor[lookupC]()))
	}
	if lookupSink == nil {
		b.Fatal("no route")
	}
}

// BenchmarkRouteLookup_Map is the plain version: a map keyed by
// reflect.Type.
func BenchmarkRouteLookup_Map(b *testing.B) {
	b.ReportAllocs()
	routes := lookupRoutes()
	for b.Loop() {
		lookupSink = routes[reflect.TypeFor[lookupC]()]
	}
	if lookupSink == nil {
		b.Fatal("no route")
	}
}
