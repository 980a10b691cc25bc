package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// postgres returns a DSN of the tests' PostgreSQL server (TROUPE_POSTGRES,
// or the machine's) whose search_path is a fresh schema, dropped when t
// ends, and a connection to it. It fails t in CI, and skips it elsewhere,
// when the server does not answer.
func postgres(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := os.Getenv("TROUPE_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL at %s does not answer (set TROUPE_POSTGRES to a DSN): %v", dsn, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := make([]byte, 4)
	rand.Read(b)
	schema := "orders_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		conn.Close(ctx)
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, conn
}

func countRows(t *testing.T, conn *pgx.Conn, dsn, table string) int {
	t.Helper()
	schema := dsn[strings.LastIndex(dsn, "search_path=")+len("search_path="):]
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+"."+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// With -db, every order answered 201 is in the orders table, and reaches
// every consumer through the outbox, which is empty once they have.
func TestOutboxStoresAndRelaysOrders(t *testing.T) {
	dsn, conn := postgres(t)
	const n = 30
	cfg := testConfig()
	cfg.DB = dsn
	r := start(t, cfg, nil, nil)
	var accepted []string
	for i := range n {
		status, id := r.post(t, orderJSON(i))
		if status != http.StatusCreated {
			t.Fatalf("order %d: status %d (%s); want 201", i, status, id)
		}
		accepted = append(accepted, id)
	}
	if got := countRows(t, conn, dsn, "orders"); got != n {
		t.Errorf("%d orders stored; want %d", got, n)
	}
	ctx := waitCtx(t)
	for _, c := range consumers {
		if err := r.ledger.Wait(ctx, c, n); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	r.stop(t)
	checkAccounts(t, r.ledger, accepted)
	if got := countRows(t, conn, dsn, "troupe_outbox"); got != 0 {
		t.Errorf("%d rows left in the outbox; want 0", got)
	}
}

// An order ID posted twice is placed once: the second POST is answered 409
// and nothing of it is stored or published.
func TestOutboxDuplicateOrderIs409(t *testing.T) {
	dsn, conn := postgres(t)
	cfg := testConfig()
	cfg.DB = dsn
	r := start(t, cfg, nil, nil)
	order := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"customer":"ada","email":"ada@example.com","items":[{"sku":"mug","qty":1}]}`, id)
	}
	for i, want := range []int{http.StatusCreated, http.StatusConflict} {
		if status, ans := r.post(t, order("web-1")); status != want {
			t.Fatalf("POST %d of web-1: %d (%s); want %d", i+1, status, ans, want)
		}
	}
	// A later order of the same customer, relayed after web-1 (same key):
	// once it is handled, a second web-1 would have been too.
	if status, ans := r.post(t, order("web-2")); status != http.StatusCreated {
		t.Fatalf("POST web-2: %d (%s); want 201", status, ans)
	}
	if status, ans := r.post(t, `{"id":"has space","customer":"a","email":"a@b","items":[{"sku":"mug","qty":1}]}`); status != http.StatusBadRequest {
		t.Errorf("an ID with a space: %d (%s); want 400", status, ans)
	}
	if err := r.ledger.Wait(waitCtx(t), consumerInventory, 2); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if got := countRows(t, conn, dsn, "orders"); got != 2 {
		t.Errorf("%d orders stored; want 2", got)
	}
	if acc := r.ledger.Account(consumerInventory, []string{"web-1", "web-2"}); acc.Handled != 2 || acc.Twice != 0 {
		t.Errorf("inventory: %+v; want web-1 and web-2 handled once each", acc)
	}
}

// The demo runs with -db, and a malformed DSN is a clear error at start.
func TestRunWithDB(t *testing.T) {
	dsn, _ := postgres(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-db", dsn, "-orders", "40", "-email-latency", "0", "-email-timeout", "0", "-email-backoff", "0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run: exit %d; stderr:\n%s", code, stderr.String())
	}
	if out := stdout.String(); strings.Count(out, "every order accounted for") != len(consumers) || strings.Contains(out, "MISMATCH") {
		t.Errorf("summary accounting:\n%s", out)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"-db", "postgres://%zz"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "-db: pgoutbox: malformed DSN") {
		t.Errorf("malformed -db: exit %d, stderr %q; want 1 naming -db and the malformed DSN", code, stderr.String())
	}
}
