package main

import (
	"slices"
	"strings"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/troupeotel"
)

// Stats is the answer to GET /stats.
type Stats struct {
	Orders        OrderStats          `json:"orders"`
	Actors        []ActorStats        `json:"actors"`
	Subscriptions []SubscriptionStats `json:"subscriptions"`
	Supervisor    []ChildStats        `json:"supervisor"`
	Restarts      int                 `json:"restarts"` // sum over the tree
	Email         EmailStats          `json:"email"`
	EmailKeys     EmailKeyStats       `json:"email_customers"`
	Inventory     InventoryStats      `json:"inventory"`
	Analytics     map[string]int      `json:"analytics"` // events seen, by kind
	DeadLetters   []DeadLetterCount   `json:"dead_letters"`
	NATS          *NATSStats          `json:"nats,omitempty"` // with -nats
}

// NATSStats counts what crossed JetStream (-nats).
type NATSStats struct {
	Stream      string `json:"stream"`
	Role        string `json:"role"`
	Published   uint64 `json:"published"`     // orders JetStream acknowledged: answered 201
	Unpublished uint64 `json:"unpublished"`   // orders JetStream did not acknowledge in time: answered 503
	Acked       uint64 `json:"email_acked"`   // orders acked by the email import
	Retried     uint64 `json:"email_retried"` // handler attempts made again after a failure
	Dead        uint64 `json:"email_dead"`
	Released    uint64 `json:"email_released"` // given back unhandled at shutdown
	Skipped     uint64 `json:"email_skipped"`  // delivered again, already emailed
	Twice       uint64 `json:"email_twice"`    // emailed by two workers (one frozen mid-send)
}

// OrderStats counts the answers of the order handler.
type OrderStats struct {
	Placed      uint64 `json:"placed"`
	BadRequests uint64 `json:"bad_requests"`
	Unavailable uint64 `json:"unavailable"`
}

// ActorStats is one actor's counters.
type ActorStats struct {
	Name        string `json:"name"`
	Handled     uint64 `json:"handled"`
	Failed      uint64 `json:"failed"`
	Panics      uint64 `json:"panics"`
	Queued      int    `json:"queued"`
	Capacity    int    `json:"capacity"`
	DeadLetters uint64 `json:"dead_letters"`
	Running     bool   `json:"running"`
}

// SubscriptionStats is one bus subscription's counters.
type SubscriptionStats struct {
	Name      string `json:"name"`
	Event     string `json:"event"`
	Policy    string `json:"policy"`
	Delivered uint64 `json:"delivered"`
	Dropped   uint64 `json:"dropped"`
	Queued    int    `json:"queued"`
}

// ChildStats is one child of the supervision tree.
type ChildStats struct {
	Path      string `json:"path"`
	State     string `json:"state"`
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
}

// EmailStats counts what the email consumer did.
type EmailStats struct {
	Sent          uint64 `json:"sent"`
	Retried       uint64 `json:"retried"`
	Failed        uint64 `json:"failed"`
	Interrupted   uint64 `json:"interrupted"`
	ProviderCalls uint64 `json:"provider_calls"`
	Timeouts      uint64 `json:"provider_timeouts"`
	Panics        uint64 `json:"provider_panics"`
}

// EmailKeyStats counts the email consumer's actors, one per customer.
type EmailKeyStats struct {
	Live        int    `json:"live"`         // customers' actors live now
	Created     uint64 `json:"created"`      // by a customer's first email, or its first since passivated
	Passivated  uint64 `json:"passivated"`   // stopped and freed when idle
	Restarted   uint64 `json:"restarted"`    // restarted from the factory after a panic
	Removed     uint64 `json:"removed"`      // removed after too many panics, their queue dead letters
	DeadLetters uint64 `json:"dead_letters"` // emails the customers' actors accepted and reported unsent
}

// InventoryStats counts what the inventory consumer did.
type InventoryStats struct {
	Updates    uint64         `json:"updates"`
	UnknownSKU uint64         `json:"rejected_unknown_sku"`
	OutOfStock uint64         `json:"rejected_out_of_stock"`
	Unposted   uint64         `json:"follow_ups_not_published"`
	Stock      map[string]int `json:"stock"`
}

// Stats returns a snapshot of the service's counters.
func (a *App) Stats() Stats {
	st := Stats{
		Orders: OrderStats{
			Placed:      a.service.placed.Load(),
			BadRequests: a.service.badRequests.Load(),
			Unavailable: a.service.unavailable.Load(),
		},
		Email: EmailStats{
			Sent:        a.emailer.delivered.Load(),
			Retried:     a.emailer.retries.Load(),
			Failed:      a.emailer.failed.Load(),
			Interrupted: a.emailer.cut.Load(),
		},
		Inventory:   a.inventory.Stats(),
		Analytics:   a.analytics.Counts(),
		DeadLetters: a.ledger.DeadLetters(),
	}
	if p := a.provider; p != nil {
		st.Email.ProviderCalls, st.Email.Timeouts, st.Email.Panics = p.calls.Load(), p.timeouts.Load(), p.panics.Load()
	}
	ks := a.emailKeys.Stats()
	dead, _ := emailDeadLetters(st.DeadLetters)
	st.EmailKeys = EmailKeyStats{
		Live: ks.Keys, Created: ks.Created, Passivated: ks.Passivated, Restarted: ks.Restarted, Removed: ks.Removed,
		DeadLetters: dead,
	}
	var email actor.Stats
	if a.nats.email != nil {
		email = a.nats.email.Stats().Actor
	} else {
		email = a.emailStats()
	}
	st.Actors = append(st.Actors, actorStats(email), actorStats(a.inventoryActor.Stats()), actorStats(a.analyticsActor.Stats()))
	if a.nats.bridge != nil {
		st.NATS = &NATSStats{Stream: a.nats.bridge.Stream(), Role: a.cfg.Role}
		st.NATS.Published, st.NATS.Unpublished = a.nats.published.Load(), a.nats.unpublished.Load()
		if im := a.nats.email; im != nil {
			is := im.Stats()
			st.NATS.Acked, st.NATS.Retried, st.NATS.Dead, st.NATS.Released = is.Acked, is.Retried+is.Naked, is.Terminated, is.Released
			st.NATS.Skipped, st.NATS.Twice = a.nats.skipped(), a.nats.twice()
		}
	}
	for _, s := range a.bus.Stats() {
		st.Subscriptions = append(st.Subscriptions, SubscriptionStats{
			Name:      s.Name,
			Event:     strings.TrimPrefix(s.Type.String(), "main."),
			Policy:    s.Policy.String(),
			Delivered: s.Delivered,
			Dropped:   s.Dropped.Total(),
			Queued:    s.Queued,
		})
	}
	for _, c := range a.root.Tree() {
		cs := ChildStats{Path: c.Path, State: c.State.String(), Restarts: c.Restarts}
		if c.LastError != nil {
			cs.LastError = c.LastError.Error()
		}
		st.Supervisor = append(st.Supervisor, cs)
		st.Restarts += c.Restarts
	}
	return st
}

// emailStats returns the email consumer's counters as one actor's, for the
// live page, the metrics and /stats. A customer's actor takes its own
// counters with it when it is passivated, so the totals come from where
// they are kept for good: handled and failed from the Emailer (emails sent;
// given up or cut by the shutdown), panics from the Keyed's restarts, dead
// letters from the ledger. Queued and Capacity are summed over the
// customers live now; reading them visits every live customer.
func (a *App) emailStats() actor.Stats {
	ks := a.emailKeys.Stats()
	s := actor.Stats{
		Name:    ks.Name,
		Handled: a.emailer.delivered.Load(),
		Failed:  a.emailer.failed.Load() + a.emailer.cut.Load(),
		Panics:  ks.Restarted,
		Running: ks.Running,
	}
	s.DeadLetters, s.DeadLettersBy = emailDeadLetters(a.ledger.DeadLetters())
	for _, c := range a.emailKeys.Keys() {
		if k, ok := a.emailKeys.KeyStats(c); ok {
			s.Queued += k.Queued
			s.Capacity += k.Capacity
		}
	}
	return s
}

// statsFunc is a function returning an actor's counters, as the Stats
// method troupeotel reads.
type statsFunc func() actor.Stats

// Stats returns f().
func (f statsFunc) Stats() actor.Stats { return f() }

// keyedStatsFunc is a Stats function of keyed actors as a
// troupeotel.KeyedStatser.
type keyedStatsFunc func() actor.KeyedStats

// Stats returns f().
func (f keyedStatsFunc) Stats() actor.KeyedStats { return f() }

// keyedStatsers returns fs as troupeotel.KeyedStatsers.
func keyedStatsers(fs []func() actor.KeyedStats) []troupeotel.KeyedStatser {
	ks := make([]troupeotel.KeyedStatser, len(fs))
	for i, f := range fs {
		ks[i] = keyedStatsFunc(f)
	}
	return ks
}

// emailDeadLetters counts the dead letters the customers' email actors
// reported, in all and by reason (a customer removed after too many
// panics counts as panicked).
func emailDeadLetters(ds []DeadLetterCount) (total uint64, by actor.DeadLetterCounts) {
	for _, d := range ds {
		if d.Where != "actor "+consumerEmail {
			continue
		}
		n := uint64(d.Count)
		total += n
		switch d.Reason {
		case actor.ErrPanicked.Error(), actor.ErrKeyRestarts.Error():
			by.Panicked += n
		case actor.ErrDrainTimeout.Error():
			by.DrainTimeout += n
		case actor.ErrStopped.Error():
			by.Stopped += n
		}
	}
	return total, by
}

func actorStats(s actor.Stats) ActorStats {
	return ActorStats{
		Name: s.Name, Handled: s.Handled, Failed: s.Failed, Panics: s.Panics,
		Queued: s.Queued, Capacity: s.Capacity, DeadLetters: s.DeadLetters, Running: s.Running,
	}
}

// child returns the stats of the child at path, and whether there is one.
func (st Stats) child(path string) (ChildStats, bool) {
	i := slices.IndexFunc(st.Supervisor, func(c ChildStats) bool { return c.Path == path })
	if i < 0 {
		return ChildStats{}, false
	}
	return st.Supervisor[i], true
}
