package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// consumerTracker is the name of the order tracker's keyed actor.
const consumerTracker = "tracker"

// Tracker follows every order to its outcome with one keyed actor per
// order, created by the order's first event: an order is complete once
// inventory answered (StockReserved, or OrderRejected) and its confirmation
// email went out (EmailSent). An order still incomplete after the deadline
// is flagged as overdue by a timer the order's actor set itself. Once done,
// an order's actor goes idle and is passivated, so the tracker holds only
// the orders in flight. An event arriving after its order was flagged and
// passivated starts the order afresh (it cannot tell a late event from an
// early one): the deadline must leave room for the slowest consumer. It is
// a supervisor.Runner and safe for concurrent use.
type Tracker struct {
	keyed    *actor.Keyed[string, Event]
	deadline time.Duration
	log      *slog.Logger

	completed, rejected, overdue atomic.Uint64
	// onDone, when set before Run, sees every order's outcome (tests).
	onDone func(id, outcome string)
}

// Outcomes of a tracked order.
const (
	outcomeCompleted = "completed"
	outcomeRejected  = "rejected"
	outcomeOverdue   = "overdue"
)

// orderDeadline is the message an order's actor sends itself when its
// deadline passes. It is an Event so that it shares the order's mailbox;
// it is never published.
type orderDeadline struct{ ID string }

func (d orderDeadline) OrderID() string { return d.ID }
func (orderDeadline) Kind() string      { return "OrderDeadline" }

// trackerDeadline is how long an order may take: every email attempt
// timing out, with its backoff, and a second for the email queue, which a
// burst of orders fills. A shorter one flags orders whose email is merely
// queued.
func trackerDeadline(cfg Config) time.Duration {
	return time.Duration(cfg.EmailAttempts)*(cfg.EmailTimeout+cfg.EmailBackoff) + time.Second
}

// trackerIdle is how long a done order's actor stays before it is
// passivated.
const trackerIdle = 50 * time.Millisecond

// NewTracker returns a tracker that flags orders not done within deadline
// and passivates an order's actor idle for idle. opts are given to the
// keyed actor (logger, hooks, clock).
func NewTracker(deadline, idle time.Duration, log *slog.Logger, opts ...actor.KeyedOption) *Tracker {
	t := &Tracker{deadline: deadline, log: log}
	opts = append([]actor.KeyedOption{actor.WithMailbox(8), actor.WithIdleTimeout(idle)}, opts...)
	t.keyed = actor.NewKeyed(consumerTracker, t.newOrder, opts...)
	return t
}

// Inbox is what the tracker subscribes to the bus with: every Event, to
// the actor of its order.
func (t *Tracker) Inbox() bus.Inbox[Event] {
	return t.keyed.By(func(e Event) string { return e.OrderID() })
}

// newOrder makes the handler of one order's actor, with the order's
// progress in its closure.
func (t *Tracker) newOrder(id string) actor.Handler[Event] {
	var stock, emailed, rejected, done bool
	var deadline actor.Timer
	finish := func(outcome string) {
		done = true
		if deadline != nil {
			deadline.Stop()
		}
		if t.onDone != nil {
			t.onDone(id, outcome)
		}
	}
	return func(ctx context.Context, e Event) error {
		if done {
			return nil // a late event of an order already done
		}
		if deadline == nil {
			deadline = actor.After[Event](ctx, t.deadline, orderDeadline{id})
		}
		switch e.(type) {
		case StockReserved:
			stock = true
		case OrderRejected:
			stock, rejected = true, true
		case EmailSent:
			emailed = true
		case orderDeadline:
			t.overdue.Add(1)
			t.log.WarnContext(ctx, "order overdue", "order", id, "stock", stock, "emailed", emailed, "deadline", t.deadline)
			finish(outcomeOverdue)
			return nil
		}
		switch {
		case stock && emailed && rejected:
			t.rejected.Add(1)
			finish(outcomeRejected)
		case stock && emailed:
			t.completed.Add(1)
			finish(outcomeCompleted)
		}
		return nil
	}
}

// Run runs the orders' actors until ctx is done, then logs what the
// tracker saw.
func (t *Tracker) Run(ctx context.Context) error {
	err := t.keyed.Run(ctx)
	s := t.Stats()
	t.log.Info("order tracker", "tracked", s.Tracked, "completed", s.Completed, "rejected", s.Rejected,
		"overdue", s.Overdue, "unfinished at stop", s.Tracked-s.Completed-s.Rejected-s.Overdue, "passivated", s.Passivated)
	return err
}

// Retire reports what a tracker that will not run again still held.
func (t *Tracker) Retire() { t.keyed.Retire() }

// TrackerStats counts the orders the tracker followed.
type TrackerStats struct {
	Tracked    uint64 `json:"tracked"`    // orders' actors created
	Completed  uint64 `json:"completed"`  // stock reserved and email sent
	Rejected   uint64 `json:"rejected"`   // rejected by inventory, email sent
	Overdue    uint64 `json:"overdue"`    // not done within the deadline
	Passivated uint64 `json:"passivated"` // orders' actors stopped when idle
	InFlight   int    `json:"in_flight"`  // orders' actors live now
}

// KeyedStats returns the counters of the tracker's keyed actor, for the
// live page and the metrics.
func (t *Tracker) KeyedStats() actor.KeyedStats { return t.keyed.Stats() }

// Stats returns the tracker's counts.
func (t *Tracker) Stats() TrackerStats {
	k := t.keyed.Stats()
	return TrackerStats{
		Tracked:    k.Created,
		Completed:  t.completed.Load(),
		Rejected:   t.rejected.Load(),
		Overdue:    t.overdue.Load(),
		Passivated: k.Passivated,
		InFlight:   k.Keys,
	}
}
