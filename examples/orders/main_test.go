package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/observer"
	"github.com/troupe-go/troupe/supervisor"
)

func TestMain(m *testing.M) {
	if os.Getenv(selfNATSEnv) != "" {
		os.Exit(serveNATS())
	}
	code := m.Run()
	if binPath != "" { // built by the fault suite
		os.RemoveAll(filepath.Dir(binPath))
	}
	if code == 0 {
		// pgx closes a connection whose query a cancelled context
		// interrupted in a goroutine of its own, which tells the server
		// and waits for it to close, on pgx's own 15-second deadline.
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgconn.(*PgConn).asyncClose.func1")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// guard bounds every wait of a test so that a bug fails it instead of
// hanging it; no test asserts anything about time.
const guard = 30 * time.Second

// testConfig is the default configuration without the simulated delays.
func testConfig() Config {
	cfg := defaultConfig()
	cfg.EmailLatency, cfg.EmailTimeout, cfg.EmailBackoff = 0, 0, 0
	cfg.RestartBackoffMin, cfg.RestartBackoffMax = 0, 0
	cfg.DrainTimeout = guard
	cfg.Stock = catalog(1000)
	return cfg
}

// running is an App running in the background.
type running struct {
	*App
	base   string
	client *http.Client
	cancel context.CancelFunc
	done   chan error
}

// start runs an App built from cfg, sending emails through mailer (the
// simulated provider when nil), and stops it at the end of the test.
func start(t *testing.T, cfg Config, mailer Mailer, onEvent func(supervisor.Event)) *running {
	t.Helper()
	app, err := newApp(cfg, slog.New(slog.DiscardHandler), mailer, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.onEvent = onEvent
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{App: app, client: &http.Client{}, cancel: cancel, done: make(chan error, 1)}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.done <- app.Run(ctx)
	}()
	t.Cleanup(func() {
		r.stop(t)
		r.client.CloseIdleConnections()
	})
	addr := app.serverAddr(t.Context(), stopped)
	if addr == "" {
		t.Fatal("the app stopped before it served")
	}
	r.base = "http://" + addr
	return r
}

// stop shuts the app down and waits for Run to return; later calls do
// nothing.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err, ok := <-r.done; ok {
		close(r.done)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func (r *running) post(t *testing.T, body string) (int, string) {
	t.Helper()
	resp, err := r.client.Post(r.base+"/orders", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct{ ID, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatalf("POST /orders: %d, undecodable answer: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, ans.ID + ans.Error
}

func (r *running) stats(t *testing.T) Stats {
	t.Helper()
	resp, err := r.client.Get(r.base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// orderJSON is an order of customer i, c<i>.
func orderJSON(i int) string {
	return fmt.Sprintf(`{"customer":"c%d","email":"c%d@example.com","items":[{"sku":"mug","qty":1},{"sku":"tee","qty":2}]}`, i, i)
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

// checkAccounts checks that every accepted order was handled, or reported
// as a dead letter, exactly once by every consumer.
func checkAccounts(t *testing.T, l *Ledger, accepted []string) map[string]Account {
	t.Helper()
	out := map[string]Account{}
	for _, c := range consumers {
		a := l.Account(c, accepted)
		if a.Missing != 0 || a.Twice != 0 || a.Handled+a.Dead != len(accepted) {
			t.Errorf("%s: %+v for %d accepted orders; want each handled or dead exactly once", c, a, len(accepted))
		}
		out[c] = a
	}
	return out
}

// blockingMailer blocks every Send until release is closed, ignoring its
// context: an email provider that hangs.
type blockingMailer struct {
	release chan struct{}
	calls   chan struct{} // one per Send entered
}

func (m *blockingMailer) Send(context.Context, string, string) error {
	m.calls <- struct{}{}
	<-m.release
	return nil
}

// With the email handler blocked, orders are still accepted at once and
// inventory sees every one of them; the emails beyond the customer's email
// mailbox are dropped and reported, not lost.
func TestEmailBlockedDoesNotBlockOrders(t *testing.T) {
	const n = 50
	cfg := testConfig()
	cfg.EmailMailbox = 4
	m := &blockingMailer{release: make(chan struct{}), calls: make(chan struct{}, n)}
	r := start(t, cfg, m, nil)

	var accepted []string
	for i := range n {
		status, id := r.post(t, orderJSON(0)) // one customer: one mailbox
		if status != http.StatusCreated {
			t.Fatalf("order %d: status %d (%s); want 201", i, status, id)
		}
		accepted = append(accepted, id)
	}
	ctx := waitCtx(t)
	if err := r.ledger.Wait(ctx, consumerInventory, n); err != nil {
		t.Fatal(err)
	}
	<-m.calls // email is stuck on its first order
	inv := r.inventory.Stats()
	if got := inv.Updates + inv.OutOfStock + inv.UnknownSKU; got != n {
		t.Errorf("inventory handled %d orders; want %d", got, n)
	}
	if got, want := r.inventory.Stock()["tee"], cfg.Stock["tee"]-2*n; got != want {
		t.Errorf("tee in stock: %d; want %d", got, want)
	}
	st := r.stats(t)
	if sub := subscription(t, st, consumerEmail); sub.Dropped == 0 || sub.Delivered+sub.Dropped != n {
		t.Errorf("email subscription: %+v; want drops, and delivered+dropped = %d", sub, n)
	}

	close(m.release)
	r.stop(t)
	acc := checkAccounts(t, r.ledger, accepted)
	if acc[consumerInventory].Handled != n || acc[consumerAnalytics].Handled != n {
		t.Errorf("accounts: %+v; want every order handled by inventory and analytics", acc)
	}
}

func subscription(t *testing.T, st Stats, name string) SubscriptionStats {
	t.Helper()
	for _, s := range st.Subscriptions {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no subscription %q in %+v", name, st.Subscriptions)
	return SubscriptionStats{}
}

type panickingMailer struct{}

func (panickingMailer) Send(_ context.Context, _, id string) error {
	panic("email provider exploded on " + id)
}

// With the email provider panicking on every message, inventory and
// analytics still see every order; email is restarted until its
// supervisor's intensity is exceeded, then the email subtree stays down and
// the rest of the service goes on. The orders are one customer's, so that
// they are handled one at a time: each run of email panics twice (a
// customer's actors all finish the message in hand when email gives up,
// which with many customers would leave a varying number for the next run).
// Two runs make four panics, under the customer's own limit
// (actor.DefaultKeyRestarts), so the customer is not removed.
func TestEmailPanicsAreContained(t *testing.T) {
	const n = 20
	cfg := testConfig()
	cfg.EmailRestarts, cfg.EmailWindow = 1, time.Hour
	cfg.EmailPanics = 1 // email's Run fails on its second panic
	gaveUp := make(chan supervisor.Event, 1)
	r := start(t, cfg, panickingMailer{}, func(e supervisor.Event) {
		if e.Kind == supervisor.Stopped && e.Path == "orders/email" {
			gaveUp <- e
		}
	})

	var accepted []string
	for i := range n {
		o, err := r.service.Place(context.Background(), OrderRequest{
			Customer: "ada", Email: "ada@example.com", Items: []Item{{SKU: "book", Qty: 1}},
		})
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		accepted = append(accepted, o.ID)
	}
	ctx := waitCtx(t)
	for _, c := range []string{consumerInventory, consumerAnalytics} {
		if err := r.ledger.Wait(ctx, c, n); err != nil {
			t.Fatal(err)
		}
	}
	var e supervisor.Event
	select {
	case e = <-gaveUp:
	case <-ctx.Done():
		t.Fatal("the email supervisor did not give up")
	}
	if !strings.Contains(fmt.Sprint(e.Err), supervisor.ErrTooManyRestarts.Error()) {
		t.Errorf("email subtree stopped with %v; want %v", e.Err, supervisor.ErrTooManyRestarts)
	}

	st := r.stats(t)
	sender, _ := st.child("orders/email/sender")
	if sender.Restarts != cfg.EmailRestarts {
		t.Errorf("orders/email/sender restarts: %d; want %d (the intensity)", sender.Restarts, cfg.EmailRestarts)
	}
	if email, _ := st.child("orders/email"); email.State != "failed" || !strings.Contains(email.LastError, "too many restarts") {
		t.Errorf("orders/email: %+v; want failed with too many restarts", email)
	}
	if st.Restarts < cfg.EmailRestarts {
		t.Errorf("/stats restarts: %d; want at least %d", st.Restarts, cfg.EmailRestarts)
	}
	// Each run of email absorbs EmailPanics panics before it fails, and no
	// order is tried more than twice (WithMaxRetries(1)).
	least, most := uint64((cfg.EmailRestarts+1)*(cfg.EmailPanics+1)), uint64(2*n)
	if got := r.emailKeys.Stats().Restarted; got < least || got > most {
		t.Errorf("email panics: %d; want between %d (EmailPanics + 1, per run) and %d (two tries per order)", got, least, most)
	}
	for _, p := range []string{"orders/analytics", "orders/inventory", "orders/http", "orders/bus"} {
		if c, _ := st.child(p); c.State != "running" || c.Restarts != 0 {
			t.Errorf("%s: %+v; want running, never restarted", p, c)
		}
	}
	// The service still takes orders.
	if status, id := r.post(t, orderJSON(n)); status != http.StatusCreated {
		t.Errorf("order after email gave up: %d (%s); want 201", status, id)
	} else {
		accepted = append(accepted, id)
	}

	r.stop(t)
	acc := checkAccounts(t, r.ledger, accepted)
	if acc[consumerEmail].Dead != len(accepted) {
		t.Errorf("email: %+v; want every order a dead letter", acc[consumerEmail])
	}
}

// stuckMailer blocks every email to one address until release is closed,
// ignoring its context (that customer's mail server never answers), and
// sends every other email at once.
type stuckMailer struct {
	stuck   string
	release chan struct{}
	entered chan string // the order ID of each Send to stuck
}

func (m *stuckMailer) Send(_ context.Context, to, id string) error {
	if to == m.stuck {
		m.entered <- id
		<-m.release
	}
	return nil
}

// waitAccounted waits until every order in ids is handled or a dead
// letter at consumer, or ctx is done.
func waitAccounted(ctx context.Context, l *Ledger, consumer string, ids []string) error {
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		a := l.Account(consumer, ids)
		if a.Handled+a.Dead >= len(ids) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d orders accounted for: %w", consumer, a.Handled+a.Dead, len(ids), context.Cause(ctx))
		}
	}
}

// A customer whose emails hang holds up no other customer: while its first
// email is stuck in the provider and its later ones fill its mailbox (the
// last dropped and reported), every other customer's email goes out. Its
// own emails go out in order once the provider answers. (With email as a
// pool, the stuck customer's queue filled the pool's one mailbox and the
// other customers' emails were dropped.)
func TestEmailStuckCustomerHoldsUpNoOther(t *testing.T) {
	const others, flood = 40, 4
	cfg := testConfig()
	cfg.EmailMailbox = 8
	m := &stuckMailer{stuck: "c0@example.com", release: make(chan struct{}), entered: make(chan string, cfg.EmailMailbox+flood+1)}
	r := start(t, cfg, m, nil)
	released := false
	release := func() {
		if !released {
			released = true
			close(m.release)
		}
	}
	t.Cleanup(release) // before the app stops (cleanups run last first)
	ctx := waitCtx(t)

	post := func(customer int) string {
		status, id := r.post(t, orderJSON(customer))
		if status != http.StatusCreated {
			t.Fatalf("order of c%d: status %d (%s); want 201", customer, status, id)
		}
		return id
	}
	stuck := []string{post(0)}
	select {
	case <-m.entered: // c0's first email is in the provider, and stays there
	case <-ctx.Done():
		t.Fatal("c0's first email never reached the provider")
	}
	for range cfg.EmailMailbox + flood {
		stuck = append(stuck, post(0))
	}
	var other []string
	for round := range 2 {
		for c := 1; c <= others; c++ {
			other = append(other, post(c))
			if round == 0 && c%10 == 0 {
				stuck = append(stuck, post(0))
			}
		}
	}
	if err := waitAccounted(ctx, r.ledger, consumerEmail, other); err != nil {
		t.Fatal(err)
	}
	if acc := r.ledger.Account(consumerEmail, other); acc.Handled != len(other) || acc.Dead != 0 {
		t.Errorf("other customers' emails: %+v; want all %d sent while c0 hangs", acc, len(other))
	}
	if got := r.emailer.delivered.Load(); got != uint64(len(other)) {
		t.Errorf("emails delivered while c0 hangs: %d; want %d", got, len(other))
	}
	acc := r.ledger.Account(consumerEmail, stuck)
	if acc.Handled != 0 || acc.Dead == 0 {
		t.Errorf("c0's emails while it hangs: %+v; want none sent, those beyond its mailbox dropped", acc)
	}
	if got := len(m.entered); got != 0 {
		t.Errorf("c0 has %d more emails in the provider while its first hangs; want 0 (one at a time)", got)
	}
	if sub := subscription(t, r.stats(t), consumerEmail); sub.Dropped != uint64(acc.Dead) {
		t.Errorf("email subscription dropped %d; want %d, c0's beyond its mailbox", sub.Dropped, acc.Dead)
	}

	// c0's provider answers: its queued emails go out, in order.
	release()
	queued := len(stuck) - acc.Dead
	if err := r.ledger.Wait(ctx, consumerEmail, len(other)+len(stuck)); err != nil {
		t.Fatal(err)
	}
	var order []string
	for range queued - 1 {
		order = append(order, <-m.entered)
	}
	var want []string
	for _, id := range stuck[1:] {
		if r.ledger.Account(consumerEmail, []string{id}).Dead == 0 {
			want = append(want, id)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("c0's emails went out in the order %v; want %v", order, want)
	}
	r.stop(t)
	checkAccounts(t, r.ledger, append(other, stuck...))
}

// Email holds at most EmailCustomers customers' actors: while the one it
// holds hangs, another customer's email is refused, reported as a dead
// letter with the reason, and the order is still placed.
func TestEmailCustomersBounded(t *testing.T) {
	cfg := testConfig()
	cfg.EmailCustomers = 1
	m := &stuckMailer{stuck: "c0@example.com", release: make(chan struct{}), entered: make(chan string, 1)}
	r := start(t, cfg, m, nil)
	t.Cleanup(func() { close(m.release) }) // before the app stops
	ctx := waitCtx(t)

	var accepted []string
	for _, c := range []int{0, 1} {
		status, id := r.post(t, orderJSON(c))
		if status != http.StatusCreated {
			t.Fatalf("order of c%d: status %d (%s); want 201", c, status, id)
		}
		accepted = append(accepted, id)
		if c == 0 {
			select {
			case <-m.entered:
			case <-ctx.Done():
				t.Fatal("c0's email never reached the provider")
			}
		}
	}
	acc := r.ledger.Account(consumerEmail, accepted[1:])
	if acc.Dead != 1 {
		t.Errorf("c1's email with c0 holding the only place: %+v; want a dead letter", acc)
	}
	if i := slices.IndexFunc(r.ledger.DeadLetters(), func(d DeadLetterCount) bool {
		return d.Where == "bus → "+consumerEmail && d.Reason == actor.ErrTooManyKeys.Error()
	}); i < 0 {
		t.Errorf("dead letters %+v; want one at bus → email for %q", r.ledger.DeadLetters(), actor.ErrTooManyKeys)
	}
}

// Bad requests are answered 400 or 413 with a message, and publish nothing.
func TestBadRequests(t *testing.T) {
	var mu sync.Mutex
	var published []OrderCreated
	svc := NewService(func(_ context.Context, o OrderCreated) error {
		mu.Lock()
		defer mu.Unlock()
		published = append(published, o)
		return nil
	}, func() Stats { return Stats{} })
	h := svc.Handler()

	item := `"items":[{"sku":"mug","qty":1}]`
	for _, tc := range []struct {
		name, body string
		status     int
		says       string
	}{
		{"malformed JSON", `{"customer":"ada",`, 400, "malformed JSON"},
		{"empty body", ``, 400, "empty body"},
		{"not an object", `[1,2]`, 400, "malformed JSON"},
		{"two objects", `{"customer":"ada","email":"a@b.c",` + item + `}{}`, 400, "after the JSON object"},
		{"unknown field", `{"customer":"ada","email":"a@b.c",` + item + `,"coupon":"FREE"}`, 400, "unknown field"},
		{"missing customer", `{"email":"a@b.c",` + item + `}`, 400, "customer: missing"},
		{"missing email", `{"customer":"ada",` + item + `}`, 400, "email: missing"},
		{"bad email", `{"customer":"ada","email":"ada",` + item + `}`, 400, "not an email address"},
		{"no items", `{"customer":"ada","email":"a@b.c","items":[]}`, 400, "at least one item"},
		{"missing sku", `{"customer":"ada","email":"a@b.c","items":[{"qty":1}]}`, 400, "items[0].sku: missing"},
		{"negative quantity", `{"customer":"ada","email":"a@b.c","items":[{"sku":"mug","qty":-1}]}`, 400, "items[0].qty: -1"},
		{"zero quantity", `{"customer":"ada","email":"a@b.c","items":[{"sku":"mug","qty":0}]}`, 400, "items[0].qty: 0"},
		{"huge quantity", `{"customer":"ada","email":"a@b.c","items":[{"sku":"mug","qty":1000000}]}`, 400, "at most"},
		{"huge body", `{"customer":"` + strings.Repeat("a", maxBodyLen) + `"}`, 413, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptestPost(h, tc.body)
			if rec.status != tc.status || !strings.Contains(rec.body, tc.says) {
				t.Errorf("got %d %q; want %d containing %q", rec.status, rec.body, tc.status, tc.says)
			}
		})
	}
	if len(published) != 0 {
		t.Errorf("bad requests published %d orders; want none", len(published))
	}
	if got := svc.badRequests.Load(); got != 14 {
		t.Errorf("bad requests counted: %d; want 14", got)
	}
	// The in-process path validates the same way.
	if _, err := svc.Place(context.Background(), OrderRequest{Customer: "ada"}); err == nil {
		t.Error("Place with no email and no items: nil error")
	}
	if rec := httptestPost(h, `{"customer":"ada","email":"a@b.c",`+item+`}`); rec.status != http.StatusCreated || len(published) != 1 {
		t.Errorf("good order: %d %q, %d published; want 201 and 1", rec.status, rec.body, len(published))
	}
}

type answer struct {
	status int
	body   string
}

func httptestPost(h http.Handler, body string) answer {
	w := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	h.ServeHTTP(w, req)
	return answer{w.status, w.buf.String()}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
func (r *recorder) WriteHeader(s int)           { r.status = s }

// After a shutdown, every accepted order was handled by each consumer or
// reported as a dead letter, whether the actors had time to drain or none.
func TestShutdownAccountsForEveryOrder(t *testing.T) {
	for _, c := range []struct {
		drain  time.Duration
		panics int // 0 for email's default
	}{
		{guard, 0},
		{0, 0},
		// Email gives up now and then, as the shutdown comes: its keys
		// must still drain what they hold.
		{guard, 5},
	} {
		name := fmt.Sprintf("drain=%v", c.drain)
		if c.panics > 0 {
			name += fmt.Sprintf(",email-panics=%d", c.panics)
		}
		t.Run(name, func(t *testing.T) {
			const n = 200
			drain := c.drain
			cfg := testConfig()
			cfg.DrainTimeout = drain
			if c.panics > 0 {
				cfg.EmailPanics = c.panics
			}
			cfg.EmailFailureRate, cfg.EmailPanicRate = 0.3, 0.05
			cfg.Stock = catalog(50) // some rejections too
			r := start(t, cfg, nil, nil)
			var mu sync.Mutex
			var accepted []string
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for _, o := range demoOrders(n/4, uint64(w)) {
						if o, err := r.service.Place(context.Background(), o); err == nil {
							mu.Lock()
							accepted = append(accepted, o.ID)
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			r.stop(t)
			if len(accepted) != n {
				t.Fatalf("%d orders accepted; want %d", len(accepted), n)
			}
			acc := checkAccounts(t, r.ledger, accepted)
			t.Logf("accounts: %+v; dead letters: %+v", acc, r.ledger.DeadLetters())
			if drain == 0 && acc[consumerEmail].Dead == 0 && acc[consumerEmail].Handled != n {
				t.Errorf("no drain: email %+v", acc[consumerEmail])
			}
		})
	}
}

// The default run's path, with fewer orders and no simulated delays, so
// that `go run ./examples/orders` cannot rot.
func TestRunDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-orders", "40", "-email-latency", "0", "-email-timeout", "0", "-email-backoff", "0", "-email-panic-rate", "0.1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run: exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"ORDERS", "placed", "40", "INVENTORY", "EMAIL", "ANALYTICS", "SUPERVISION", "DEAD LETTERS", "LATENCY", "POST /orders handler", "email provider call"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Count(out, "every order accounted for"); got != len(consumers) || strings.Contains(out, "MISMATCH") {
		t.Errorf("summary accounting:\n%s", out)
	}
}

func TestRunFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-h"}, 0, "-email-failure-rate"},
		{[]string{"-orders", "x"}, 2, "invalid value"},
		{[]string{"-email-failure-rate", "0.9", "-email-panic-rate", "0.2"}, 2, "probabilities"},
		{[]string{"extra"}, 2, "unexpected arguments"},
		{[]string{"-nats", "nats://127.0.0.1:1", "-role", "cook"}, 2, "-role must be"},
		{[]string{"-role", "workers"}, 2, "need -nats"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q): exit %d, stderr %q; want %d containing %q", tc.args, code, stderr.String(), tc.code, tc.says)
		}
	}
}

// The live supervision page and the Prometheus metrics are served beside
// the API: the page's snapshot shows the service's tree, mailboxes and
// subscriptions, and the metrics name its actors and children.
func TestLivePageServed(t *testing.T) {
	r := start(t, testConfig(), nil, nil)
	resp, err := r.client.Get(r.base + debugPath + "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap observer.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatalf("GET %ssnapshot: %d, undecodable: %v", debugPath, resp.StatusCode, err)
	}
	var paths []string
	for _, c := range snap.Tree {
		paths = append(paths, c.Path)
	}
	if !slices.Contains(paths, "orders/email/sender") || !slices.Contains(paths, "orders/http") {
		t.Errorf("tree paths %v; want orders/email/sender and orders/http among them", paths)
	}
	if len(snap.Mailboxes) != 3 || len(snap.Subscriptions) == 0 {
		t.Errorf("got %d mailboxes, %d subscriptions; want 3 and some", len(snap.Mailboxes), len(snap.Subscriptions))
	}
	var keyed []string
	for _, k := range snap.Keyed {
		keyed = append(keyed, k.Name)
	}
	if !slices.Equal(keyed, []string{consumerTracker, consumerEmail}) {
		t.Errorf("keyed actors on the page %v; want the tracker's and email's", keyed)
	}
	metrics, err := r.client.Get(r.base + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`troupe_actor_handled`, `messaging_destination_name="inventory"`, `messaging_destination_name="email"`, `troupe_child_path="orders/email/sender"`, `troupe_keyed_keys`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET %s lacks %s:\n%s", metricsPath, want, body)
		}
	}
	page, err := r.client.Get(r.base + debugPath)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", debugPath, page.StatusCode)
	}
}
