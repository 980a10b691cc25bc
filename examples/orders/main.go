// Command orders is the order service of the problem statement, built with
// troupe: the HTTP order handler publishes OrderCreated on a typed bus and
// returns at once; email, inventory and analytics are supervised actors that
// react to it on their own, so a slow, failing or crashing email provider
// delays and breaks nothing but email.
//
// By default it runs a demo: it starts the service on a loopback port,
// places a few hundred orders through the real HTTP handler while the
// simulated email provider times out and panics, shuts down gracefully and
// prints a summary. With -serve it runs as a service until SIGINT or
// SIGTERM. With -nats, OrderCreated also goes to NATS JetStream and the
// email consumer imports it from there, durably: -role api runs the order
// handler, inventory and analytics, -role workers only the email consumer,
// in as many processes as wanted; a killed worker's orders are emailed by
// the next one.
//
//	go run ./examples/orders
//	go run ./examples/orders -nats nats://127.0.0.1:4222
//	go run ./examples/orders -nats nats://127.0.0.1:4222 -role api
//	go run ./examples/orders -nats nats://127.0.0.1:4222 -role workers -sent /tmp/sent
//	go run ./examples/orders -db postgres://postgres@127.0.0.1:5432/test
//	go run ./examples/orders -serve localhost:8080
//	curl -d '{"customer":"ada","email":"ada@example.com","items":[{"sku":"mug","qty":1}]}' localhost:8080/orders
//	curl localhost:8080/stats
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/supervisor"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Config shapes the service and the demo; each field is a flag.
type Config struct {
	Serve       string // listen there and run until a signal; "" runs the demo
	Orders      int
	Concurrency int
	Seed        uint64

	EmailLatency     time.Duration
	EmailTimeout     time.Duration
	EmailFailureRate float64
	EmailPanicRate   float64
	EmailAttempts    int
	EmailBackoff     time.Duration
	EmailMailbox     int // per customer
	EmailCustomers   int // customers with an email actor at once
	EmailPanics      int // panics of customers' actors email absorbs in EmailWindow
	EmailRestarts    int
	EmailWindow      time.Duration

	RestartBackoffMin time.Duration
	RestartBackoffMax time.Duration

	// wrapEmail, set by tests, wraps the email subtree.
	wrapEmail    func(supervisor.Runner) supervisor.Runner
	Mailbox      int
	BlockTimeout time.Duration
	DrainTimeout time.Duration
	Stock        map[string]int
	Verbose      bool

	NATS   string // NATS server URL: OrderCreated stored in JetStream before the 201, email imported from it
	Role   string // with NATS: roleAll, roleAPI or roleWorkers
	Stream string // with NATS: the JetStream stream
	Sent   string // with NATS: file of the orders emailed, for idempotence across restarts

	DB string // PostgreSQL DSN: orders and OrderCreated stored in one transaction, relayed from the outbox
}

func defaultConfig() Config {
	return Config{
		Orders:            300,
		Concurrency:       8,
		Seed:              1,
		EmailLatency:      2 * time.Millisecond,
		EmailTimeout:      10 * time.Millisecond,
		EmailFailureRate:  0.3,
		EmailPanicRate:    0.02,
		EmailAttempts:     3,
		EmailBackoff:      2 * time.Millisecond,
		EmailMailbox:      64,
		EmailCustomers:    10_000,
		EmailPanics:       actor.DefaultKeyedRestarts,
		EmailRestarts:     20,
		EmailWindow:       10 * time.Second,
		RestartBackoffMin: 5 * time.Millisecond,
		RestartBackoffMax: 200 * time.Millisecond,
		Mailbox:           4096,
		BlockTimeout:      2 * time.Second,
		DrainTimeout:      3 * time.Second,
		Stock:             catalog(300),
		Role:              roleAll,
		Stream:            "ORDERS",
	}
}

// catalog returns the demo's stock: n of most things, fewer posters, so
// that some orders are rejected for lack of stock.
func catalog(n int) map[string]int {
	return map[string]int{"mug": n, "tee": n, "cap": n, "book": n, "sticker": 4 * n, "poster": n / 4}
}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: orders [flags]

The order service of the troupe problem statement. Without -serve it runs a
demo: it places -orders orders through POST /orders on a loopback port while
the simulated email provider times out and panics, shuts down gracefully and
prints a summary (stdout; logs go to stderr). With -serve it runs until
SIGINT or SIGTERM, then prints the same summary.

Flags:
`)
		fs.PrintDefaults()
	}
	stock := 300
	fs.StringVar(&cfg.Serve, "serve", "", "listen on `addr` (e.g. localhost:8080) and run as a service until a signal")
	fs.IntVar(&cfg.Orders, "orders", cfg.Orders, "orders the demo places")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "concurrent HTTP clients in the demo")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the demo's orders and of the email provider's failures")
	fs.IntVar(&stock, "stock", stock, "units in stock of each SKU (posters: a quarter, stickers: four times)")
	fs.DurationVar(&cfg.EmailLatency, "email-latency", cfg.EmailLatency, "mean time the email provider takes to answer")
	fs.DurationVar(&cfg.EmailTimeout, "email-timeout", cfg.EmailTimeout, "how long a provider call that times out hangs")
	fs.Float64Var(&cfg.EmailFailureRate, "email-failure-rate", cfg.EmailFailureRate, "chance `p` that a provider call times out")
	fs.Float64Var(&cfg.EmailPanicRate, "email-panic-rate", cfg.EmailPanicRate, "chance `p` that a provider call panics")
	fs.IntVar(&cfg.EmailAttempts, "email-attempts", cfg.EmailAttempts, "provider calls per email before giving up on timeouts")
	fs.DurationVar(&cfg.EmailBackoff, "email-backoff", cfg.EmailBackoff, "wait after the first timeout, doubled after each")
	fs.IntVar(&cfg.EmailMailbox, "email-mailbox", cfg.EmailMailbox, "each customer's email mailbox size; beyond it that customer's emails are dropped and reported")
	fs.IntVar(&cfg.EmailCustomers, "email-customers", cfg.EmailCustomers, "customers with an email actor at once (idle ones are passivated); beyond it a new customer's email is dropped and reported")
	fs.IntVar(&cfg.EmailPanics, "email-panics", cfg.EmailPanics, "panics of customers' email actors absorbed within -email-window before email's Run fails")
	fs.IntVar(&cfg.EmailRestarts, "email-restarts", cfg.EmailRestarts, "restarts of email within -email-window before its supervisor gives up")
	fs.DurationVar(&cfg.EmailWindow, "email-window", cfg.EmailWindow, "window of -email-restarts")
	fs.DurationVar(&cfg.DrainTimeout, "drain", cfg.DrainTimeout, "how long each actor may drain its mailbox at shutdown")
	fs.StringVar(&cfg.NATS, "nats", "", "NATS `url` (e.g. nats://127.0.0.1:4222): OrderCreated goes through JetStream to a durable email consumer")
	fs.StringVar(&cfg.Role, "role", cfg.Role, "with -nats: `all` runs everything; api the order handler, inventory and analytics; workers only the email consumer, until a signal")
	fs.StringVar(&cfg.Stream, "stream", cfg.Stream, "with -nats: JetStream stream `name` (subjects <name lowercased>.>)")
	fs.StringVar(&cfg.Sent, "sent", "", "with -nats: `file` where a worker appends the ID of each order it emailed (an audit record; the workers share their memory of what was emailed in a JetStream bucket)")
	fs.StringVar(&cfg.DB, "db", "", "PostgreSQL `dsn` (e.g. postgres://postgres@127.0.0.1:5432/test): each order and its OrderCreated are stored in one transaction, and a relay publishes it (see outbox.go)")
	fs.BoolVar(&cfg.Verbose, "v", false, "log at level Debug (every analytics event, every dropped event) and with panic stacks")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, c := range []struct {
		ok   bool
		what string
	}{
		{cfg.Orders >= 0, "-orders must not be negative"},
		{cfg.Concurrency >= 1, "-concurrency must be at least 1"},
		{stock >= 0, "-stock must not be negative"},
		{cfg.EmailFailureRate >= 0 && cfg.EmailPanicRate >= 0 && cfg.EmailFailureRate+cfg.EmailPanicRate <= 1, "-email-failure-rate and -email-panic-rate must be probabilities adding up to at most 1"},
		{cfg.EmailAttempts >= 1, "-email-attempts must be at least 1"},
		{cfg.EmailMailbox >= 1, "-email-mailbox must be at least 1"},
		{cfg.EmailCustomers >= 1 && cfg.EmailPanics >= 0, "-email-customers must be at least 1 and -email-panics not negative"},
		{cfg.EmailRestarts >= 0 && cfg.EmailWindow > 0, "-email-restarts must not be negative and -email-window must be positive"},
		{cfg.EmailLatency >= 0 && cfg.EmailTimeout >= 0 && cfg.EmailBackoff >= 0 && cfg.DrainTimeout >= 0, "durations must not be negative"},
		{cfg.Role == roleAll || cfg.Role == roleAPI || cfg.Role == roleWorkers, "-role must be all, api or workers"},
		{cfg.NATS != "" || cfg.Role == roleAll && cfg.Sent == "", "-role and -sent need -nats"},
	} {
		if !c.ok {
			return cfg, errors.New(c.what)
		}
	}
	cfg.Stock = catalog(stock)
	return cfg, nil
}

// run is main with its environment as arguments, so that tests can run the
// demo in-process. It returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "orders:", err)
		return 2
	}
	log := newLogger(stderr, cfg.Verbose)
	cfg.wrapEmail = hooksFrom(ctx).wrapEmail

	// A worker process serves HTTP (GET /stats) only when asked to.
	workersOnly := cfg.NATS != "" && cfg.Role == roleWorkers
	addr := cfg.Serve
	if addr == "" && !workersOnly {
		addr = "127.0.0.1:0" // the demo: a port chosen by the OS
	}
	app, err := newApp(cfg, log, nil, addr)
	if err != nil {
		fmt.Fprintln(stderr, "orders:", err)
		return 1
	}
	app.hooks = hooksFrom(ctx)

	start := time.Now()
	var load *loadResult
	if workersOnly || cfg.Serve != "" {
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			err = supervisor.RunUntilSignal(ctx, app, app.grace())
		}()
		if app.server == nil {
			log.Info("email worker consuming from JetStream; stop with Ctrl-C", "stream", cfg.Stream, "consumer", emailDurable)
		} else if a := app.serverAddr(ctx, finished); a != "" {
			log.Info("serving; stop with Ctrl-C", "addr", "http://"+a, "try", "POST /orders, GET /stats",
				"live page", "http://"+a+debugPath, "metrics", "http://"+a+metricsPath)
		}
		<-finished
	} else {
		// The demo: place the orders, then stop the service as a signal
		// would. A real signal stops both early.
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			err = supervisor.RunUntilSignal(runCtx, app, app.grace())
		}()
		loadCtx, stopLoad := context.WithCancel(runCtx)
		go func() {
			select {
			case <-finished: // a signal or a failure stopped the service early
				stopLoad()
			case <-loadCtx.Done():
			}
		}()
		base := "http://" + app.serverAddr(loadCtx, finished)
		load = placeOrders(loadCtx, base, cfg)
		if cfg.NATS != "" && cfg.Role == roleAll || cfg.DB != "" {
			// Email goes the long way round, through JetStream or the
			// outbox: let it catch up before stopping (what it does not
			// finish stays in the stream or the outbox for the next run).
			wctx, cancel := context.WithTimeout(loadCtx, app.grace())
			if err := app.ledger.Wait(wctx, consumerEmail, len(load.Accepted)); err != nil {
				log.Warn("stopping before every email was sent", "error", err)
			}
			cancel()
		}
		stopLoad()
		stop()
		<-finished
	}
	printSummary(stdout, app, load, time.Since(start))
	if err != nil {
		log.Error("service stopped with an error", "error", err)
		return 1
	}
	return 0
}
