package pgoutbox

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// A Relay publishes the rows of an [Outbox] once their transactions have
// committed, oldest first, and removes each row after its publish
// succeeded. It is a supervisor.Runner: run it under the supervisor of the
// program's actors, or on its own.
//
// A Relay keeps one connection of its own, on which it listens for the
// notifications [Outbox.Write] sends. Several relays of one table, in one
// process or several, share the work and keep each key's order (see the
// package documentation).
//
// A Relay is safe for concurrent use, but only one Run of it may be active at
// a time; it may be run again after Run returned. It must not be copied.
type Relay[E any] struct {
	outbox  *Outbox[E]
	conn    *pgx.ConnConfig
	publish func(ctx context.Context, e E) error
	cfg     relayConfig

	running atomic.Bool
	stats   struct {
		relayed, deadLetters, failures, connects atomic.Uint64
	}

	listenSQL, keysSQL, rowsSQL, deleteSQL, deadSQL string
}

// NewRelay returns a relay that connects to dsn and passes each event of o
// to publish, in order per key. A publish that returns an error leaves the
// row in the table, to be published again after a backoff ([WithRetry]);
// events of other keys go on meanwhile. [ToBus] makes a publish function for
// a bus; any function with the same signature (a JetStream export, a call to
// another service) serves as well.
//
// dsn is a PostgreSQL connection string in URL or keyword/value form, as
// pgx.ParseConfig reads it; a malformed one is an error wrapping [ErrDSN].
// NewRelay does not connect: [Relay.Run] does. The connection's
// application_name is "pgoutbox relay" unless dsn sets one. NewRelay panics
// if o or publish is nil.
func NewRelay[E any](dsn string, o *Outbox[E], publish func(ctx context.Context, e E) error, opts ...RelayOption) (*Relay[E], error) {
	if o == nil {
		panic("pgoutbox: NewRelay: nil outbox")
	}
	if publish == nil {
		panic("pgoutbox: NewRelay: nil publish function")
	}
	conn, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDSN, err)
	}
	if conn.RuntimeParams["application_name"] == "" {
		conn.RuntimeParams["application_name"] = "pgoutbox relay"
	}
	t := o.ident
	return &Relay[E]{
		outbox:  o,
		conn:    conn,
		publish: publish,
		cfg:     newRelayConfig(opts),

		listenSQL: `LISTEN ` + pgx.Identifier{o.table}.Sanitize(),
		// The keys of the oldest rows, oldest first, that no other relay
		// holds: each is locked until the transaction ends. The LIMIT stops
		// the scan, and so the locking, after $3 keys. MATERIALIZED keeps
		// the lock out of the CTE: pushed down into the grouping (as
		// PostgreSQL does with a plain subquery), it would lock every key
		// of the head before the LIMIT applies.
		keysSQL: `WITH keys AS MATERIALIZED (
	SELECT key, min(id) AS first FROM (
		SELECT id, key FROM ` + t + ` WHERE dead_letter IS NULL ORDER BY id LIMIT $2
	) AS head GROUP BY key ORDER BY first
)
SELECT key FROM keys WHERE pg_try_advisory_xact_lock($1, hashtext(key)) LIMIT $3`,
		rowsSQL:   `SELECT id, key, payload FROM ` + t + ` WHERE dead_letter IS NULL AND key = ANY($1) ORDER BY id LIMIT $2`,
		deleteSQL: `DELETE FROM ` + t + ` WHERE id = ANY($1)`,
		deadSQL: `UPDATE ` + t + ` AS t SET dead_letter = d.reason
FROM unnest($1::bigint[], $2::text[]) AS d(id, reason) WHERE t.id = d.id`,
	}, nil
}

// RelayStats are a relay's counts since it was made.
type RelayStats struct {
	// Relayed counts the rows published and removed.
	Relayed uint64
	// DeadLetters counts the rows marked as dead letters.
	DeadLetters uint64
	// Failures counts the publishes that returned an error (the rows
	// stayed) and the connections lost or not made.
	Failures uint64
	// Connects counts the connections made.
	Connects uint64
}

// Stats returns the relay's counts. It is safe to call at any time.
func (r *Relay[E]) Stats() RelayStats {
	return RelayStats{
		Relayed:     r.stats.relayed.Load(),
		DeadLetters: r.stats.deadLetters.Load(),
		Failures:    r.stats.failures.Load(),
		Connects:    r.stats.connects.Load(),
	}
}

// finishTimeout bounds how long a relay whose context ended still tries to
// remove the rows it has published, and to close its connection.
const finishTimeout = time.Second

// finishing returns a context that ends finishTimeout after ctx ends: the
// statements that record what was published are not cut short by a stop,
// nor held to a deadline while the relay runs.
func finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var t *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		t = time.AfterFunc(finishTimeout, cancel)
		mu.Unlock()
	})
	return fctx, func() {
		stop()
		mu.Lock()
		if t != nil {
			t.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// ended is a context that has ended, to take the notifications already
// received without waiting for more.
var ended = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// Run relays rows until ctx is done, then returns nil. It connects, listens
// for notifications, and relays whatever is in the table; then it waits for a
// notification, or for the poll interval ([WithPollInterval]), and relays
// again. A lost connection, or one that cannot be made, is logged and made
// again after a backoff ([WithRetry]): Run does not fail because the
// database is away. It returns [ErrAlreadyRunning] if another Run of r is
// active.
//
// When ctx ends during a batch, the publishes not yet made are not made, and
// Run removes the rows already published, within a second, before it
// returns; rows it could not remove are published again by the next relay.
// A publish function that panics ends Run with the panic, its batch undone:
// under a supervisor, which recovers it, the relay is restarted and
// publishes the batch's rows again.
func (r *Relay[E]) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer r.running.Store(false)
	log := r.cfg.log()
	backoff := retry{min: r.cfg.retryMin, max: r.cfg.retryMax}
	lost := false
	for {
		err := r.session(ctx, &backoff, lost)
		if ctx.Err() != nil {
			return nil
		}
		r.stats.failures.Add(1)
		d := backoff.next()
		log.Warn("pgoutbox: relay failed; connecting again", "table", r.outbox.table, "error", err, "retry_in", d)
		lost = true
		if !sleep(ctx, d) {
			return nil
		}
	}
}

// session connects and relays until the connection fails or ctx is done.
func (r *Relay[E]) session(ctx context.Context, backoff *retry, reconnect bool) error {
	conn, err := pgx.ConnectConfig(ctx, r.conn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := finishing(ctx)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, r.listenSQL); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	r.stats.connects.Add(1)
	if reconnect {
		r.cfg.log().Info("pgoutbox: relay connected again", "table", r.outbox.table)
	}
	for {
		more, failed, err := r.batch(ctx, conn)
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		if failed != nil {
			r.stats.failures.Add(1)
			d := backoff.next()
			r.cfg.log().Warn("pgoutbox: publish failed; the row stays", "table", r.outbox.table, "error", failed, "retry_in", d)
			if !sleep(ctx, d) {
				return ctx.Err()
			}
			continue
		}
		backoff.reset()
		if more {
			continue
		}
		if err := r.wait(ctx, conn); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}

// wait returns when a notification came, when the poll interval has passed,
// or with an error when the connection failed or ctx is done.
func (r *Relay[E]) wait(ctx context.Context, conn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, r.cfg.poll)
	defer cancel()
	_, err := conn.WaitForNotification(wctx)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return nil // time to poll
		}
		return err
	}
	// One batch serves every notification received so far: take them
	// all. With a context that has ended, WaitForNotification returns
	// those already received and then an error, without reading.
	for {
		if _, err := conn.WaitForNotification(ended); err != nil {
			return nil
		}
	}
}

// outboxRow is a row taken by a batch.
type outboxRow struct {
	id      int64
	key     string
	payload []byte
}

// batch relays one batch of rows in one transaction: it locks the keys of
// the oldest rows that no other relay holds, reads up to a batch of their
// rows, publishes them in id order, then removes those published and marks
// those that cannot be decoded. A failed publish stops its key for this
// batch, so that no later row of the key overtakes it, and is returned as
// failed; err is a database error. more reports that the batch was full.
func (r *Relay[E]) batch(ctx context.Context, conn *pgx.Conn) (more bool, failed, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, nil, err
	}
	defer func() {
		if err != nil {
			cctx, cancel := finishing(ctx)
			tx.Rollback(cctx)
			cancel()
		}
	}()
	n := r.cfg.batch
	// Locking the keys and reading their rows take two statements: each
	// statement reads a snapshot taken when it starts, and the rows must be
	// read after the locks are held, so that the removals of a relay that
	// held a key until just before are seen.
	keys, err := query(ctx, tx, pgx.RowTo[string], r.keysSQL, r.outbox.lockKey, 4*n, n)
	if err != nil {
		return false, nil, err
	}
	if len(keys) == 0 {
		return false, nil, tx.Rollback(ctx)
	}
	rows, err := query(ctx, tx, scanRow, r.rowsSQL, keys, n)
	if err != nil {
		return false, nil, err
	}

	var (
		done    = make([]int64, 0, len(rows))
		dead    []DeadLetter
		stopped map[string]bool // keys whose publish failed
	)
	for _, row := range rows {
		if stopped[row.key] || ctx.Err() != nil {
			continue
		}
		var e E
		if derr := r.outbox.codec.Decode(row.payload, &e); derr != nil {
			dead = append(dead, DeadLetter{
				Table: r.outbox.table, ID: row.id, Key: row.key, Payload: row.payload,
				Err: fmt.Errorf("%w as %v: %w", ErrDecode, reflect.TypeFor[E](), derr),
			})
			continue
		}
		if perr := r.publish(ctx, e); perr != nil {
			failed = fmt.Errorf("pgoutbox: publish row %d (key %q): %w", row.id, row.key, perr)
			if stopped == nil {
				stopped = map[string]bool{}
			}
			stopped[row.key] = true
			continue
		}
		done = append(done, row.id)
	}

	// What was published is removed even when ctx ended meanwhile: a row
	// left behind is published twice.
	fctx, cancel := finishing(ctx)
	defer cancel()
	if len(done) > 0 {
		if _, err := tx.Exec(fctx, r.deleteSQL, done); err != nil {
			return false, failed, err
		}
	}
	if len(dead) > 0 {
		ids := make([]int64, len(dead))
		reasons := make([]string, len(dead))
		for i, d := range dead {
			ids[i], reasons[i] = d.ID, d.Err.Error()
		}
		if _, err := tx.Exec(fctx, r.deadSQL, ids, reasons); err != nil {
			return false, failed, err
		}
	}
	if err := tx.Commit(fctx); err != nil {
		return false, failed, err
	}
	r.stats.relayed.Add(uint64(len(done)))
	r.stats.deadLetters.Add(uint64(len(dead)))
	for _, d := range dead {
		r.report(d)
	}
	if ctx.Err() != nil {
		return false, failed, ctx.Err()
	}
	return len(rows) == n, failed, nil
}

// report logs a dead letter and hands it to the hook.
func (r *Relay[E]) report(d DeadLetter) {
	r.cfg.log().Error("pgoutbox: dead letter", "table", d.Table, "id", d.ID, "key", d.Key, "error", d.Err)
	if r.cfg.onDeadLetter != nil {
		r.cfg.onDeadLetter(d)
	}
}

// query reads every row of a query into a slice.
func query[T any](ctx context.Context, tx pgx.Tx, fn pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, fn)
}

// scanRow reads an outboxRow.
func scanRow(row pgx.CollectableRow) (outboxRow, error) {
	var o outboxRow
	err := row.Scan(&o.id, &o.key, &o.payload)
	return o, err
}
