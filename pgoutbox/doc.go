// Package pgoutbox is a transactional outbox on PostgreSQL: an event is
// written in the same transaction as the change it announces, and a
// supervised [Relay] publishes it once that transaction has committed.
//
// A service that stores an order and then publishes OrderCreated loses the
// event when it crashes between the two, or publishes an event for an order
// whose transaction then rolled back. With an outbox, the order row and the
// event row commit or roll back together, and the relay does the publishing:
//
//	outbox := pgoutbox.New[OrderCreated]()            // table troupe_outbox, JSON
//	err := outbox.Setup(ctx, pool)                    // CREATE TABLE IF NOT EXISTS
//
//	tx, err := pool.Begin(ctx)
//	_, err = tx.Exec(ctx, "INSERT INTO orders ...")
//	err = outbox.Write(ctx, tx, "orders", OrderCreated{ID: id})
//	err = tx.Commit(ctx)                              // both durable, or neither
//
//	relay, err := pgoutbox.NewRelay(dsn, outbox, pgoutbox.ToBus[OrderCreated](b))
//	sup.Add("outbox", relay)                          // a supervisor.Runner
//
// The destination is any func(ctx, E) error: [ToBus] publishes to a
// [bus.Bus], and a JetStream bridge or a call to another service plugs in
// the same way, e.g.
//
//	func(ctx context.Context, o OrderCreated) error { return jetstream.Publish(ctx, bridge, o) }
//
// where JetStream's de-duplication by message ID (an ID carried by the event)
// stores a row published twice once.
//
// # Guarantees
//
// Durable when committed: once the caller's Commit returns, the event is in
// the table as durably as the rest of the transaction, and will be published
// even if the process dies at once. An event written in a transaction that
// rolls back is never published. A service may answer "created" as soon as
// its transaction committed.
//
// At least once: a relay removes a row in the transaction that follows the
// row's successful publish, so a relay that dies, loses its connection or
// fails to commit between the two publishes the row again later. A publish
// that returns an error leaves the row where it is, to be published again
// after a backoff; nothing is removed before its publish succeeded.
// Consumers that must act once per event de-duplicate, by an ID in the
// event.
//
// In order per key: each event is written under a key ([Outbox.Write]).
// Events of one key are published one at a time, in the order of the rows'
// ids: the order they were written in one transaction, and the commit order
// of transactions that follow one another. (For transactions of one key that
// run concurrently, the order between their events is that of their ids
// among the rows committed when the relay reads them.) A failed publish
// holds back the later events of its key until it succeeds, while the other
// keys go on. The one exception is a dead letter: a row whose payload cannot
// be decoded is skipped, marked and reported, and the rows after it flow.
//
// # Several relays
//
// Any number of relays, in one process or several, may serve one table:
// each row is published by one of them at a time and each key keeps its
// order. A relay works in transactions of up to [DefaultBatchSize] rows
// ([WithBatchSize]): it takes a transaction-scoped advisory lock on each key
// of the oldest rows that no other relay holds (pg_try_advisory_xact_lock,
// keyed by the table and hashtext of the key), reads, publishes and removes
// rows of those keys only, and commits, which releases the locks. Locking
// rows instead, with FOR UPDATE SKIP LOCKED, would let a second relay take
// the rows that follow a locked one of the same key and publish them first;
// locking keys keeps the order and lets relays share the work of different
// keys. So use many keys (a key per order, say) to spread the work, one key
// for a total order. Writers never wait for relays: an insert takes no
// advisory lock. Two keys whose hashes collide are served by one relay at a
// time, which costs parallelism, not correctness. A relay's keys are free
// again when its transaction ends: at its commit, or when the server sees
// its connection gone (a relay cut off by the network holds them until the
// server's TCP keepalive notices).
//
// # Waking up
//
// [Outbox.Write] notifies the channel named after the table in the same
// statement as the insert; PostgreSQL delivers the notification when the
// transaction commits, once per transaction, and never for one that rolls
// back. Each relay listens on its own connection and relays as soon as it is
// notified. It also looks at the table every poll interval
// ([WithPollInterval], [DefaultPollInterval]), for rows inserted by other
// means, and always when it (re)connects, so no row waits for a
// notification that was sent while it was away.
//
// # Failures
//
// A relay that cannot connect, or loses its connection (a restarted server,
// pg_terminate_backend), logs it and connects again after a backoff
// ([WithRetry]); [Relay.Run] ends only with its context. A row whose payload
// the codec cannot decode is a [DeadLetter]: the relay sets the row's
// dead_letter column to the reason, logs it with the row's id, hands it to the
// hook ([WithDeadLetterHook]) and goes on. Such rows stay in the table, never
// relayed, until someone sets dead_letter back to NULL. A malformed DSN is an
// error from [NewRelay] wrapping [ErrDSN].
//
// # Cost
//
// Write is one round trip (the insert and the notification are one
// statement) and one encoding. A relay's batch is five round trips (begin,
// lock keys, read rows, remove, commit) for up to a batch of rows, plus the
// publishes. Rows are deleted once relayed: a busy outbox table is small, and
// autovacuum keeps it so.
//
// # Tests and the example
//
// The tests and the example use the PostgreSQL server at TROUPE_POSTGRES, a
// DSN, or at postgres://postgres@127.0.0.1:5432/test. When it does not
// answer, they fail with CI=true and are skipped otherwise: the tests with
// t.Skip, and the examples by TestMain, which cannot let an example skip
// itself, so it leaves them out of the run (-test.skip) and says so. The
// example is otherwise an ordinary runnable one, with its output checked.
package pgoutbox
