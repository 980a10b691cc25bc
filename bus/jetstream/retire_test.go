package jetstream

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/supervisor"
)

// Both runners a supervisor runs are told when it will not run them again.
var (
	_ supervisor.Retirer = (*Import[int])(nil)
	_ supervisor.Retirer = (*Exporter)(nil)
)

// A Run that ended with a handler panic leaves the messages it pulled in
// the import's mailbox for the next Run; when no Run will come, Retire gives
// them back to JetStream at once instead of leaving them unacked until
// AckWait.
func TestRetireGivesBackPulledMessages(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	busy, release := make(chan struct{}), make(chan struct{})
	var crashed atomic.Bool
	handled := make(chan string, 8)
	im := NewImport("retired", b, func(_ context.Context, o OrderCreated) error {
		if !crashed.Load() && o.ID == "a" {
			close(busy)
			<-release
			crashed.Store(true)
			panic("provider exploded")
		}
		handled <- o.ID
		return nil
	}, WithBackoff(minDelay, minDelay))
	for _, id := range []string{"a", "b", "c"} {
		if err := Publish(ctx, b, OrderCreated{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- im.Run(ctx) }()
	<-busy
	for im.Stats().Actor.Queued != 3 { // a in the handler, b and c pulled behind it
		runtime.Gosched()
	}
	close(release)
	var perr *actor.PanicError
	if err := recv(t, errc); !errors.As(err, &perr) {
		t.Fatalf("Run = %v; want the handler's *PanicError", err)
	}
	if s := im.Stats(); s.Actor.Queued != 2 || s.Released != 0 {
		t.Fatalf("after the crash: queued %d, released %d; want 2, 0", s.Actor.Queued, s.Released)
	}

	im.Retire()
	if s := im.Stats(); s.Actor.Queued != 0 || s.Released != 2 || s.Naked != 1 {
		t.Errorf("after Retire: queued %d, released %d, naked %d; want 0, 2 (b, c) and 1 (a)", s.Actor.Queued, s.Released, s.Naked)
	}
	// Run again: all three are redelivered by JetStream and handled.
	run(t, im)
	got := map[string]bool{}
	for range 3 {
		got[recv(t, handled)] = true
	}
	if !got["a"] || !got["b"] || !got["c"] {
		t.Errorf("handled %v after Retire and a new Run; want a, b and c", got)
	}
}

// The server must not end redeliveries on its own: it would count the
// deliveries of released messages too and drop one without a report.
func TestConsumerLeavesMaxDeliverToTheImport(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 1)
	im := NewImport("unbounded", b, func(_ context.Context, o OrderCreated) error {
		handled <- o.ID
		return nil
	}, WithMaxDeliver(2))
	run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "m"}); err != nil {
		t.Fatal(err)
	}
	recv(t, handled) // the consumer exists
	c, err := b.js.Consumer(ctx, b.Stream(), "unbounded")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Config.MaxDeliver; got != -1 {
		t.Errorf("consumer MaxDeliver = %d; want -1 (the import terminates after WithMaxDeliver failures)", got)
	}
}
