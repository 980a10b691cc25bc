package observer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/observer"
	"github.com/troupe-go/troupe/supervisor"
)

// OrderPlaced is the event of the example.
type OrderPlaced struct{ ID int }

// Example mounts the page at /debug/troupe for a supervised actor
// subscribed to a bus, with the dead letters of both recorded for it.
func Example() {
	dead := observer.NewDeadLetters(100, slog.Default())
	b := bus.New(bus.WithDeadLetterHook(dead.Bus))
	email := actor.New("email", func(ctx context.Context, o OrderPlaced) error {
		return nil // send the confirmation
	}, actor.WithDeadLetterHook(dead.Actor))
	if _, err := bus.Subscribe[OrderPlaced](b, email, bus.WithName("email")); err != nil {
		panic(err)
	}
	root := supervisor.New("shop")
	if err := root.Add("email", email); err != nil {
		panic(err)
	}

	page := observer.New(observer.Options{
		Tree:          root.Tree,
		Mailboxes:     []func() actor.Stats{email.Stats},
		Subscriptions: b.Stats,
		DeadLetters:   dead,
	})
	mux := http.NewServeMux()
	mux.Handle("/debug/troupe/", http.StripPrefix("/debug/troupe", page))
	// A program serves mux, e.g. http.ListenAndServe("localhost:6060", mux),
	// and runs root; here the page is read before root runs.

	_ = bus.Publish(context.Background(), b, OrderPlaced{ID: 1})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/debug/troupe/", nil))
	fmt.Println("page:", w.Code, w.Header().Get("Content-Type"))

	snap := page.Snapshot()
	c, m, s := snap.Tree[0], snap.Mailboxes[0], snap.Subscriptions[0]
	fmt.Printf("child %s: %s, %d restarts\n", c.Path, c.State, c.Restarts)
	fmt.Printf("mailbox %s: %d of %d queued\n", m.Name, m.Queued, m.Capacity)
	fmt.Printf("subscription %s: %d delivered, %d dropped\n", s.Name, s.Delivered, s.Dropped["newest"])
	// Output:
	// page: 200 text/html; charset=utf-8
	// child shop/email: idle, 0 restarts
	// mailbox email: 1 of 256 queued
	// subscription email: 1 delivered, 0 dropped
}
