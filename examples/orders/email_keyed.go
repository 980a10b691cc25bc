package main

import (
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
)

// newCustomerEmail returns the email consumer as one keyed actor per
// customer: each customer's emails go out one at a time, in order, and a
// customer whose emails hang (a mailbox provider that never answers) holds
// up no other customer, where a keyed pool's worker stuck on one customer
// holds up the customers it already held. The handler keeps no state, so
// every customer's actor shares it; an idle customer's actor is passivated
// after idle.
func newCustomerEmail(e *Emailer, ledger *Ledger, opts ...actor.KeyedOption) *actor.Keyed[string, OrderCreated] {
	h := tracked(ledger, consumerEmail, e.Handle)
	return actor.NewKeyed(consumerEmail, func(string) actor.Handler[OrderCreated] { return h }, opts...)
}

// customerInbox is what the per-customer email consumer subscribes to the
// bus with: every OrderCreated, to the actor of its customer.
func customerInbox(k *actor.Keyed[string, OrderCreated]) bus.Inbox[OrderCreated] {
	return k.By(func(o OrderCreated) string { return o.Customer })
}
