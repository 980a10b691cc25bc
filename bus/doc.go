// Package bus routes typed events into the inboxes of their subscribers,
// usually actors' mailboxes, with a backpressure policy per subscription.
//
// A publisher emits an event and moves on; every subscriber of the event's
// type gets it in its own inbox and handles it on its own goroutine:
//
//	b := bus.New()
//	email := actor.New("email", sendEmail)            // an Inbox[OrderCreated]
//	bus.Subscribe(b, email)                           // Block: wait for room
//	bus.Subscribe(b, analytics, bus.WithPolicy(bus.DropOldest)) // an Inbox[any]
//	err := bus.Publish(ctx, b, OrderCreated{ID: 42})
//	...
//	err = b.Close(ctx)                                // then stop the actors
//
// # Routing
//
// Events are routed by Go type: [Publish][E] reaches the subscriptions made
// with [Subscribe][E] and those to interface types that E implements (a
// subscription to any sees every event). An event published through an
// interface type is routed by its dynamic type. The route of a type is
// computed once, the first time it is published, and recomputed only when a
// subscription that matches it comes or goes; Publish reads the route table
// with one atomic load and holds no lock.
//
// # Backpressure
//
// Each subscription has a [Policy] for a full inbox: [Block] waits for room
// (bounded by the publisher's context and [WithTimeout]), [DropNewest] drops
// the new event, [DropOldest] evicts the oldest queued one. Publish first
// offers the event to every subscription without waiting and only then waits
// for the full Block ones, so a slow subscriber never delays another
// subscriber's delivery. Every event a subscription does not get is counted
// ([Bus.Stats]) and handed to the dead-letter hook ([WithDeadLetterHook], by
// default logged) as a [DeadLetter] with its reason: nothing is lost
// silently. The default log stays bounded under overload: at most one line
// per second per subscription and reason, with the count of events it
// stands for (see [WithLogger]). A subscription that falls behind is reported once, with where it
// was subscribed, to the slow hook ([WithSlowHook]).
//
// An actor's handler that publishes an event routed back into its own full
// mailbox, with the handler's context, gets an error matching
// [github.com/troupe-go/troupe/actor.ErrWouldDeadlock] from Publish
// instead of waiting for itself.
//
// # Lifecycle
//
// Subscribe and [Subscription.Unsubscribe] are safe while events are
// published; once Unsubscribe returns no delivery to the subscription is in
// progress or will start. [Bus.Close] makes later publishes fail with
// [ErrClosed] and ends the deliveries of those under way: once it returns,
// no event is delivered, and every event not delivered is reported. The bus
// never closes or stops an inbox: the inboxes belong to their owners.
//
// The bus delivers to every inbox the same way, through [Inbox] (and
// [Displacer], [Depther]) only: an actor gets no path of its own. Each
// subscription counts the deliveries that begin and end: Unsubscribe and
// Close wait on these two counts, and Delivered is read from them.
//
// # Errors
//
// Bad input (a nil bus or inbox, an invalid option) is returned as an error
// wrapping [ErrInvalid]; a second subscription of the same inbox to the same
// type as [ErrDuplicate]. Only options given to [New] panic, with a message
// starting "bus: ", when given nil.
//
// # Cost
//
// Publish does not allocate for concrete event types: it costs two atomic
// loads and a table lookup to find the route, one atomic load to check that
// the bus is open, and per subscription a non-blocking send and two atomic
// adds (entering and leaving its guard). Delivering to
// subscriptions of interface types converts the event to an interface value
// once per publish, which allocates for non-pointer events. Waiting for room
// in a Block inbox (beyond a few yields) and dropping an event allocate. The
// cost of a publish does not depend on the subscriptions to other types.
//
// [WithMiddleware] wraps every publish (logging, a publish span); the
// context it passes on is the one the inboxes get in Offer and Send, and an
// actor with a propagator (actor.WithPropagator) carries what it holds to
// its handler. Without middleware, a publish costs nothing more.
//
// Package [github.com/troupe-go/troupe/bus/bustest] helps test code that
// uses a bus.
package bus
