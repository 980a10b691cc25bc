package pgoutbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/pgoutbox"
)

// BenchmarkRelay measures a relay's throughput from a table of b.N rows into
// a bus with one actor subscribed, in events/s, and beside it the same
// events published to the bus by a loop, without the database, and the
// relay alone, publishing to a function that only counts.
func BenchmarkRelay(b *testing.B) {
	for _, batch := range []int{pgoutbox.DefaultBatchSize, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			o := filled(b)
			runIntoActor(b, func(ctx context.Context, bs *bus.Bus) error {
				r := newRelay(b, o, pgoutbox.ToBus[event](bs), pgoutbox.WithBatchSize(batch))
				return r.Run(ctx)
			})
		})
	}
	b.Run("alone", func(b *testing.B) {
		b.ReportAllocs()
		o := filled(b)
		relayed := make(chan struct{})
		n := 0
		r := newRelay(b, o, func(_ context.Context, e event) error {
			if n++; n == b.N {
				close(relayed)
			}
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.ResetTimer()
		began := time.Now()
		go func() { done <- r.Run(ctx) }()
		<-relayed
		elapsed := time.Since(began)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		cancel()
		<-done
	})
	b.Run("baseline=bus only", func(b *testing.B) {
		runIntoActor(b, func(ctx context.Context, bs *bus.Bus) error {
			for n := range b.N {
				if err := bus.Publish(ctx, bs, event{Key: "k", N: n}); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// filled returns an outbox with b.N rows of key "k", filled in one
// statement: the benchmarks measure the relay, not the writes.
func filled(b *testing.B) *pgoutbox.Outbox[event] {
	db := newDB(b)
	o := db.outbox()
	if _, err := db.conn.Exec(context.Background(), "INSERT INTO "+db.schema+`.outbox (key, payload)
SELECT 'k', convert_to(json_build_object('Key', 'k', 'N', g)::text, 'UTF8') FROM generate_series(0, $1 - 1) AS g`, b.N); err != nil {
		b.Fatal(err)
	}
	return o
}

// runIntoActor starts a bus with one actor subscribed, runs feed to
// publish b.N events to it, and reports the rate once the actor has handled
// them all. feed returns when ctx ends, if not before.
func runIntoActor(b *testing.B, feed func(ctx context.Context, bs *bus.Bus) error) {
	b.ReportAllocs()
	bs := bus.New(bus.WithLogger(quiet))
	handled := make(chan struct{})
	n := 0
	a := actor.New("sink", func(ctx context.Context, e event) error {
		if n != e.N {
			b.Errorf("handled N=%d; want %d", e.N, n)
		}
		if n++; n == b.N {
			close(handled)
		}
		return nil
	}, actor.WithLogger(quiet))
	if _, err := bus.Subscribe(bs, a); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	fed := make(chan error, 1)
	b.ResetTimer()
	began := time.Now()
	go func() { fed <- feed(ctx, bs) }()
	<-handled
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	cancel()
	if err := <-fed; err != nil {
		b.Errorf("feed: %v", err)
	}
	<-done
}

// BenchmarkWrite measures Write inside an open transaction, beside a plain
// INSERT of the same payload (no codec, no notification), and a transaction
// per write, committed: what a request handler pays.
func BenchmarkWrite(b *testing.B) {
	db := newDB(b)
	o := db.outbox()
	ctx := context.Background()
	e := event{Key: "order-42", N: 42}
	payload, _ := json.Marshal(e)
	insert := "INSERT INTO " + db.schema + ".outbox (key, payload) VALUES ($1, $2)"

	inTx := func(b *testing.B, write func(tx pgx.Tx) error) {
		b.ReportAllocs()
		tx, err := db.conn.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback(ctx)
		for b.Loop() {
			if err := write(tx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("Write", func(b *testing.B) {
		inTx(b, func(tx pgx.Tx) error { return o.Write(ctx, tx, e.Key, e) })
	})
	b.Run("baseline=INSERT", func(b *testing.B) {
		inTx(b, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, insert, e.Key, payload); return err })
	})
	b.Run("Write+Commit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx, err := db.conn.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := o.Write(ctx, tx, e.Key, e); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
