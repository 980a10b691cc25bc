package pgoutbox_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// defaultDSN is where the tests find PostgreSQL unless TROUPE_POSTGRES says
// otherwise: the machine's server, trust authentication, database test.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test"

// dsn is the DSN of the tests' server.
var dsn = defaultDSN

// unavailable says why PostgreSQL cannot be used, or is empty.
var unavailable string

func TestMain(m *testing.M) {
	flag.Parse()
	if s := os.Getenv("TROUPE_POSTGRES"); s != "" {
		dsn = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	cancel()
	if err != nil {
		unavailable = fmt.Sprintf("PostgreSQL at %s does not answer (set TROUPE_POSTGRES to a DSN): %v", dsn, err)
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "pgoutbox: CI=true: the tests and examples that need a database fail:", unavailable)
		} else {
			// An Example cannot skip itself: without a server, leave the
			// examples out rather than fail them.
			fmt.Fprintln(os.Stderr, "pgoutbox: skipping the tests and examples that need a database:", unavailable)
			flag.Set("test.skip", "^Example")
		}
	}
	goleak.VerifyTestMain(m, ignorePgxClose)
}

// ignorePgxClose leaves out of goleak's check the goroutine in which pgx
// closes a connection whose query a cancelled context interrupted: it
// tells the server and waits for it to close, on pgx's own 15-second
// deadline, after the call that started it has returned.
var ignorePgxClose = goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgconn.(*PgConn).asyncClose.func1")

// needDB fails t in CI, and skips it elsewhere, when PostgreSQL does not
// answer.
func needDB(t testing.TB) {
	t.Helper()
	if unavailable == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(unavailable)
	}
	t.Skip(unavailable)
}
