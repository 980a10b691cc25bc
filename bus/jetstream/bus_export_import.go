package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"weak"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// Export subscribes the inbox of x for events of type E ([NewInbox]) to b,
// so that every event of type E published on b is also published to
// JetStream. The options are those of bus.Subscribe: the subscription's
// default policy, bus.Block, makes a publisher wait for room in the
// exporter's queue rather than lose an event; with a drop policy, the
// dropped events are reported by the bus like any other.
//
// Export returns an error matching [ErrLoop] when an import made by
// [NewImportToBus] re-publishes events of type E (or of a type that
// reaches a subscription to E) onto b: each imported event would be
// exported again. It returns the errors of bus.Subscribe otherwise. It
// panics if x is nil or E has no type name (see [WithTypeName]).
func Export[E any](b *bus.Bus, x *Exporter, opts ...bus.SubscribeOption) (*bus.Subscription, error) {
	in := NewInbox[E](x)
	if b != nil {
		if t, ok := importedInto(b, typeOf[E]()); ok {
			return nil, fmt.Errorf("%w: Export of %v: an import re-publishes %v onto the same bus", ErrLoop, typeOf[E](), t)
		}
	}
	s, err := bus.Subscribe(b, in, opts...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: Export of %v: %w", typeOf[E](), err)
	}
	exportNames.Store(s.Name(), true) // WithName may have renamed it
	return s, nil
}

// NewImportToBus returns an import of the events of type E, through the
// durable consumer named durable, that publishes each one on the local bus
// b instead of handing it to one handler: every subscriber of E on b (and
// of the interfaces E implements) gets the imported events as if they had
// been published in this process.
//
// A message is acked once bus.Publish returned nil: when every subscription
// got the event or dropped it by its policy (a drop is reported by the
// bus's dead-letter hook). So the guarantee ends at the subscribers'
// inboxes: an event queued in an actor's mailbox when the process dies is
// not delivered again. A consumer that must not lose an event to a crash
// should import it with [NewImport] and its own handler. When Publish
// returns an error (a Block subscription timed out or was cancelled, an
// inbox refused the event), the message is naked and delivered again,
// also to the subscriptions that got it the first time: subscribers must
// be idempotent, as with any import. A message imported after b was closed
// is given back unhandled, for another process.
//
// # Loops
//
// Never re-publish imported events onto a bus that also exports their type:
// each event would go back to JetStream as a new message (with a new ID
// unless it is [Identified]) and be imported again, forever. The package
// refuses the loops it can see: [Export] of a type onto a bus that an
// import made by NewImportToBus publishes that type on returns [ErrLoop],
// and so does Run of such an import when its bus holds a live subscription
// of an exporter's [Inbox] that its events reach (made by Export, or by
// bus.Subscribe with the inbox's default name). An exporter inbox renamed
// with bus.WithName and subscribed without Export is not recognised.
//
// NewImportToBus panics like [NewImport], and if b is nil.
func NewImportToBus[E any](durable string, br *Bridge, b *bus.Bus, opts ...ImportOption) *Import[E] {
	if b == nil {
		panic(fmt.Sprintf("jetstream: NewImportToBus(%q): nil bus", durable))
	}
	im := NewImport(durable, br, actor.Handler[E](func(ctx context.Context, e E) error {
		return bus.Publish(ctx, b, e)
	}), opts...)
	im.target = b
	registerImport(b, typeOf[E]())
	return im
}

// checkLoop returns an error matching [ErrLoop] when im publishes onto a
// bus that exports events of its type.
func (im *Import[E]) checkLoop() error {
	if im.target == nil {
		return nil
	}
	t := typeOf[E]()
	for _, s := range im.target.Stats() {
		if _, ok := exportNames.Load(s.Name); ok && reaches(t, s.Type) {
			return fmt.Errorf("%w: import %s re-publishes %v onto a bus whose subscription %q (%s) exports %v",
				ErrLoop, im.durable, t, s.Name, s.Where, s.Type)
		}
	}
	return nil
}

// givesBack reports whether err means that the message could not be handled
// here and must be given back as is, not counted as a failure: an import to
// a bus that was closed.
func (im *Import[E]) givesBack(err error) bool {
	return im.target != nil && errors.Is(err, bus.ErrClosed)
}

// reaches reports whether an event published as type pub is delivered to a
// subscription to type sub.
func reaches(pub, sub reflect.Type) bool {
	return pub == sub || sub.Kind() == reflect.Interface && pub.Implements(sub)
}

// exportNames holds the names of the subscriptions of exporter inboxes: the
// default names of [NewInbox] and those given to [Export]. An import to a
// bus looks for them among the bus's subscriptions.
var exportNames sync.Map // string → true

// imports records, per bus, the event types that imports made by
// [NewImportToBus] publish on it. A bus is held weakly: its entry goes when
// it is garbage collected.
var imports struct {
	mu    sync.Mutex
	types map[weak.Pointer[bus.Bus]][]reflect.Type
}

func registerImport(b *bus.Bus, t reflect.Type) {
	k := weak.Make(b)
	imports.mu.Lock()
	defer imports.mu.Unlock()
	if imports.types == nil {
		imports.types = map[weak.Pointer[bus.Bus]][]reflect.Type{}
	}
	if _, ok := imports.types[k]; !ok {
		runtime.AddCleanup(b, func(k weak.Pointer[bus.Bus]) {
			imports.mu.Lock()
			delete(imports.types, k)
			imports.mu.Unlock()
		}, k)
	}
	imports.types[k] = append(imports.types[k], t)
}

// importedInto returns a type that an import publishes on b and that
// reaches a subscription to sub.
func importedInto(b *bus.Bus, sub reflect.Type) (reflect.Type, bool) {
	imports.mu.Lock()
	defer imports.mu.Unlock()
	for _, t := range imports.types[weak.Make(b)] {
		if reaches(t, sub) {
			return t, true
		}
	}
	return nil, false
}
