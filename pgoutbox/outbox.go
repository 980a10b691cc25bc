package pgoutbox

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/troupe-go/troupe/codec"
)

// An Outbox is a table of events of type E: [Outbox.Write] adds one inside
// the caller's transaction, and a [Relay] made from the Outbox publishes
// them once the transaction has committed. One table holds the events of one
// Outbox: a relay decodes every row as an E. (E may be an interface type when
// the codec knows how to decode into it.)
//
// An Outbox is immutable and safe for concurrent use; make one with [New].
type Outbox[E any] struct {
	table   string // as given to WithTable
	ident   string // table, quoted for SQL
	codec   codec.Codec
	lockKey int32 // first key of the relays' advisory locks

	insertSQL string
}

// New returns the outbox of events of type E, in the table [DefaultTable]
// encoded with [codec.JSON] unless the options say otherwise. It does not touch the
// database: [Outbox.Setup] creates the table.
func New[E any](opts ...Option) *Outbox[E] {
	c := outboxConfig{table: DefaultTable, codec: codec.JSON}
	for _, o := range opts {
		o(&c)
	}
	o := &Outbox[E]{
		table:   c.table,
		ident:   pgx.Identifier(strings.Split(c.table, ".")).Sanitize(),
		codec:   c.codec,
		lockKey: lockKey(c.table),
	}
	// The notification goes with the row: PostgreSQL delivers it when the
	// transaction commits, never if it rolls back, and only once per
	// transaction however many rows it wrote.
	o.insertSQL = `WITH row AS (INSERT INTO ` + o.ident + ` (key, payload) VALUES ($1, $2) RETURNING 1)
SELECT pg_notify($3, '') FROM row`
	return o
}

// lockKey returns the first key of the advisory locks the relays of table
// take, so that outboxes in several tables do not share their locks.
func lockKey(table string) int32 {
	h := fnv.New32a()
	h.Write([]byte("pgoutbox:" + table))
	return int32(h.Sum32())
}

// Table returns the outbox's table name, as given to [WithTable].
func (o *Outbox[E]) Table() string { return o.table }

// A Beginner starts a transaction: a *pgx.Conn, a *pgxpool.Pool, or a
// pgx.Tx (which starts a savepoint).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Setup creates the outbox table and its index unless they exist. It is
// idempotent and safe to call from several processes at once: the creation
// runs in a transaction under an advisory lock of the table. The schema of a
// qualified table name must exist.
//
// The table has the columns id (bigint identity: the relay order), key
// (text: the ordering key), payload (bytea: the encoded event), created_at
// (timestamptz) and dead_letter (text: NULL, or why a relay gave the row
// up), and a partial index of the rows to relay.
func (o *Outbox[E]) Setup(ctx context.Context, db Beginner) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgoutbox: Setup %s: %w", o.table, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	parts := strings.Split(o.table, ".")
	index := pgx.Identifier{parts[len(parts)-1] + "_live"}.Sanitize()
	stmts := []string{
		`SELECT pg_advisory_xact_lock(` + fmt.Sprint(o.lockKey) + `, 0)`,
		`CREATE TABLE IF NOT EXISTS ` + o.ident + ` (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key text NOT NULL,
	payload bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	dead_letter text
)`,
		`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + o.ident + ` (id) WHERE dead_letter IS NULL`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("pgoutbox: Setup %s: %w", o.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgoutbox: Setup %s: %w", o.table, err)
	}
	return nil
}

// Write adds e to the outbox inside tx, under key: the event is relayed if
// and only if tx commits, after it has committed. Events of one key are
// relayed in the order they were written: in one transaction, and across
// transactions that follow one another (see the package documentation for
// concurrent ones). Events of different keys may be relayed in any order,
// by different relays at once. Use one key when every event must
// keep its order, or a key per entity (an order ID) to let several relays
// share the work.
//
// Write costs one round trip: the row is inserted and the relays notified in
// one statement. It returns an error wrapping [ErrEncode] when the codec
// fails (nothing is written; tx is still usable), or the database's error,
// which aborts tx as any failed statement does. It panics if tx is nil.
func (o *Outbox[E]) Write(ctx context.Context, tx pgx.Tx, key string, e E) error {
	if tx == nil {
		panic("pgoutbox: Write: nil tx")
	}
	payload, err := o.codec.Encode(e)
	if err != nil {
		return fmt.Errorf("%w: %T: %w", ErrEncode, e, err)
	}
	if _, err := tx.Exec(ctx, o.insertSQL, key, payload, o.table); err != nil {
		return fmt.Errorf("pgoutbox: Write to %s: %w", o.table, err)
	}
	return nil
}
