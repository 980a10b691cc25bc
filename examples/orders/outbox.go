package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/pgoutbox"
)

// errDuplicateOrder is returned by [orderStore.place] for an order whose ID
// is already in the orders table; the HTTP handler answers it with 409 and
// nothing is published.
var errDuplicateOrder = errors.New("an order with this ID was already placed")

// orderStore is the durable side of the order handler with -db: each order
// is stored in the orders table and its OrderCreated in the outbox table in
// one transaction, so an answered 201 means both are committed, and a relay
// publishes the event to the bus once committed (at least once: see
// pgoutbox). The outbox key is the customer, the key email is ordered by,
// so several relays would keep each customer's orders in order.
type orderStore struct {
	pool   *pgxpool.Pool
	outbox *pgoutbox.Outbox[OrderCreated]
	relay  *pgoutbox.Relay[OrderCreated]
}

// setupTimeout bounds connecting to the database and creating the tables
// at start.
const setupTimeout = 10 * time.Second

// openOrderStore connects to the database at dsn, creates the orders and
// outbox tables unless they exist, and makes the relay that publishes to b.
// A malformed DSN, or a server that does not answer within setupTimeout, is
// an error naming -db.
func openOrderStore(dsn string, b *bus.Bus, log *slog.Logger) (*orderStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("-db: %w: %w", pgoutbox.ErrDSN, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	s := &orderStore{pool: pool, outbox: pgoutbox.New[OrderCreated]()}
	if err := s.setup(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("-db: %w", err)
	}
	s.relay, err = pgoutbox.NewRelay(dsn, s.outbox, pgoutbox.ToBus[OrderCreated](b), pgoutbox.WithLogger(log))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("-db: %w", err)
	}
	return s, nil
}

func (s *orderStore) setup(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS orders (
	id text PRIMARY KEY,
	customer text NOT NULL,
	email text NOT NULL,
	items jsonb NOT NULL,
	created_at timestamptz NOT NULL
)`); err != nil {
		return err
	}
	return s.outbox.Setup(ctx, s.pool)
}

// place stores o and its OrderCreated in one transaction. It returns an
// error matching errDuplicateOrder, having written nothing, when an order
// with o's ID exists.
func (s *orderStore) place(ctx context.Context, o OrderCreated) error {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO orders (id, customer, email, items, created_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, o.ID, o.Customer, o.Email, items, o.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: %s", errDuplicateOrder, o.ID)
		}
		return s.outbox.Write(ctx, tx, o.Customer, o)
	})
}

// close closes the pool; the relay's own connection closes with its Run.
func (s *orderStore) close() { s.pool.Close() }
