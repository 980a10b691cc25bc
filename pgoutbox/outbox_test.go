package pgoutbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/pgoutbox"
)

// Setup may run again, and from several connections at once.
func TestSetupIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox() // once
	if err := o.Setup(context.Background(), db.conn); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	// A new table, set up by three connections at once.
	o2 := pgoutbox.New[event](pgoutbox.WithTable(db.schema + ".Other"))
	var wg sync.WaitGroup
	for range 3 {
		other := newConn(t)
		wg.Go(func() {
			if err := o2.Setup(context.Background(), other); err != nil {
				t.Errorf("concurrent Setup: %v", err)
			}
		})
	}
	wg.Wait()
	db.write(o2, event{Key: "k", N: 1})
	if rows, _ := db.count(o2); rows != 1 {
		t.Errorf("%d rows in %s; want 1", rows, o2.Table())
	}
}

func TestSetupReportsMissingSchema(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := pgoutbox.New[event](pgoutbox.WithTable(db.schema + "_missing.outbox"))
	err := o.Setup(context.Background(), db.conn)
	if err == nil || !strings.Contains(err.Error(), "pgoutbox: Setup "+o.Table()) {
		t.Errorf("Setup in a missing schema: %v; want an error naming the table", err)
	}
}

type unencodable struct{ F func() }

func TestWriteReportsEncodeErrorAndKeepsTx(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ctx := context.Background()
	o := pgoutbox.New[unencodable](pgoutbox.WithTable(db.schema + ".outbox"))
	if err := o.Setup(ctx, db.conn); err != nil {
		t.Fatal(err)
	}
	tx, err := db.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := o.Write(ctx, tx, "k", unencodable{F: func() {}}); !errors.Is(err, pgoutbox.ErrEncode) {
		t.Errorf("Write: %v; want an error wrapping ErrEncode", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("tx after a failed encode: %v; want it usable", err)
	}
}

func TestWriteToMissingTableIsAnError(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ctx := context.Background()
	o := pgoutbox.New[event](pgoutbox.WithTable(db.schema + ".nothere"))
	tx, err := db.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	err = o.Write(ctx, tx, "k", event{})
	if err == nil || !strings.Contains(err.Error(), "pgoutbox: Write to "+o.Table()) {
		t.Errorf("Write: %v; want an error naming the table", err)
	}
}

func TestMisusePanics(t *testing.T) {
	t.Parallel()
	o := pgoutbox.New[event]()
	publish := newSink().publish
	long := strings.Repeat("x", 64)
	tests := []struct {
		name, want string
		f          func()
	}{
		{"empty table", "pgoutbox: WithTable", func() { pgoutbox.WithTable("") }},
		{"empty schema", "pgoutbox: WithTable", func() { pgoutbox.WithTable(".t") }},
		{"empty table part", "pgoutbox: WithTable", func() { pgoutbox.WithTable("s.") }},
		{"three parts", "pgoutbox: WithTable", func() { pgoutbox.WithTable("a.b.c") }},
		{"long name", "pgoutbox: WithTable", func() { pgoutbox.WithTable(long) }},
		{"nil codec", "pgoutbox: WithCodec", func() { pgoutbox.WithCodec(nil) }},
		{"nil logger", "pgoutbox: WithLogger", func() { pgoutbox.WithLogger(nil) }},
		{"nil hook", "pgoutbox: WithDeadLetterHook", func() { pgoutbox.WithDeadLetterHook(nil) }},
		{"zero batch", "pgoutbox: WithBatchSize", func() { pgoutbox.WithBatchSize(0) }},
		{"zero poll", "pgoutbox: WithPollInterval", func() { pgoutbox.WithPollInterval(0) }},
		{"retry max below min", "pgoutbox: WithRetry", func() { pgoutbox.WithRetry(2, 1) }},
		{"nil outbox", "pgoutbox: NewRelay: nil outbox", func() { pgoutbox.NewRelay[event](defaultDSN, nil, publish) }},
		{"nil publish", "pgoutbox: NewRelay: nil publish", func() { pgoutbox.NewRelay(defaultDSN, o, nil) }},
		{"nil bus", "pgoutbox: ToBus: nil bus", func() { pgoutbox.ToBus[event](nil) }},
		{"nil tx", "pgoutbox: Write: nil tx", func() { o.Write(context.Background(), nil, "k", event{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, _ := v.(string); !strings.HasPrefix(s, tt.want) {
					t.Errorf("panic %v; want one starting %q", v, tt.want)
				}
			}()
			tt.f()
		})
	}
}

// pipeCodec is a codec of its own: "N|Key".
type pipeCodec struct{}

func (pipeCodec) Encode(v any) ([]byte, error) {
	e := v.(event)
	return fmt.Appendf(nil, "%d|%s", e.N, e.Key), nil
}

func (pipeCodec) Decode(data []byte, v any) error {
	n, key, ok := strings.Cut(string(data), "|")
	if !ok {
		return errors.New("no separator")
	}
	e := v.(*event)
	e.Key = key
	_, err := fmt.Sscan(n, &e.N)
	return err
}

// The codec given to New encodes in Write and decodes in the relay.
func TestCodecEncodesAndDecodes(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox(pgoutbox.WithCodec(pipeCodec{}))
	db.write(o, event{Key: "k", N: 7})
	var payload string
	if err := db.conn.QueryRow(context.Background(), "SELECT convert_from(payload, 'UTF8') FROM "+db.schema+".outbox").Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if payload != "7|k" {
		t.Errorf("payload %q; want the codec's 7|k", payload)
	}
	s := newSink()
	start(t, newRelay(t, o, s.publish))
	if got := s.await(t, 1); got[0] != (event{Key: "k", N: 7}) {
		t.Errorf("relayed %v; want {k 7}", got[0])
	}
}
