package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// Mailer sends one confirmation email. The email consumer calls it; tests
// replace the simulated provider with one that blocks or panics.
type Mailer interface {
	Send(ctx context.Context, to, orderID string) error
}

// errProviderTimeout is the simulated provider's timeout: worth a retry.
var errProviderTimeout = errors.New("email provider: timed out")

// Provider simulates a flaky email provider: every call is slow, some hang
// until they time out, a few panic (a bug in its client library, say). The
// outcome of a call depends only on the seed, the order ID and how many
// times that order was tried, so a seeded run makes the same calls fail
// whatever the interleaving. It is safe for concurrent use.
type Provider struct {
	seed        uint64
	latency     time.Duration // mean time of an answer
	timeout     time.Duration // how long a call that times out hangs
	failureRate float64       // chance that a call times out
	panicRate   float64       // chance that a call panics

	mu    sync.Mutex
	tries map[string]uint64 // per order ID

	latencies Latencies // of every call, whatever its outcome
	calls     atomic.Uint64
	panics    atomic.Uint64
	timeouts  atomic.Uint64
}

// NewProvider returns a simulated provider; see [Config] for the meaning of
// the arguments.
func NewProvider(seed uint64, latency, timeout time.Duration, failureRate, panicRate float64) *Provider {
	return &Provider{
		seed: seed, latency: latency, timeout: timeout,
		failureRate: failureRate, panicRate: panicRate,
		tries: make(map[string]uint64),
	}
}

// Send pretends to send the confirmation of orderID to to.
func (p *Provider) Send(ctx context.Context, to, orderID string) error {
	p.mu.Lock()
	p.tries[orderID]++
	try := p.tries[orderID]
	p.mu.Unlock()
	h := fnv.New64a()
	h.Write([]byte(orderID))
	r := rand.New(rand.NewPCG(p.seed, h.Sum64()+try))

	p.calls.Add(1)
	start := time.Now()
	defer func() { p.latencies.Add(time.Since(start)) }()
	x := r.Float64()
	switch {
	case x < p.panicRate:
		p.panics.Add(1)
		panic(fmt.Sprintf("email provider: connection reset by peer sending %s to %s", orderID, to))
	case x < p.panicRate+p.failureRate:
		p.timeouts.Add(1)
		if err := pause(ctx, p.timeout); err != nil {
			return err
		}
		return errProviderTimeout
	}
	// Between half and one and a half times the mean latency.
	return pause(ctx, p.latency/2+time.Duration(r.Int64N(int64(p.latency)+1)))
}

// pause waits d, or until ctx is done and returns its error.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Emailer is the email consumer: it sends the confirmation of every
// OrderCreated through a Mailer, retrying with exponential backoff when the
// provider times out, and publishes EmailSent when it got through. A panic
// in the Mailer is not caught here: the customer's actor is restarted from
// its factory and retries the message once (see newCustomerEmail).
type Emailer struct {
	mailer   Mailer
	attempts int           // calls per order before giving up
	backoff  time.Duration // wait after the first timeout; doubled after each
	sent     func(context.Context, EmailSent) error

	delivered atomic.Uint64 // emails the provider accepted
	retries   atomic.Uint64 // calls repeated after a timeout
	failed    atomic.Uint64 // orders given up on after timeouts
	cut       atomic.Uint64 // orders given up on because the actor stopped
}

// Handle is the email actor's handler.
func (e *Emailer) Handle(ctx context.Context, o OrderCreated) error {
	wait := e.backoff
	for attempt := 1; ; attempt++ {
		err := e.mailer.Send(ctx, o.Email, o.ID)
		if err == nil {
			e.delivered.Add(1)
			if err := e.sent(ctx, EmailSent{ID: o.ID, To: o.Email, Attempts: attempt}); err != nil {
				return fmt.Errorf("email for %s sent, EmailSent not published: %w", o.ID, err)
			}
			return nil
		}
		if ctx.Err() != nil {
			e.cut.Add(1)
			return fmt.Errorf("email for %s: interrupted by the shutdown: %w", o.ID, err)
		}
		if !errors.Is(err, errProviderTimeout) || attempt >= e.attempts {
			e.failed.Add(1)
			return fmt.Errorf("email for %s: giving up after %d attempts: %w", o.ID, attempt, err)
		}
		e.retries.Add(1)
		if err := pause(ctx, wait); err != nil {
			e.cut.Add(1)
			return fmt.Errorf("email for %s: interrupted by the shutdown: %w", o.ID, err)
		}
		wait *= 2
	}
}

// emailIdle is how long a customer's email actor stays without an email
// before it is passivated.
const emailIdle = 50 * time.Millisecond

// newCustomerEmail returns the email consumer as one keyed actor per
// customer: each customer's emails go out one at a time, in order, and a
// customer whose emails hang (a mail server that never answers) holds up
// no other customer: its queue is its own mailbox, where in a pool it
// shares, and can fill, the pool's one mailbox. The handler keeps no state, so
// every customer's actor shares it; a key that panics is restarted from the
// factory with its queue kept, and its email is tried once more: the
// provider's panics are flukes, not poison. opts are the options of each
// customer's actor (mailbox, logger, hooks, drain) and of the Keyed.
func newCustomerEmail(e *Emailer, ledger *Ledger, opts ...actor.KeyedOption) *actor.Keyed[string, OrderCreated] {
	h := tracked(ledger, consumerEmail, e.Handle)
	opts = append([]actor.KeyedOption{actor.WithMaxRetries(1), actor.WithIdleTimeout(emailIdle)}, opts...)
	return actor.NewKeyed(consumerEmail, func(string) actor.Handler[OrderCreated] { return h }, opts...)
}

// customerInbox is what the per-customer email consumer subscribes to the
// bus with: every OrderCreated, to the actor of its customer.
func customerInbox(k *actor.Keyed[string, OrderCreated]) bus.Inbox[OrderCreated] {
	return k.By(func(o OrderCreated) string { return o.Customer })
}
