package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// printSummary writes the final summary table. load is nil when there was
// no demo load (-serve).
func printSummary(w io.Writer, a *App, load *loadResult, took time.Duration) {
	st := a.Stats()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...any) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}

	fmt.Fprintf(tw, "\ntroupe orders: finished in %v (seed %d)\n\n", took.Round(time.Millisecond), a.cfg.Seed)
	row("ORDERS", "", "")
	placed := "201 Created: published, answered without waiting for any consumer"
	if a.store != nil {
		placed = "201 Created: stored with OrderCreated in one transaction; the outbox relay published it"
	}
	row("  placed", st.Orders.Placed, placed)
	if load != nil {
		if n := load.Sent - load.Statuses[http.StatusCreated]; n > 0 {
			row("  not placed", n, fmt.Sprintf("answers %v, %d without an answer", load.Statuses, load.Errors))
		}
		row("  bad requests", st.Orders.BadRequests, fmt.Sprintf("answered %s; nothing published", statuses(load.Bad)))
	} else {
		row("  bad requests", st.Orders.BadRequests, "answered 400/413; nothing published")
	}
	if st.Orders.Unavailable > 0 {
		row("  unavailable", st.Orders.Unavailable, "answered 503: not published")
	}

	row("INVENTORY", "", "")
	row("  updates", st.Inventory.Updates, "orders taken off the stock; StockReserved published")
	row("  rejected", st.Inventory.UnknownSKU+st.Inventory.OutOfStock,
		fmt.Sprintf("%d out of stock, %d unknown SKU; OrderRejected published", st.Inventory.OutOfStock, st.Inventory.UnknownSKU))

	row("EMAIL", "", "")
	row("  sent", st.Email.Sent, "EmailSent published")
	row("  retried", st.Email.Retried, "provider timed out; tried again with backoff")
	row("  failed", st.Email.Failed+st.Email.Interrupted, fmt.Sprintf("%d timed out %d times, %d interrupted by the shutdown", st.Email.Failed, a.cfg.EmailAttempts, st.Email.Interrupted))
	if a.provider != nil {
		how := fmt.Sprintf("the customer's actor restarts and tries the email once more; past %d panics within %v its supervisor restarts email", a.cfg.EmailPanics, a.cfg.EmailWindow)
		if a.nats.email != nil {
			how = "the import tries the order again with backoff (see JETSTREAM)"
		}
		row("  provider panics", st.Email.Panics, fmt.Sprintf("of %d calls; each recovered: %s", st.Email.ProviderCalls, how))
	}

	row("ANALYTICS", "", "")
	row("  events", sum(st.Analytics), "one subscription to the Event interface: "+counts(st.Analytics))

	if a.nats.bridge == nil { // with -nats, email is imported from JetStream
		k := st.EmailKeys
		row("EMAIL BY CUSTOMER", "", "one keyed actor per customer (actor.NewKeyed): a customer's emails in order, a hung customer holds up no other")
		row("  keys created", k.Created, "by a customer's first email, or its first since its actor was passivated")
		row("  passivated", k.Passivated, fmt.Sprintf("idle for %v: stopped and freed", emailIdle))
		row("  restarted", k.Restarted, fmt.Sprintf("from the factory after a panic, queue kept; %d removed after too many", k.Removed))
		row("  dead letters", k.DeadLetters, "accepted by a customer's actor, never sent: see DEAD LETTERS")
	}

	if a.tracker != nil {
		t := a.tracker.Stats()
		row("ORDER TRACKER", "", "one keyed actor per order (actor.NewKeyed), made by its first event")
		row("  orders tracked", t.Tracked, "keys created")
		row("  completed", t.Completed+t.Rejected, fmt.Sprintf("%d stock reserved and emailed, %d rejected and emailed", t.Completed, t.Rejected))
		row("  overdue", t.Overdue, "flagged by the order's own timer: not done within its deadline")
		done := t.Completed + t.Rejected + t.Overdue
		row("  passivated", t.Passivated, fmt.Sprintf("idle keys stopped and freed; %d orders unfinished at the stop (no email)", t.Tracked-min(done, t.Tracked)))
	}

	row("SUPERVISION", "", "")
	row("  actor restarts", st.Restarts, "by supervisors: "+restarted(st.Supervisor))

	if n := st.NATS; n != nil {
		row("JETSTREAM", "", fmt.Sprintf("stream %s, role %s", n.Stream, n.Role))
		if a.nats.api {
			row("  published", n.Published, fmt.Sprintf("OrderCreated stored by JetStream before the 201 (%d not acknowledged in time: 503)", n.Unpublished))
		}
		if a.nats.email != nil {
			row("  email acked", n.Acked, fmt.Sprintf("acked after the handler returned nil; %d skipped: already in the shared bucket", n.Skipped))
			if n.Twice > 0 {
				row("  emailed twice", n.Twice, "sent here while another worker sent it too (a worker frozen or cut off mid-send)")
			}
			row("  retried", n.Retried, fmt.Sprintf("handler failed or panicked, tried again with backoff, in order; %d dead after the last attempt", n.Dead))
			row("  released", n.Released, "pulled, given back unhandled when the worker stopped")
		}
	}

	row("DEAD LETTERS", deadTotal(st.DeadLetters), "accepted, never handled, and reported with the reason")
	for _, d := range st.DeadLetters {
		row("  "+d.Where, d.Count, d.Reason)
	}

	row("LATENCY", "p50", "p99")
	n, hp := a.service.latency.Percentiles(50, 99)
	row(fmt.Sprintf("  POST /orders handler (%d)", n), hp[0].Round(time.Microsecond), hp[1].Round(time.Microsecond))
	if a.provider != nil {
		n, ep := a.provider.latencies.Percentiles(50, 99)
		row(fmt.Sprintf("  email provider call (%d)", n), ep[0].Round(time.Microsecond), ep[1].Round(time.Microsecond))
	}

	if load != nil {
		row("ACCOUNTING", "", "each accepted order, at each consumer: handled, or a dead letter")
		for _, c := range consumers {
			if c == consumerEmail && a.nats.bridge != nil && a.nats.email == nil {
				row("  "+c, len(load.Accepted), "stored in JetStream: the workers (-role workers) email them")
				continue
			}
			acc := a.ledger.Account(c, load.Accepted)
			verdict := "every order accounted for"
			if acc.Missing > 0 || acc.Twice > 0 {
				verdict = fmt.Sprintf("MISMATCH: %d missing, %d twice", acc.Missing, acc.Twice)
			}
			row("  "+c, fmt.Sprintf("%d = %d + %d", len(load.Accepted), acc.Handled, acc.Dead), verdict)
		}
	}
	tw.Flush()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func statuses(m map[int]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", m[k], k))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func restarted(children []ChildStats) string {
	var parts []string
	for _, c := range children {
		if c.Restarts > 0 || c.State == "failed" {
			parts = append(parts, fmt.Sprintf("%s %d (%s)", c.Path, c.Restarts, c.State))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func deadTotal(ds []DeadLetterCount) int {
	n := 0
	for _, d := range ds {
		n += d.Count
	}
	return n
}
