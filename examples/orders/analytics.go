package main

import (
	"context"
	"log/slog"
	"maps"
	"sync"
)

// Analytics is the analytics consumer. Its actor is subscribed to the Event
// interface, not to a concrete type, so it receives every event anyone
// publishes: orders, stock reservations, rejections and sent emails. It
// logs each one (at level Debug: run with -v to see them) and counts them
// by kind. It is safe for concurrent use.
type Analytics struct {
	log *slog.Logger

	mu     sync.Mutex
	counts map[string]int
}

// NewAnalytics returns an analytics consumer that logs to log.
func NewAnalytics(log *slog.Logger) *Analytics {
	return &Analytics{log: log, counts: make(map[string]int)}
}

// Handle is the analytics actor's handler.
func (a *Analytics) Handle(ctx context.Context, e Event) error {
	a.mu.Lock()
	a.counts[e.Kind()]++
	a.mu.Unlock()
	a.log.DebugContext(ctx, "analytics", "event", e.Kind(), "order", e.OrderID())
	return nil
}

// Counts returns how many events of each kind were seen.
func (a *Analytics) Counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.counts)
}
