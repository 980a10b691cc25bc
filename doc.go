// Package troupe structures long-running services as supervised actors that
// communicate through a typed event bus.
//
// An order service must send an email, update inventory and log analytics
// when an order is placed. Called inline, the three are coupled: when email
// times out the handler hangs and inventory never updates. With troupe the
// handler publishes an OrderCreated event and returns; each consumer is an
// actor with its own mailbox, restarted by a supervisor when it fails, and a
// slow or crashing consumer affects nobody but itself.
//
// # Packages
//
// troupe is three packages, used together or on their own:
//
//   - [github.com/troupe-go/troupe/actor]: an actor owns a bounded mailbox and
//     one goroutine that handles messages one at a time, in order; a handler
//     panic becomes an error with its stack, never a crash of the process;
//     every accepted message is handled or reported as a dead letter. A pool
//     is an actor with N workers.
//   - [github.com/troupe-go/troupe/supervisor]: a supervisor runs actors,
//     servers and other supervisors as a tree, restarting children with the
//     Erlang/OTP strategies, restart types, restart intensity and backoff, and
//     shuts the tree down in order within deadlines.
//   - [github.com/troupe-go/troupe/bus]: producers publish typed Go values;
//     the bus routes each into the mailboxes of the subscribers of its type
//     (or of an interface it implements), with a backpressure policy per
//     subscriber and every dropped event counted and reported.
//
// The dependencies point down only: the bus delivers to anything with an
// actor's Send and Offer, and the supervisor runs anything with
// Run(ctx) error; neither knows the other.
//
// # Sketch
//
//	b := bus.New()
//	email := actor.New("email", sendConfirmation)        // Handler[OrderCreated]
//	stock := actor.New("inventory", reserveStock)        // Handler[OrderCreated]
//	bus.Subscribe(b, email, bus.WithPolicy(bus.DropOldest))
//	bus.Subscribe(b, stock)                              // Block, the default
//
//	root := supervisor.New("orders")
//	root.Add("email", email)
//	root.Add("inventory", stock)
//	go supervisor.RunUntilSignal(ctx, root, 10*time.Second)
//
//	bus.Publish(ctx, b, OrderCreated{ID: 42, SKU: "book"}) // from the HTTP handler
//
// The runnable version is examples/orders: go run ./examples/orders.
package troupe
