package pgoutbox_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/pgoutbox"
	"github.com/troupe-go/troupe/supervisor"
)

type OrderCreated struct {
	ID   int
	Item string
}

// An order and its event are stored in one transaction; a relay, supervised
// beside the email actor, publishes the event to the bus once the
// transaction has committed. The second order 1 fails on the orders table's
// primary key, so its event, written in the same transaction, is never
// published.
func Example() {
	ctx := context.Background()
	dsn := os.Getenv("TROUPE_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test"
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)

	// This example owns its two tables: it starts them afresh and drops
	// them when done.
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS example_orders, example_outbox;
CREATE TABLE example_orders (id int PRIMARY KEY, item text NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP TABLE example_orders, example_outbox")
	outbox := pgoutbox.New[OrderCreated](pgoutbox.WithTable("example_outbox"))
	if err := outbox.Setup(ctx, conn); err != nil {
		log.Fatal(err)
	}

	place := func(o OrderCreated) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "INSERT INTO example_orders (id, item) VALUES ($1, $2)", o.ID, o.Item); err != nil {
			return err
		}
		if err := outbox.Write(ctx, tx, "orders", o); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	for _, o := range []OrderCreated{{1, "book"}, {2, "pen"}, {1, "lamp"}, {3, "ink"}} {
		if err := place(o); err != nil {
			fmt.Printf("order %d (%s) not placed\n", o.ID, o.Item)
		}
	}

	// The consumer side: an actor subscribed to a bus, and the relay.
	b := bus.New()
	emailed := make(chan struct{})
	email := actor.New("email", func(ctx context.Context, o OrderCreated) error {
		fmt.Printf("email: order %d (%s)\n", o.ID, o.Item)
		if o.ID == 3 {
			close(emailed)
		}
		return nil
	})
	if _, err := bus.Subscribe(b, email); err != nil {
		log.Fatal(err)
	}
	relay, err := pgoutbox.NewRelay(dsn, outbox, pgoutbox.ToBus[OrderCreated](b))
	if err != nil {
		log.Fatal(err)
	}
	root := supervisor.New("orders", supervisor.WithLogger(slog.New(slog.DiscardHandler)))
	root.Add("email", email)
	root.Add("outbox", relay)

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- root.Run(ctx) }()
	<-emailed
	cancel()
	fmt.Println("Run:", <-done)
	// Output:
	// order 1 (lamp) not placed
	// email: order 1 (book)
	// email: order 2 (pen)
	// email: order 3 (ink)
	// Run: <nil>
}
