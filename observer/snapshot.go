package observer

import (
	"time"

	"github.com/troupe-go/troupe/actor"
)

// A Snapshot is what the page shows at one moment, as served in JSON by
// "/snapshot" and "/events". Each part is read from its source one after the
// other, so the parts are not one atomic picture.
type Snapshot struct {
	// Time is when the snapshot was taken.
	Time time.Time `json:"time"`
	// Tree is the supervision tree, depth first.
	Tree []Child `json:"tree"`
	// Mailboxes are the actors' and pools' mailboxes, in Options order.
	Mailboxes []Mailbox `json:"mailboxes"`
	// Keyed are the keyed actors, in Options order.
	Keyed []Keyed `json:"keyed"`
	// Subscriptions are the bus's subscriptions.
	Subscriptions []Subscription `json:"subscriptions"`
	// DeadLetters are the latest dead letters, newest first.
	DeadLetters []DeadLetter `json:"deadLetters"`
	// DeadLetterTotal counts every dead letter recorded.
	DeadLetterTotal uint64 `json:"deadLetterTotal"`
}

// A Child is one child of the supervision tree.
type Child struct {
	Path     string `json:"path"`
	State    string `json:"state"`
	Restarts int    `json:"restarts"`
	// LastError is the text of the last failure's error; empty if none.
	LastError string    `json:"lastError"`
	Since     time.Time `json:"since"`
	// Backoff is the wait before the next restart while crash-looping.
	Backoff time.Duration `json:"backoff"`
}

// A Mailbox is an actor's or a pool's mailbox and counters.
type Mailbox struct {
	Name     string `json:"name"`
	Queued   int    `json:"queued"`
	Capacity int    `json:"capacity"`
	// OldestWait is how long the message at the head has been waiting.
	OldestWait  time.Duration `json:"oldestWait"`
	Handled     uint64        `json:"handled"`
	Failed      uint64        `json:"failed"`
	Panics      uint64        `json:"panics"`
	DeadLetters uint64        `json:"deadLetters"`
	Running     bool          `json:"running"`
}

// A Keyed is a keyed actor ([actor.Keyed]): its live keys and its counts
// over all keys, those passivated or removed included.
type Keyed struct {
	Name string `json:"name"`
	// Keys is the number of live keys.
	Keys int `json:"keys"`
	// Created, Passivated and Removed count the keys' actors created by a
	// first message, stopped after their idle timeout, and removed after
	// too many panics.
	Created    uint64 `json:"created"`
	Passivated uint64 `json:"passivated"`
	Removed    uint64 `json:"removed"`
	// Restarted counts the restarts of keys' actors after a panic.
	Restarted   uint64 `json:"restarted"`
	DeadLetters uint64 `json:"deadLetters"`
	Running     bool   `json:"running"`
}

// A Subscription is a bus subscription and its counters.
type Subscription struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Policy    string `json:"policy"`
	Delivered uint64 `json:"delivered"`
	// Dropped counts the drops by reason: newest, oldest, timeout,
	// canceled, rejected.
	Dropped  map[string]uint64 `json:"dropped"`
	Queued   int               `json:"queued"`
	Capacity int               `json:"capacity"`
	Slow     bool              `json:"slow"`
}

// Pool returns the Stats function of a pool for [Options].Mailboxes: the
// pool's counters summed as for an actor.
func Pool[M any](p *actor.Pool[M]) func() actor.Stats {
	return func() actor.Stats { return p.Stats().Stats }
}

// Snapshot reads every source in the handler's [Options] once and returns
// what the page shows now.
func (h *Handler) Snapshot() Snapshot {
	s := Snapshot{
		Time:          time.Now(),
		Tree:          []Child{},
		Mailboxes:     []Mailbox{},
		Keyed:         []Keyed{},
		Subscriptions: []Subscription{},
		DeadLetters:   []DeadLetter{},
	}
	if h.opts.Tree != nil {
		for _, c := range h.opts.Tree() {
			ch := Child{Path: c.Path, State: c.State.String(), Restarts: c.Restarts, Since: c.Since, Backoff: c.Backoff}
			if c.LastError != nil {
				ch.LastError = c.LastError.Error()
			}
			s.Tree = append(s.Tree, ch)
		}
	}
	for _, stats := range h.opts.Mailboxes {
		a := stats()
		s.Mailboxes = append(s.Mailboxes, Mailbox{
			Name: a.Name, Queued: a.Queued, Capacity: a.Capacity, OldestWait: a.OldestWait,
			Handled: a.Handled, Failed: a.Failed, Panics: a.Panics, DeadLetters: a.DeadLetters, Running: a.Running,
		})
	}
	for _, stats := range h.opts.Keyed {
		k := stats()
		s.Keyed = append(s.Keyed, Keyed{
			Name: k.Name, Keys: k.Keys, Created: k.Created, Passivated: k.Passivated, Removed: k.Removed,
			Restarted: k.Restarted, DeadLetters: k.DeadLetters, Running: k.Running,
		})
	}
	if h.opts.Subscriptions != nil {
		for _, b := range h.opts.Subscriptions() {
			sub := Subscription{
				Name: b.Name, Policy: b.Policy.String(), Delivered: b.Delivered,
				Dropped: map[string]uint64{
					"newest":   b.Dropped.Newest,
					"oldest":   b.Dropped.Oldest,
					"timeout":  b.Dropped.Timeout,
					"canceled": b.Dropped.Canceled,
					"rejected": b.Dropped.Rejected,
				},
				Queued: b.Queued, Capacity: b.Capacity, Slow: b.Slow,
			}
			if b.Type != nil {
				sub.Type = b.Type.String()
			}
			s.Subscriptions = append(s.Subscriptions, sub)
		}
	}
	if h.opts.DeadLetters != nil {
		s.DeadLetters, s.DeadLetterTotal = h.opts.DeadLetters.Latest()
	}
	return s
}
