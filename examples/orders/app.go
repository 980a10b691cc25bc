package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/jetstream"
	"github.com/troupe-go/troupe/observer"
	"github.com/troupe-go/troupe/supervisor"
)

// App is the whole order service: the bus, the three consumers as actors,
// the HTTP server, and the supervision tree that runs them:
//
//	orders              root supervisor (OneForOne)
//	├── analytics       actor, subscribed to Event (every event, DropOldest)
//	├── tracker         keyed actors, one per order, subscribed to Event (tracker.go)
//	├── bus             closes the bus once its publishers have stopped
//	├── inventory       actor, subscribed to OrderCreated (Block)
//	├── email           supervisor with its own restart intensity (Temporary)
//	│   └── sender      keyed actors, one per customer, subscribed to OrderCreated (DropNewest)
//	└── http            POST /orders, GET /stats, GET /debug/troupe/ (the live page)
//
// A supervisor stops its children in reverse order, so a shutdown stops
// taking requests first, lets email and inventory drain (they still publish
// EmailSent, StockReserved and OrderRejected), closes the bus and drains
// analytics last.
type App struct {
	cfg    Config
	log    *slog.Logger
	bus    *bus.Bus
	ledger *Ledger

	service   *Service
	provider  *Provider // nil when the tests bring their own Mailer
	emailer   *Emailer
	inventory *Inventory
	analytics *Analytics
	tracker   *Tracker // one keyed actor per order (tracker.go)

	emailKeys      *actor.Keyed[string, OrderCreated] // one actor per customer (email.go)
	inventoryActor *actor.Actor[OrderCreated]
	analyticsActor *actor.Actor[Event]

	root     *supervisor.Supervisor
	emailSup *supervisor.Supervisor
	server   *supervisor.HTTPServer
	// serving is closed once the server listens: it is the last child,
	// started after the bus and every consumer (nil without a server).
	serving     chan struct{}
	servingOnce sync.Once
	restarts    atomic.Int64 // Restarted events anywhere in the tree
	// dead keeps the latest dead letters for the page at /debug/troupe/.
	dead *observer.DeadLetters
	// metrics is exported for Prometheus at /metrics.
	metrics *serviceMetrics

	// nats holds the JetStream side when cfg.NATS is set.
	nats natsParts
	// store is the orders table and the outbox when cfg.DB is set.
	store *orderStore
	// hooks, when set before Run, sees orders placed and emailed (tests).
	hooks hooks

	// onEvent, when set before Run, sees every supervisor event (tests).
	onEvent func(supervisor.Event)
}

// newApp builds the service from cfg. It serves HTTP on addr (none if
// empty; port 0 picks one: see Addr) and sends emails through mailer, or
// through a simulated Provider when mailer is nil.
func newApp(cfg Config, log *slog.Logger, mailer Mailer, addr string) (*App, error) {
	a := &App{cfg: cfg, log: log, ledger: newLedger(), dead: observer.NewDeadLetters(50, nil)}
	a.bus = bus.New(bus.WithLogger(log), bus.WithDeadLetterHook(a.busDeadLetter))

	if mailer == nil {
		a.provider = NewProvider(cfg.Seed, cfg.EmailLatency, cfg.EmailTimeout, cfg.EmailFailureRate, cfg.EmailPanicRate)
		mailer = a.provider
	}
	a.emailer = &Emailer{
		mailer:   mailer,
		attempts: cfg.EmailAttempts,
		backoff:  cfg.EmailBackoff,
		sent:     publisher[EmailSent](a.bus),
	}
	a.inventory = NewInventory(cfg.Stock, publisher[StockReserved](a.bus), publisher[OrderRejected](a.bus))
	a.analytics = NewAnalytics(log)
	a.tracker = NewTracker(trackerDeadline(cfg), trackerIdle, log, actor.WithLogger(log), actor.WithDeadLetterHook(a.actorDeadLetter))

	opts := func(mailbox int) []actor.Option {
		return []actor.Option{
			actor.WithMailbox(mailbox),
			actor.WithLogger(log),
			actor.WithDrainTimeout(cfg.DrainTimeout),
			actor.WithDeadLetterHook(a.actorDeadLetter),
			actor.WithErrorHook(a.handlerError),
		}
	}
	// Email is one actor per customer, so that a customer whose provider
	// calls hang holds up no other customer's emails, and each customer's
	// emails still go out in order. A customer's actor that panics is
	// restarted from its factory while the others go on; past EmailPanics
	// panics in all within EmailWindow the keyed actor's Run fails and the
	// email supervisor restarts it. At most EmailCustomers customers have
	// an actor at once (idle ones are passivated): the email of one more is
	// refused, reported as a dead letter by the bus.
	emailOpts := []actor.KeyedOption{
		actor.WithKeyedRestarts(cfg.EmailPanics, cfg.EmailWindow),
		actor.WithMaxKeys(cfg.EmailCustomers),
	}
	for _, o := range opts(cfg.EmailMailbox) {
		emailOpts = append(emailOpts, o)
	}
	a.emailKeys = newCustomerEmail(a.emailer, a.ledger, emailOpts...)
	a.inventoryActor = actor.New(consumerInventory, tracked(a.ledger, consumerInventory, a.inventory.Handle), opts(cfg.Mailbox)...)
	a.analyticsActor = actor.New(consumerAnalytics, tracked(a.ledger, consumerAnalytics, a.analytics.Handle), opts(cfg.Mailbox)...)

	// Inventory must see every order: Block, so a full mailbox slows the
	// order handler down (for at most BlockTimeout) instead of losing one.
	// Email is best effort: when its customer's mailbox is full the new
	// order's email is dropped and reported, and the order handler never
	// waits for it.
	// Analytics wants the freshest events: DropOldest.
	//
	// With -nats, the order handler publishes OrderCreated to JetStream
	// and waits for its ack before it publishes it here (see
	// publishOrder): the order is durable before it is answered 201, and
	// email imports it from JetStream instead of subscribing here.
	api, workers := cfg.NATS == "" || cfg.Role != roleWorkers, cfg.NATS == "" || cfg.Role != roleAPI
	var subs []error
	if api {
		subs = append(subs,
			second(bus.Subscribe(a.bus, a.inventoryActor, bus.WithPolicy(bus.Block), bus.WithTimeout(cfg.BlockTimeout))),
			second(bus.Subscribe[Event](a.bus, a.analyticsActor, bus.WithPolicy(bus.DropOldest))),
			second(bus.Subscribe(a.bus, a.tracker.Inbox(), bus.WithPolicy(bus.Block), bus.WithTimeout(cfg.BlockTimeout))))
	}
	if cfg.NATS == "" {
		subs = append(subs, second(bus.Subscribe(a.bus, customerInbox(a.emailKeys), bus.WithPolicy(bus.DropNewest))))
	} else {
		br, err := connectNATS(cfg, log)
		if err != nil {
			return nil, err
		}
		a.nats.bridge = br
		a.nats.api = api
		if workers {
			if a.nats.sent, err = openSentLog(cfg.Sent); err != nil {
				br.Close()
				return nil, err
			}
			a.nats.email = a.emailImport(br, a.nats.sent)
		}
	}
	if err := errors.Join(subs...); err != nil {
		a.closeNATS()
		return nil, err
	}
	if cfg.DB != "" && api {
		store, err := openOrderStore(cfg.DB, a.bus, log)
		if err != nil {
			a.closeNATS()
			return nil, err
		}
		a.store = store
	}

	m, err := newServiceMetrics()
	if err != nil {
		a.closeNATS()
		return nil, err
	}
	a.metrics = m
	a.service = NewService(a.publishOrder, a.Stats)
	a.service.idPrefix = newOrderPrefix(cfg)
	if addr != "" {
		a.server = newHTTPServer(addr, a.routes(), defaultHTTPTimeouts)
		a.serving = make(chan struct{})
	}

	hook := a.metrics.otel.SupervisorHook(func(e supervisor.Event) {
		if e.Kind == supervisor.Restarted {
			a.restarts.Add(1)
		}
		if e.Kind == supervisor.Started && e.Supervisor == "orders" && e.Child == "http" {
			a.servingOnce.Do(func() { close(a.serving) })
		}
		if a.onEvent != nil {
			a.onEvent(e)
		}
	})
	shutdown := cfg.DrainTimeout + 2*time.Second // an actor's drain, plus its message in hand
	a.emailSup = supervisor.New("email",
		supervisor.WithIntensity(cfg.EmailRestarts, cfg.EmailWindow),
		supervisor.WithBackoff(cfg.RestartBackoffMin, cfg.RestartBackoffMax),
		supervisor.WithStableAfter(time.Second),
		supervisor.WithShutdownTimeout(shutdown),
		supervisor.WithLogger(log),
		supervisor.WithHook(hook))
	a.root = supervisor.New("orders",
		supervisor.WithShutdownTimeout(shutdown),
		supervisor.WithLogger(log),
		supervisor.WithHook(hook))
	// Children stop in reverse order: http, email, inventory, the bus,
	// analytics, and the NATS connection last.
	var adds []error
	add := func(name string, r supervisor.Runner, opts ...supervisor.ChildOption) {
		adds = append(adds, a.root.Add(name, r, opts...))
	}
	if a.nats.bridge != nil {
		add("nats", a.nats.bridge)
	}
	if api {
		add(consumerAnalytics, a.analyticsActor)
		add(consumerTracker, a.tracker)
	}
	add("bus", supervisor.RunnerFunc(a.closeBus))
	if api {
		add(consumerInventory, a.inventoryActor)
	}
	if workers {
		if a.nats.email != nil {
			adds = append(adds, a.emailSup.Add("import", a.nats.email))
		} else {
			adds = append(adds, a.emailSup.Add("sender", a.emailKeys))
		}
		// In one process, when email restarts too often its supervisor
		// gives up and the email subtree stays down; orders, inventory and
		// analytics go on, and the emails left in its mailbox are reported
		// at shutdown. With -nats the orders wait in JetStream: a subtree
		// that gave up is restarted by the root, and past the root's own
		// limit the process exits non-zero, for systemd or Kubernetes to
		// start it again, instead of idling with the orders pending.
		restart := supervisor.Temporary
		if a.nats.email != nil {
			restart = supervisor.Transient
		}
		var email supervisor.Runner = a.emailSup
		if cfg.wrapEmail != nil {
			email = cfg.wrapEmail(email)
		}
		add("email", email, supervisor.WithRestart(restart), supervisor.WithShutdown(shutdown+time.Second))
	}
	if a.store != nil {
		// Stopped right after http, before the consumers it publishes to:
		// what it has not relayed stays in the outbox for the next run.
		add("outbox", a.store.relay)
	}
	if a.server != nil {
		// Last: it listens only once everything it publishes to runs, and
		// stops first, waiting for the requests in flight, so that every
		// order answered 201 is published before the bus closes.
		add("http", a.server, supervisor.WithShutdown(cfg.DrainTimeout+time.Second))
	}
	if err := errors.Join(adds...); err != nil {
		a.closeNATS()
		return nil, err
	}
	o := a.metrics.otel
	if merr := errors.Join(
		registered(o.ObserveActors(statsFunc(a.emailStats), a.inventoryActor, a.analyticsActor)),
		registered(o.ObserveKeyed(keyedStatsers(a.keyedStats())...)),
		registered(o.ObserveBus(a.bus)),
		registered(o.ObserveSupervisor(a.root)),
	); merr != nil {
		a.closeNATS()
		return nil, merr
	}
	return a, nil
}

// closeNATS closes what newApp opened for -nats and -db, when it fails.
func (a *App) closeNATS() {
	if a.store != nil {
		a.store.close()
	}
	if a.nats.bridge != nil {
		a.nats.bridge.Close()
	}
	if a.nats.sent != nil {
		a.nats.sent.Close()
	}
}

func second[T any](_ T, err error) error { return err }

// grace is how long a shutdown may take in all.
// debugPath is where the live supervision page is served.
const debugPath = "/debug/troupe/"

// keyedStats returns the Stats of the keyed actors: the order tracker's,
// and email's one actor per customer unless email comes from JetStream.
func (a *App) keyedStats() []func() actor.KeyedStats {
	ks := []func() actor.KeyedStats{a.tracker.KeyedStats}
	if a.emailKeys != nil {
		ks = append(ks, a.emailKeys.Stats)
	}
	return ks
}

// routes is the HTTP API (POST /orders, GET /stats), the live page of the
// supervision tree, mailboxes, subscriptions and dead letters, and the
// metrics for Prometheus.
func (a *App) routes() http.Handler {
	page := observer.New(observer.Options{
		Tree: func() []supervisor.ChildInfo { return a.root.Tree() },
		Mailboxes: []func() actor.Stats{
			a.emailStats, a.inventoryActor.Stats, a.analyticsActor.Stats,
		},
		Keyed:         a.keyedStats(),
		Subscriptions: a.bus.Stats,
		DeadLetters:   a.dead,
	})
	mux := http.NewServeMux()
	mux.Handle(debugPath, http.StripPrefix(strings.TrimSuffix(debugPath, "/"), page))
	mux.Handle(metricsPath, a.metrics.handler)
	mux.Handle("/", a.service.Handler())
	return mux
}

// serverAddr waits until the HTTP server listens and returns its address,
// or "" if stopped (closed first: the App's Run returned early) or ctx
// ended first.
func (a *App) serverAddr(ctx context.Context, stopped <-chan struct{}) string {
	select {
	case <-a.serving:
		return a.server.Addr().String()
	case <-stopped:
	case <-ctx.Done():
	}
	return ""
}

func (a *App) grace() time.Duration { return 4*a.cfg.DrainTimeout + 10*time.Second }

// Run runs the service until ctx is done, then shuts it down and accounts
// for whatever is left in a mailbox (see drainLeftovers).
func (a *App) Run(ctx context.Context) error {
	err := a.root.Run(ctx)
	a.drainLeftovers()
	if a.store != nil {
		a.store.close()
	}
	if a.nats.sent != nil {
		err = errors.Join(err, a.nats.sent.Close())
	}
	return errors.Join(err, a.metrics.provider.Shutdown(context.WithoutCancel(ctx)))
}

// drainLeftovers empties the mailboxes of actors that are not running any
// more: an actor (or a customer's email actor) whose supervisor gave up
// keeps the messages sent to it meanwhile. Running an actor with a
// cancelled context drains it within its drain timeout and reports the rest
// as dead letters, so every accepted message is accounted for. For an actor
// that stopped normally it is a no-op.
func (a *App) drainLeftovers() {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range []supervisor.Runner{a.emailKeys, a.inventoryActor, a.analyticsActor} {
		if err := r.Run(done); err != nil {
			a.log.Warn("draining a stopped actor", "error", err)
		}
	}
}

// closeBus is the bus's place in the tree: it closes the bus when stopped,
// which happens after email and inventory, the last publishers, stopped.
func (a *App) closeBus(ctx context.Context) error {
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.DrainTimeout)
	defer cancel()
	return a.bus.Close(cctx)
}

// publishOrder publishes an accepted order. Drops by a subscription's policy
// are not errors (the bus reports them as dead letters), and neither is a
// consumer that refused it because it is down for good (the email subtree
// after its supervisor gave up): the bus reports that as a dead letter too,
// and the other consumers got the order. A closed bus, or a Block
// subscription that gave up waiting, are errors: the order is answered 503.
//
// With -db the order is stored instead, with OrderCreated in the outbox, in
// one transaction, and the outbox's relay publishes it. With -nats the order
// first goes to JetStream (see publishDurable); only once JetStream stored
// it is it published on the local bus, so no local consumer sees an order
// answered 503 (for the stream, see publishDurable). After the ack the
// order is placed whatever the local bus says: a local failure is reported,
// and email, which reads the stream, still gets it.
func (a *App) publishOrder(ctx context.Context, o OrderCreated) error {
	var err error
	switch {
	case a.store != nil:
		err = a.store.place(ctx, o)
	case a.nats.api:
		if err := a.publishDurable(ctx, o); err != nil {
			return err
		}
		fallthrough
	default:
		err = bus.Publish(ctx, a.bus, o)
	}
	if err != nil && errors.Is(err, bus.ErrRejected) &&
		!errors.Is(err, bus.ErrTimeout) && !errors.Is(err, bus.ErrCanceled) && !errors.Is(err, bus.ErrClosed) {
		err = nil
	}
	if err != nil && a.nats.api {
		a.log.Warn("order stored in JetStream, not published locally", "order", o.ID, "error", err)
		err = nil
	}
	if err == nil && a.hooks.placed != nil {
		a.hooks.placed(o.ID)
	}
	return err
}

// durableTimeout bounds the wait for JetStream's ack of an order, within
// the request's own context.
const durableTimeout = 5 * time.Second

// publishDurable publishes o to JetStream and waits for the ack, trying
// again (with the same message ID: JetStream stores it once) until it is
// acknowledged or the request's time is up. The connection does not buffer
// publishes while it is down, so a publish that failed then was never sent;
// an order answered 503 may still be stored when a publish reached a broker
// that did not answer in time (paused or overloaded, or the connection
// dropped before the ack).
func (a *App) publishDurable(ctx context.Context, o OrderCreated) error {
	ctx, cancel := context.WithTimeout(ctx, durableTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := jetstream.Publish(ctx, a.nats.bridge, o)
		if err == nil {
			a.nats.published.Add(1)
			return nil
		}
		t := time.NewTimer(min(time.Duration(attempt)*50*time.Millisecond, time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			a.nats.unpublished.Add(1)
			return err
		}
	}
}

func publisher[E any](b *bus.Bus) func(context.Context, E) error {
	return func(ctx context.Context, e E) error { return bus.Publish(ctx, b, e) }
}

// tracked records in the ledger every OrderCreated whose handler returned.
// A handler that panicked did not return: its message is retried or becomes
// a dead letter, which the ledger records too.
func tracked[M any](l *Ledger, consumer string, h actor.Handler[M]) actor.Handler[M] {
	return func(ctx context.Context, m M) error {
		err := h(ctx, m)
		if o, ok := any(m).(OrderCreated); ok {
			l.Handled(consumer, o.ID)
		}
		return err
	}
}

func orderID(m any) string {
	if o, ok := m.(OrderCreated); ok {
		return o.ID
	}
	return ""
}

func (a *App) actorDeadLetter(dl actor.DeadLetter) {
	a.dead.Actor(dl)
	reason := reasonText(dl.Reason)
	a.ledger.Dead("actor "+dl.Actor, dl.Actor, orderID(dl.Msg), reason)
	a.log.Warn("dead letter", "actor", dl.Actor, "event", kind(dl.Msg), "order", eventID(dl.Msg), "reason", reason)
}

func (a *App) busDeadLetter(dl bus.DeadLetter) {
	a.dead.Bus(dl)
	reason := reasonText(dl.Reason)
	a.ledger.Dead("bus → "+dl.Subscription, dl.Subscription, orderID(dl.Event), reason)
	a.log.Debug("dead letter", "subscription", dl.Subscription, "event", kind(dl.Event), "order", eventID(dl.Event), "reason", reason)
}

func (a *App) handlerError(ctx context.Context, name string, msg any, err error) {
	a.log.WarnContext(ctx, "handler failed", "actor", name, "error", err)
}

func kind(m any) string {
	if e, ok := m.(Event); ok {
		return e.Kind()
	}
	return fmt.Sprintf("%T", m)
}

func eventID(m any) string {
	if e, ok := m.(Event); ok {
		return e.OrderID()
	}
	return ""
}

// reasonText names a dead letter's reason by the sentinel it matches, so
// that reasons count together in the summary.
func reasonText(err error) string {
	for _, s := range []error{
		actor.ErrKeyRestarts, actor.ErrTooManyKeys, actor.ErrPanicked, actor.ErrDrainTimeout, actor.ErrStopped,
		bus.ErrDroppedNewest, bus.ErrDroppedOldest, bus.ErrTimeout, bus.ErrCanceled, bus.ErrRejected, bus.ErrClosed,
	} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}
