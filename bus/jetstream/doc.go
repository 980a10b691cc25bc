// Package jetstream bridges troupe's typed events to NATS JetStream, so that
// the same events and the same supervised actors work across processes and
// machines, with at-least-once delivery and nothing lost on a crash.
//
// A [Bridge] names a stream and says how events map to it: an event of Go
// type OrderCreated is published to the subject "<prefix>.OrderCreated"
// (see [WithPrefix], [WithSubject], [WithTypeName]), encoded by a [codec.Codec]
// ([codec.JSON] by default), with a [TypeHeader] naming its type and a Nats-Msg-Id
// for JetStream's de-duplication. An [Exporter] publishes events from a
// local bus; an [Import] feeds the events of a durable consumer to a
// handler run as an actor, or re-publishes them on a local bus. Both are
// supervisor Runners:
//
//	br, err := jetstream.Connect(nats.DefaultURL, jetstream.WithStream("ORDERS"))
//	x := jetstream.NewExporter("export", br)
//	_, err = jetstream.Export[OrderCreated](b, x) // b is the local *bus.Bus
//	email := jetstream.NewImport("email", br, sendEmail)
//
//	root := supervisor.New("root")
//	root.Add("nats", br)       // first started, last stopped: closes the connection
//	root.Add("email", email)   // imports before exporters: stopped after them
//	root.Add("export", x)
//	err = supervisor.RunUntilSignal(ctx, root, 30*time.Second)
//
// # Export
//
// [Export] subscribes the exporter to a local bus for one event type:
// every event of that type published there is exported too. Underneath,
// [NewInbox] returns the exporter's [Inbox] for the type, which can be
// given to anything that sends events. The inbox encodes the event on the
// publisher's goroutine and queues it; the exporter's actor
// publishes queued events in order and waits for each JetStream ack,
// retrying with backoff ([WithPublishAttempts], [WithBackoff]). The message
// ID is taken from the event's EventID method ([Identified]) or generated
// once when the event is queued, and reused on every retry, so a publish
// whose ack was lost and that is retried is stored once: the stream's
// duplicate window ([WithDuplicateWindow]) must cover the retry horizon.
// Only attempts made while the connection is up count: during a broker
// outage the exporter waits, so an outage makes no dead letters. An event
// not acknowledged after its last attempt is reported to the dead-letter
// hook ([WithDeadLetterHook]) with [ErrPublish], and also [ErrMaybeStored]
// when an attempt's ack did not come in time. [Publish] is the synchronous
// path, for a caller that must know before it answers (an HTTP handler
// answering 201 only for a stored order): it returns the error instead.
//
// # Broker faults
//
// [Connect] does not wait for the broker: the connection is made, and made
// again after a disconnection, in the background, with backoff, and logged.
// It buffers no publish while disconnected, so a publish that failed then
// was never sent. A publish that finds no stream makes it again; an import
// whose pulls fail, or whose consumer the server lost, makes the stream and
// its consumer again (see [Import]).
//
// # Import
//
// An [Import] pulls from a durable consumer whose name is explicit and
// stable, so a restarted process resumes where the last one stopped. A
// message is acked only after the handler returned nil. A handler error or
// panic is a failure of that message, never of the import: by default the
// message is tried again in place after a backoff, before any later
// message, so order holds through retries ([WithUnordered] naks it with a
// delay instead and goes on). After [WithMaxDeliver] failed attempts it is
// terminated and reported as a [DeadLetter], optionally copied to a subject
// of its own ([WithDeadLetterSubject]). An undecodable payload or a message
// of another type is terminated and reported with its raw bytes at once.
// The import pulls only as much as its mailbox can take and reports every
// message it holds in progress, so that a slow worker's queue is never
// delivered to another worker. The consumer is created, or updated when its
// settings differ from the options, and made again when the server lost it.
//
// [NewImportToBus] re-publishes the imported events on a local bus instead
// of handing them to one handler, so the subscribers of a process that only
// consumes are wired as if the events were published there:
//
//	workers := jetstream.NewImportToBus[OrderCreated]("workers", br, b)
//
// Its messages are acked once the bus accepted the event (delivered, or
// dropped and reported by a subscription's policy), not once the
// subscribers handled it: a consumer that must survive a crash of its own
// process imports with [NewImport] and its own handler.
//
// # Loops
//
// A bus must never both export a type and receive re-published imports of
// it: every imported event would be exported again as a new message and
// come back, forever. The package refuses such a loop with [ErrLoop]: from
// [Export] when an import made by NewImportToBus publishes that type (or
// one reaching it through an interface) on the bus, and from Run of such an
// import when the bus holds a live subscription of an exporter inbox that
// its events reach.
//
// # Streams
//
// [Bridge.EnsureStream], called by the exporters and imports when they
// start, creates the stream from the options (subjects, retention, max age,
// replicas, storage, duplicate window) or updates it, idempotently; with
// [WithExistingStream] it only requires the stream to exist.
//
// # Shutdown
//
// In a supervisor, children stop in reverse start order, so add them in
// this order: the bridge, the imports, the bus and what publishes on it,
// the exporters; an import made by [NewImportToBus] publishes on its bus,
// so it goes after the bus (and the bus after its subscribers). Then the
// publishers stop first; the exporters publish what is queued; each import stops pulling, hands what it pulled to its mailbox
// and lets the handler finish it (what is left is naked for another
// process); the bridge closes the connection last, and only if it opened
// it ([Connect]): a bridge made by [New] or [NewJetStream] never closes
// the caller's connection.
//
// # Delivery guarantees
//
// Delivery is at least once. A process killed at any point leaves its
// unacked messages to be delivered again after AckWait ([WithAckWait]):
// handlers must be idempotent, keyed by the event's ID. Nothing accepted is
// dropped silently: every event or message given up is reported to the
// dead-letter hook, which logs it by default.
package jetstream
