package jetstream

import (
	"fmt"
	"reflect"
)

// Header names set on every exported message.
const (
	// TypeHeader names the event's type (the Go type name unless
	// [WithTypeName] says otherwise). An import refuses a message whose
	// TypeHeader names another type; a message without it is decoded as
	// the import's type.
	TypeHeader = "Troupe-Type"
	// MsgIDHeader is JetStream's de-duplication header, set from the
	// event's EventID method or generated once when the event is exported.
	MsgIDHeader = "Nats-Msg-Id"
	// ReasonHeader carries, on a message copied to a dead-letter subject,
	// why it was given up.
	ReasonHeader = "Troupe-Dead-Reason"
)

// An Identified event carries its own ID, used as the message's
// Nats-Msg-Id so that JetStream drops a republished copy. Events without one
// get an ID generated once, when they are exported, and reused on every
// retry.
type Identified interface {
	EventID() string
}

// route is where events of one type go.
type route struct {
	name, subject string
}

// routeOf returns the route of events of type t. It panics, naming fn, if t
// has no name and none was given.
func (b *Bridge) routeOf(fn string, t reflect.Type) route {
	name, ok := b.cfg.names[t]
	if !ok {
		n := t
		if n.Kind() == reflect.Pointer {
			n = n.Elem()
		}
		name = n.Name()
		if name == "" {
			panic(fmt.Sprintf("jetstream: %s: type %v has no name; name it with WithTypeName", fn, t))
		}
		checkToken(fn, "type name", name)
	}
	subject, ok := b.cfg.subjectT[t]
	if !ok {
		subject = b.cfg.prefix + "." + name
	}
	return route{name: name, subject: subject}
}

// typeOf is reflect.TypeFor, short.
func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
