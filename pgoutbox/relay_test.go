package pgoutbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/pgoutbox"
)

// fast retries at once, so that tests of failures take no time.
var fast = pgoutbox.WithRetry(time.Millisecond, 5*time.Millisecond)

func newRelay(t testing.TB, o *pgoutbox.Outbox[event], publish func(context.Context, event) error, opts ...pgoutbox.RelayOption) *pgoutbox.Relay[event] {
	t.Helper()
	return newRelayAt(t, dsn, o, publish, opts...)
}

func newRelayAt(t testing.TB, dsn string, o *pgoutbox.Outbox[event], publish func(context.Context, event) error, opts ...pgoutbox.RelayOption) *pgoutbox.Relay[event] {
	t.Helper()
	opts = append([]pgoutbox.RelayOption{pgoutbox.WithLogger(quiet), fast}, opts...)
	r, err := pgoutbox.NewRelay(dsn, o, publish, opts...)
	if err != nil {
		t.Fatalf("NewRelay: %v", err)
	}
	return r
}

func events(key string, from, to int) []event {
	var es []event
	for n := from; n < to; n++ {
		es = append(es, event{Key: key, N: n})
	}
	return es
}

func TestRolledBackWriteIsNeverRelayed(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	writeTx(t, db.conn, o, false, event{Key: "k", N: 1})
	db.write(o, event{Key: "k", N: 2})

	s := newSink()
	stop := start(t, newRelay(t, o, s.publish))
	got := s.await(t, 1)
	stop()
	if want := []event{{Key: "k", N: 2}}; !slices.Equal(got, want) || !slices.Equal(s.all(), want) {
		t.Errorf("relayed %v; want only the committed %v", s.all(), want)
	}
	if rows, _ := db.count(o); rows != 0 {
		t.Errorf("%d rows left in the table; want 0", rows)
	}
}

func TestCommittedRowsAreRelayedOnceInOrder(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	// Several transactions, some written before the relay starts and some
	// after, more rows than a batch.
	const perTx, txs = 70, 6
	for i := range txs / 2 {
		db.write(o, events("k", i*perTx, (i+1)*perTx)...)
	}
	s := newSink()
	r := newRelay(t, o, s.publish, pgoutbox.WithBatchSize(50))
	stop := start(t, r)
	for i := txs / 2; i < txs; i++ {
		db.write(o, events("k", i*perTx, (i+1)*perTx)...)
	}
	s.await(t, perTx*txs)
	stop()

	if got, want := s.all(), events("k", 0, perTx*txs); !slices.Equal(got, want) {
		t.Errorf("relayed %d events %v...; want %d in order", len(got), got[:min(len(got), 10)], len(want))
	}
	if rows, _ := db.count(o); rows != 0 {
		t.Errorf("%d rows left in the table; want 0", rows)
	}
	if st := r.Stats(); st.Relayed != perTx*txs {
		t.Errorf("Stats().Relayed = %d; want %d", st.Relayed, perTx*txs)
	}
}

// Several relays on one table, in one process here but each with its own
// connection as they would in several: every row is published once, and
// each key's rows in order, while writers keep adding rows.
func TestSeveralRelaysRelayEachRowOnceInKeyOrder(t *testing.T) {
	t.Parallel()
	for _, relays := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d relays", relays), func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			o := db.outbox()
			const keys, perKey, perTx = 6, 150, 10
			s := newSink()
			rs := make([]*pgoutbox.Relay[event], relays)
			for i := range rs {
				rs[i] = newRelay(t, o, s.publish, pgoutbox.WithBatchSize(7))
			}
			stops := make([]func(), relays)
			for i, r := range rs {
				stops[i] = start(t, r)
			}
			// Writers, one per key, on connections of their own.
			var wg sync.WaitGroup
			for k := range keys {
				key := fmt.Sprintf("key%d", k)
				wg.Go(func() {
					conn, err := pgx.Connect(context.Background(), dsn)
					if err != nil {
						t.Errorf("connect: %v", err)
						return
					}
					defer conn.Close(context.Background())
					for n := 0; n < perKey; n += perTx {
						writeTx(t, conn, o, true, events(key, n, n+perTx)...)
					}
				})
			}
			wg.Wait()
			s.await(t, keys*perKey)
			for _, stop := range stops {
				stop()
			}

			got := s.all()
			if len(got) != keys*perKey {
				t.Errorf("relayed %d events; want %d, each once", len(got), keys*perKey)
			}
			next := map[string]int{}
			for _, e := range got {
				if e.N != next[e.Key] {
					t.Fatalf("key %s: relayed %d after %d; want each key's events once, in order", e.Key, e.N, next[e.Key]-1)
				}
				next[e.Key]++
			}
			var total uint64
			for i, r := range rs {
				st := r.Stats()
				total += st.Relayed
				t.Logf("relay %d: %+v", i, st)
			}
			if total != keys*perKey {
				t.Errorf("relays' Stats().Relayed add up to %d; want %d", total, keys*perKey)
			}
			if rows, _ := db.count(o); rows != 0 {
				t.Errorf("%d rows left in the table; want 0", rows)
			}
		})
	}
}

// A relay locks no more keys than its batch serves, so that other relays can
// take the rest: with a batch of one row, one key, while the publish waits.
func TestRelayLocksOnlyTheKeysItServes(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "a", N: 0}, event{Key: "b", N: 0}, event{Key: "c", N: 0})
	app := db.schema
	publishing := make(chan event)
	release := make(chan struct{})
	r := newRelayAt(t, dsn+"?application_name="+app, o, func(ctx context.Context, e event) error {
		publishing <- e
		<-release
		return nil
	}, pgoutbox.WithBatchSize(1))
	stop := start(t, r)
	if e := <-publishing; e.Key != "a" {
		t.Errorf("published %v first; want key a, the oldest", e)
	}
	var locks int
	if err := db.conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = $1)`, app).Scan(&locks); err != nil {
		t.Fatal(err)
	}
	if locks != 1 {
		t.Errorf("the relay holds %d advisory locks while it publishes a batch of one row; want 1", locks)
	}
	close(release)
	for range 2 {
		<-publishing
	}
	stop()
}

// With a poll interval of an hour, only the notification of the commit can
// wake the relay for a row written after it went idle.
func TestNotifyWakesIdleRelay(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "k", N: 1})
	s := newSink()
	r := newRelay(t, o, s.publish, pgoutbox.WithPollInterval(time.Hour))
	start(t, r)
	s.await(t, 1) // the first batch, made when the relay connected

	for n := 2; n <= 4; n++ {
		db.write(o, event{Key: "k", N: n})
		if got := s.await(t, 1); got[0].N != n {
			t.Fatalf("relayed %v; want N=%d", got[0], n)
		}
	}
	if st := r.Stats(); st.Connects != 1 {
		t.Errorf("Stats().Connects = %d; want 1: the rows came by notification, not by reconnecting", st.Connects)
	}
}

// The poll interval serves rows inserted without a notification.
func TestPollFindsRowsWrittenWithoutNotify(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	s := newSink()
	start(t, newRelay(t, o, s.publish, pgoutbox.WithPollInterval(10*time.Millisecond)))
	payload := `{"Key":"k","N":7}`
	if _, err := db.conn.Exec(context.Background(),
		"INSERT INTO "+db.schema+".outbox (key, payload) VALUES ('k', convert_to($1, 'UTF8'))", payload); err != nil {
		t.Fatal(err)
	}
	if got := s.await(t, 1); got[0] != (event{Key: "k", N: 7}) {
		t.Errorf("relayed %v; want {k 7}", got[0])
	}
}

// A failed publish leaves its row to be published again, before the later
// rows of its key, while the other keys go on.
func TestPublishErrorKeepsRowAndRetries(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "a", N: 0}, event{Key: "a", N: 1}, event{Key: "b", N: 0})

	const failures = 3
	var (
		mu       sync.Mutex
		attempts int
		bDone    = make(chan struct{})
	)
	s := newSink()
	publish := func(ctx context.Context, e event) error {
		if e.Key == "b" {
			defer close(bDone)
			return s.publish(ctx, e)
		}
		if e.N == 0 {
			mu.Lock()
			attempts++
			n := attempts
			mu.Unlock()
			if n <= failures {
				// The row is still there for the next attempt, and the
				// other key is not held up: a0 fails until b0 is through.
				if n == failures {
					<-bDone
				}
				return errors.New("broker down")
			}
		}
		return s.publish(ctx, e)
	}
	r := newRelay(t, o, publish)
	stop := start(t, r)
	s.await(t, 3)
	stop()

	want := []event{{Key: "b", N: 0}, {Key: "a", N: 0}, {Key: "a", N: 1}}
	if got := s.all(); !slices.Equal(got, want) {
		t.Errorf("relayed %v; want %v", got, want)
	}
	if attempts != failures+1 {
		t.Errorf("a0 was published %d times; want %d failures and a success", attempts, failures)
	}
	if st := r.Stats(); st.Failures != failures || st.Relayed != 3 {
		t.Errorf("Stats() = %+v; want %d failures, 3 relayed", st, failures)
	}
	if rows, _ := db.count(o); rows != 0 {
		t.Errorf("%d rows left in the table; want 0", rows)
	}
}

// A relay stopped while a publish waits leaves the row in the table.
func TestStopDuringPublishLeavesRow(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "k", N: 1}, event{Key: "k", N: 2})
	waiting := make(chan struct{})
	var once sync.Once
	publish := func(ctx context.Context, e event) error {
		if e.N == 1 {
			return nil
		}
		once.Do(func() { close(waiting) })
		<-ctx.Done()
		return ctx.Err()
	}
	r := newRelay(t, o, publish)
	stop := start(t, r)
	<-waiting
	stop()
	if rows, _ := db.count(o); rows != 1 {
		t.Errorf("%d rows left; want 1: the row being published when the relay stopped, not the one published before", rows)
	}
	if st := r.Stats(); st.Relayed != 1 {
		t.Errorf("Stats().Relayed = %d; want 1", st.Relayed)
	}
}

// A row whose payload cannot be decoded is reported with its ID, marked in
// the table, and the rows after it, of its key too, go on.
func TestPoisonRowIsDeadLetteredAndLaterRowsFlow(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "k", N: 1})
	var poison int64
	if err := db.conn.QueryRow(context.Background(),
		"INSERT INTO "+db.schema+".outbox (key, payload) VALUES ('k', 'not json') RETURNING id").Scan(&poison); err != nil {
		t.Fatal(err)
	}
	db.write(o, event{Key: "k", N: 2}, event{Key: "other", N: 1})

	var (
		mu   sync.Mutex
		dead []pgoutbox.DeadLetter
	)
	logs := newLogBuffer()
	s := newSink()
	r := newRelay(t, o, s.publish, pgoutbox.WithLogger(logs.logger()), pgoutbox.WithDeadLetterHook(func(d pgoutbox.DeadLetter) {
		mu.Lock()
		dead = append(dead, d)
		mu.Unlock()
	}))
	stop := start(t, r)
	s.await(t, 3)
	db.write(o, event{Key: "k", N: 3})
	s.await(t, 1)
	stop()

	want := []event{{Key: "k", N: 1}, {Key: "k", N: 2}, {Key: "other", N: 1}, {Key: "k", N: 3}}
	if got := s.all(); !slices.Equal(got, want) {
		t.Errorf("relayed %v; want %v", got, want)
	}
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters %v; want 1", len(dead), dead)
	}
	d := dead[0]
	if d.ID != poison || d.Key != "k" || string(d.Payload) != "not json" || !errors.Is(d.Err, pgoutbox.ErrDecode) || d.Table != o.Table() {
		t.Errorf("dead letter %+v; want row %d, key k, payload 'not json', error wrapping ErrDecode, table %s", d, poison, o.Table())
	}
	if log := logs.String(); !strings.Contains(log, fmt.Sprintf("id=%d", poison)) || !strings.Contains(log, "level=ERROR") {
		t.Errorf("log %q; want an error naming id=%d", log, poison)
	}
	if rows, marked := db.count(o); rows != 1 || marked != 1 {
		t.Errorf("%d rows left, %d marked; want the poison row alone, marked", rows, marked)
	}
	if st := r.Stats(); st.DeadLetters != 1 || st.Relayed != 4 {
		t.Errorf("Stats() = %+v; want 1 dead letter, 4 relayed", st)
	}
}

// Run returns nil when its context ends, leaving no goroutine behind (this
// test is not parallel, so that goleak sees only its own goroutines).
func TestRunReturnsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t, ignorePgxClose)
	db := newDB(t)
	o := db.outbox()
	db.write(o, event{Key: "k", N: 1})
	s := newSink()
	r := newRelay(t, o, s.publish, pgoutbox.WithPollInterval(time.Hour))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	s.await(t, 1) // connected, and waiting for notifications now or soon
	if err := r.Run(ctx); !errors.Is(err, pgoutbox.ErrAlreadyRunning) {
		t.Errorf("second Run: %v; want ErrAlreadyRunning", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v; want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after cancel")
	}

	// It may be run again.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- r.Run(ctx) }()
	db.write(o, event{Key: "k", N: 2})
	s.await(t, 1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("second Run: %v; want nil", err)
	}
}

// A relay whose connection is terminated by the server connects again and
// goes on relaying.
func TestRelaySurvivesTerminatedConnection(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := db.outbox()
	app := db.schema // the relay's application_name, to find its backend
	logs := newLogBuffer("pgoutbox: relay connected again")
	s := newSink()
	r := newRelayAt(t, dsn+"?application_name="+app, o, s.publish,
		pgoutbox.WithLogger(logs.logger()), pgoutbox.WithPollInterval(time.Hour))
	stop := start(t, r)
	db.write(o, event{Key: "k", N: 1})
	s.await(t, 1)

	// The function in the select list runs only for the rows the WHERE
	// clause keeps, never for another test's connection.
	killed, err := pgx.CollectRows(must(db.conn.Query(context.Background(),
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app)), pgx.RowTo[bool])
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || !killed[0] {
		t.Fatalf("terminated %v; want the relay's one backend", killed)
	}
	select {
	case <-logs.watch["pgoutbox: relay connected again"]:
	case <-time.After(testTimeout):
		t.Fatalf("the relay did not connect again within %v; log:\n%s", testTimeout, logs)
	}
	db.write(o, event{Key: "k", N: 2})
	// N=1 is published again when the relay lost its connection after
	// publishing it and before its removal committed: at least once.
	got := s.await(t, 1)
	if got[0].N == 1 {
		got = append(got, s.await(t, 1)...)
	}
	if got[len(got)-1].N != 2 {
		t.Errorf("relayed %v after reconnecting; want N=2, maybe after N=1 again", got)
	}
	stop()
	if rows, _ := db.count(o); rows != 0 {
		t.Errorf("%d rows left in the table; want 0", rows)
	}
	if st := r.Stats(); st.Connects != 2 || st.Failures != 1 {
		t.Errorf("Stats() = %+v; want 2 connects, 1 failure", st)
	}
	if log := logs.String(); !strings.Contains(log, "relay failed; connecting again") {
		t.Errorf("log %q; want the lost connection reported", log)
	}
}

// A relay started before its table exists logs the failure, and relays once
// the table is there.
func TestRelayWaitsForTable(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	o := pgoutbox.New[event](pgoutbox.WithTable(db.schema + ".outbox")) // not set up
	logs := newLogBuffer("pgoutbox: relay failed; connecting again")
	s := newSink()
	start(t, newRelay(t, o, s.publish, pgoutbox.WithLogger(logs.logger()), pgoutbox.WithPollInterval(time.Hour)))
	select {
	case <-logs.watch["pgoutbox: relay failed; connecting again"]:
	case <-time.After(testTimeout):
		t.Fatalf("no failure logged within %v", testTimeout)
	}
	if log := logs.String(); !strings.Contains(log, "does not exist") {
		t.Errorf("log %q; want the missing table named", log)
	}
	if err := o.Setup(context.Background(), db.conn); err != nil {
		t.Fatal(err)
	}
	db.write(o, event{Key: "k", N: 1})
	if got := s.await(t, 1); got[0].N != 1 {
		t.Errorf("relayed %v; want N=1", got[0])
	}
}

// A server that does not answer is retried, and logged, until the context
// ends: no database needed.
func TestRelayRetriesUnreachableServer(t *testing.T) {
	t.Parallel()
	o := pgoutbox.New[event]()
	logs := newLogBuffer("pgoutbox: relay failed; connecting again")
	r := newRelayAt(t, "postgres://postgres@127.0.0.1:1/test?connect_timeout=5", o, newSink().publish,
		pgoutbox.WithLogger(logs.logger()))
	stop := start(t, r)
	for range 3 {
		select {
		case <-logs.watch["pgoutbox: relay failed; connecting again"]:
		case <-time.After(testTimeout):
			t.Fatalf("no failure logged within %v", testTimeout)
		}
	}
	stop()
	if st := r.Stats(); st.Connects != 0 || st.Failures < 3 {
		t.Errorf("Stats() = %+v; want no connect, at least 3 failures", st)
	}
	if log := logs.String(); !strings.Contains(log, "127.0.0.1") || !strings.Contains(log, "retry_in=") {
		t.Errorf("log %q; want the address and the retry delay", log)
	}
}

func TestNewRelayRejectsMalformedDSN(t *testing.T) {
	t.Parallel()
	o := pgoutbox.New[event]()
	for _, bad := range []string{"postgres://user@host:notaport/db", "host=a port=x", "postgres://%zz"} {
		r, err := pgoutbox.NewRelay(bad, o, newSink().publish)
		if !errors.Is(err, pgoutbox.ErrDSN) || r != nil {
			t.Errorf("NewRelay(%q) = %v, %v; want nil and an error wrapping ErrDSN", bad, r, err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
