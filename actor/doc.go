// Package actor runs a handler over a bounded mailbox on one goroutine: the
// unit of work that troupe supervises and that the bus delivers events to.
//
// An [Actor] owns a bounded mailbox of messages of one type and handles them
// one at a time, in order, on the goroutine that calls [Actor.Run]:
//
//	a := actor.New("email", func(ctx context.Context, o OrderCreated) error {
//		return sendEmail(ctx, o)
//	})
//	go a.Run(ctx)                  // usually: supervisor.Add("email", a)
//	err := a.Send(ctx, order)      // waits for room, bounded by ctx
//	err = a.TrySend(order)         // never waits: ErrMailboxFull
//
// # Failure
//
// A handler's returned error is reported to the error hook ([WithErrorHook],
// by default logged, at most one line per second with the count of errors
// it stands for: see [WithLogger]) and the actor goes on. A handler panic is recovered with
// its stack and ends Run with a [*PanicError], so that a supervisor can restart
// the actor; the mailbox belongs to the Actor, not to one Run, and the messages
// queued before the crash are handled after the restart. The message in hand
// is retried up to [WithMaxRetries] times and then reported as a dead letter:
// a poison message never crash-loops the actor.
//
// # Nothing lost silently
//
// Every message a send accepted is either handed to the handler or reported
// to the dead-letter hook ([WithDeadLetterHook]) as a [DeadLetter] with a
// reason. When Run's context ends, the actor refuses new messages
// ([ErrStopped]), handles what is queued for up to the drain timeout
// ([WithDrainTimeout]) and reports the rest.
//
// # Programmer errors and runtime errors
//
// Misuse that no retry can fix (an empty name, a nil handler, a mailbox size
// below one, a negative timeout) panics at construction with a message naming
// the argument, as net/http does for a nil handler. Conditions of a running
// program (a full mailbox, a stopped actor, an ended context) are returned as
// errors that match the Err values of this package with errors.Is.
//
// # Request and reply
//
// [Ask] sends a [Request] and waits for the handler's [Request.Reply].
//
// # Pools
//
// A [Pool] is an actor whose mailbox is drained by several workers, to bound
// the concurrency of heavy handlers. It has the same Send, TrySend, Displace,
// Run and Stats, works with [Ask] and as a bus inbox:
//
//	p := actor.NewPool("email", 4, sendEmail,
//		actor.KeyByString(func(o OrderCreated) string { return o.Customer }))
//	sup.Add("email", p)            // a Pool is a supervisor.Runner
//	p.SetWorkers(8)                // at run time; nothing queued is lost
//
// An actor and a pool are the same mailbox and the same handler loop: an
// actor runs one loop on Run's goroutine, a pool one per worker. Without a
// key, any idle worker takes the next message and messages of different
// workers are handled in no particular order. With [KeyBy] or
// [KeyByString], one key's messages are handled one at a time, in the
// order they were accepted, by whichever worker holds that key's earlier
// messages; a key nobody holds goes to any free worker, so a worker stuck
// on one key holds up only that key (and the keys it already held). The
// pool-only options are [PoolOption]s, which [New] does not accept.
//
// A worker whose handler panics is restarted at once in place while the
// others go on, and the message in hand is retried and then reported as for
// an actor ([WithMaxRetries]). More than a few worker panics within a window
// ([WithWorkerRestarts]) end Run with the last [*PanicError], so that the
// pool's supervisor counts them against its intensity like any child's
// failures. On cancellation all workers drain the mailbox within the drain
// timeout; a worker still in its handler after it (and [StuckGrace]) is
// named in a [*StuckWorkersError] and left behind, so that a handler that
// ignores its context does not hold up the end of Run. [Pool.Stats] adds
// the busy workers and each worker's counters.
//
// # Fresh state on restart
//
// [New] takes a handler; state kept in its closure survives a panic and
// the restart that follows, possibly half-updated. [NewFrom] takes a
// factory instead, called at the start of every Run, so that a restart
// begins from fresh state, as an Erlang process restarts from init:
//
//	a := actor.NewFrom("counter", func() actor.Handler[Event] {
//		count := 0 // fresh at every Run
//		return func(ctx context.Context, e Event) error { count++; return nil }
//	})
//
// Use New for stateless handlers, or when state must survive a crash (it
// then lives outside the closure, in a store); use NewFrom for state a
// crash may corrupt.
//
// # Keyed actors
//
// A [Keyed] holds one actor per key (a customer, an order, a device),
// created by the first message for its key with a handler its factory
// makes for that key:
//
//	orders := actor.NewKeyed("orders", newOrder, actor.WithIdleTimeout(time.Hour))
//	sup.Add("orders", orders)       // a Keyed is a supervisor.Runner
//	err := orders.Send(ctx, id, m)  // or TrySend, Ask(ctx, orders.To(id), req)
//	bus.Subscribe(b, orders.By(func(e OrderCreated) string { return e.ID }))
//
// Each key's messages are handled one at a time, in send order, and keys
// never wait for each other: a key stuck in its handler holds up no
// other. A key's actor is the same mailbox and loop as an [Actor]'s; it
// runs only while it has messages, on one of a few runner goroutines the
// keys share, so an idle key costs well under a kilobyte and no goroutine.
// A key that panics restarts from its factory with its queue kept; one
// that panics too often is removed ([WithKeyRestarts]) and only too many
// panics in all fail the Keyed's Run ([WithKeyedRestarts]). Idle keys are
// passivated ([WithIdleTimeout]) and their number is bounded
// ([WithMaxKeys]). [Keyed.Stats], [Keyed.Keys] and [Keyed.KeyStats] show
// them.
//
// # Which one
//
// An [Actor] for one stream of work handled in order (a projection, an
// audit log); a [Pool] to bound the concurrency of heavy, mostly stateless
// work (sending email, calling an API), keyed when one key's messages must
// not overlap; a [Keyed] when each key has its own state or lifecycle (an
// order's saga, a customer's session), or when one key's slowness must
// hold up no other key: a pool's keys share its workers, a Keyed's do not.
//
// # Timers
//
// [Actor.SendAfter] and [Actor.SendEvery] (and those of a [Pool] and a
// [Keyed]) put a message in the mailbox after a delay, once or
// periodically; from inside a handler, [After] and [Every] schedule a
// message to the handler's own actor or key, such as a saga's timeout.
// A timer is cancelled when its actor stops. [WithClock] injects the
// clock, for tests (see package actortest).
//
// # Observability
//
// [Actor.Stats] reports the mailbox depth, how long its oldest message has
// waited and the handled, failed, panic and dead-letter counts. The goroutine
// running an actor carries the pprof label "troupe.actor" (and, under a
// supervisor, "troupe.path"), so a goroutine profile tells actors apart; a
// pool's workers add "troupe.worker" with the worker's number.
//
// A [Propagator] ([WithPropagator]) carries what a sender's context holds
// (a trace's span context) with the message to the handler's context, and
// [WithMiddleware] wraps the handler in middleware of your own (logging,
// timing, authorisation) or OpenTelemetry's: the module troupeotel
// provides both. Without them, a message costs nothing more.
//
// # Cost
//
// Send, TrySend and handling a message do not allocate, in an actor or a
// pool. A send takes the mailbox lock once; handling a message costs the
// loop one atomic add, and taking messages one lock: up to 32 at a time for
// an actor, one at a time for a pool's worker, so that a worker never holds
// messages another idle worker could handle. A clock is
// read, outside the lock, for one accepted message in 16, to estimate the
// oldest message's wait.
package actor
