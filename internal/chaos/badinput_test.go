package chaos

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// TestBadInputPanics covers every constructor and option of actor, bus and
// supervisor that panics on a programmer error, with the exact message.
func TestBadInputPanics(t *testing.T) {
	h := func(context.Context, int) error { return nil }
	noop := supervisor.RunnerFunc(func(context.Context) error { return nil })
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"actor.New empty name", func() { actor.New("", h) }, "actor: New: empty name"},
		{"actor.New nil handler", func() { actor.New[int]("a", nil) }, `actor: New("a"): nil handler`},
		{"actor.WithMailbox 0", func() { actor.WithMailbox(0) }, "actor: WithMailbox: size 0 < 1"},
		{"actor.WithMailbox -1", func() { actor.WithMailbox(-1) }, "actor: WithMailbox: size -1 < 1"},
		{"actor.WithLogger nil", func() { actor.WithLogger(nil) }, "actor: WithLogger: nil logger"},
		{"actor.WithErrorHook nil", func() { actor.WithErrorHook(nil) }, "actor: WithErrorHook: nil hook"},
		{"actor.WithDeadLetterHook nil", func() { actor.WithDeadLetterHook(nil) }, "actor: WithDeadLetterHook: nil hook"},
		{"actor.WithDrainTimeout negative", func() { actor.WithDrainTimeout(-time.Second) }, "actor: WithDrainTimeout: negative timeout -1s"},
		{"actor.WithMaxRetries negative", func() { actor.WithMaxRetries(-1) }, "actor: WithMaxRetries: negative count -1"},
		{"actor.WithWorkerRestarts negative", func() { actor.WithWorkerRestarts(-1, time.Second) }, "actor: WithWorkerRestarts: negative maxRestarts -1"},
		{"actor.WithWorkerRestarts zero window", func() { actor.WithWorkerRestarts(1, 0) }, "actor: WithWorkerRestarts: window 0s is not positive"},
		{"actor.KeyBy nil", func() { actor.KeyBy[int](nil) }, "actor: KeyBy: nil key func"},
		{"actor.KeyByString nil", func() { actor.KeyByString[int](nil) }, "actor: KeyByString: nil key func"},
		{"actor.NewFrom empty name", func() { actor.NewFrom("", func() actor.Handler[int] { return h }) }, "actor: NewFrom: empty name"},
		{"actor.NewFrom nil factory", func() { actor.NewFrom[int]("a", nil) }, `actor: NewFrom("a"): nil factory`},
		{"actor.NewKeyed empty name", func() { actor.NewKeyed("", func(string) actor.Handler[int] { return h }) }, "actor: NewKeyed: empty name"},
		{"actor.NewKeyed nil factory", func() { actor.NewKeyed[string, int]("k", nil) }, `actor: NewKeyed("k"): nil newHandler`},
		{"actor.Keyed.By nil", func() { actor.NewKeyed("k", func(string) actor.Handler[int] { return h }).By(nil) }, `actor: By("k"): nil keyOf`},
		{"actor.WithIdleTimeout negative", func() { actor.WithIdleTimeout(-time.Second) }, "actor: WithIdleTimeout: negative timeout -1s"},
		{"actor.WithMaxKeys 0", func() { actor.WithMaxKeys(0) }, "actor: WithMaxKeys: n 0 < 1"},
		{"actor.WithKeyRestarts negative", func() { actor.WithKeyRestarts(-1, time.Second) }, "actor: WithKeyRestarts: negative maxRestarts -1"},
		{"actor.WithKeyedRestarts zero window", func() { actor.WithKeyedRestarts(1, 0) }, "actor: WithKeyedRestarts: window 0s is not positive"},
		{"actor.WithClock nil", func() { actor.WithClock(nil) }, "actor: WithClock: nil clock"},
		{"actor.Actor.SendEvery 0", func() { actor.New("a", h).SendEvery(0, 1) }, `actor: SendEvery("a"): period 0s is not positive`},

		{"supervisor.New empty name", func() { supervisor.New("") }, "supervisor: New: empty name"},
		{"supervisor.New slash", func() { supervisor.New("a/b") }, `supervisor: New: name "a/b" contains '/'`},
		{"supervisor.Add empty name", func() { supervisor.New("r").Add("", noop) }, "supervisor: Add: empty name"},
		{"supervisor.Add slash", func() { supervisor.New("r").Add("x/y", noop) }, `supervisor: Add: name "x/y" contains '/'`},
		{"supervisor.Add nil runner", func() { supervisor.New("r").Add("c", nil) }, "supervisor: Add: nil runner for child c"},
		{"supervisor.WithStrategy unknown", func() { supervisor.WithStrategy(7) }, "supervisor: WithStrategy: unknown strategy 7"},
		{"supervisor.WithStrategy negative", func() { supervisor.WithStrategy(-1) }, "supervisor: WithStrategy: unknown strategy -1"},
		{"supervisor.WithIntensity negative", func() { supervisor.WithIntensity(-1, time.Second) }, "supervisor: WithIntensity: negative maxRestarts -1"},
		{"supervisor.WithIntensity zero window", func() { supervisor.WithIntensity(1, 0) }, "supervisor: WithIntensity: window 0s is not positive"},
		{"supervisor.WithBackoff negative min", func() { supervisor.WithBackoff(-1, time.Second) }, "supervisor: WithBackoff: negative min -1ns"},
		{"supervisor.WithBackoff negative max", func() { supervisor.WithBackoff(0, -1) }, "supervisor: WithBackoff: negative max -1ns"},
		{"supervisor.WithBackoff max < min", func() { supervisor.WithBackoff(time.Second, time.Millisecond) }, "supervisor: WithBackoff: max 1ms less than min 1s"},
		{"supervisor.WithStableAfter negative", func() { supervisor.WithStableAfter(-time.Second) }, "supervisor: WithStableAfter: negative d -1s"},
		{"supervisor.WithShutdownTimeout negative", func() { supervisor.WithShutdownTimeout(-time.Second) }, "supervisor: WithShutdownTimeout: negative d -1s"},
		{"supervisor.WithLogger nil", func() { supervisor.WithLogger(nil) }, "supervisor: WithLogger: nil logger"},
		{"supervisor.WithHook nil", func() { supervisor.WithHook(nil) }, "supervisor: WithHook: nil hook"},
		{"supervisor.WithRestart unknown", func() { supervisor.WithRestart(5) }, "supervisor: WithRestart: unknown restart type 5"},
		{"supervisor.WithShutdown negative", func() { supervisor.WithShutdown(-time.Second) }, "supervisor: WithShutdown: negative d -1s"},

		{"bus.WithLogger nil", func() { bus.WithLogger(nil) }, "bus: WithLogger: nil logger"},
		{"bus.WithDeadLetterHook nil", func() { bus.WithDeadLetterHook(nil) }, "bus: WithDeadLetterHook: nil hook"},
		{"bus.WithSlowHook nil", func() { bus.WithSlowHook(nil) }, "bus: WithSlowHook: nil hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				got := fmt.Sprint(recover())
				if got != tt.want {
					t.Errorf("got panic %q; want %q", got, tt.want)
				}
			}()
			tt.f()
		})
	}
}

// TestBadInputErrors covers the bad input that the bus and the supervisor
// answer with an error rather than a panic.
func TestBadInputErrors(t *testing.T) {
	h := func(context.Context, int) error { return nil }
	a := actor.New("a", h)
	b := bus.New()
	closed := bus.New()
	closed.Close(context.Background())
	running := supervisor.New("r")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	running.Add("c", supervisor.RunnerFunc(func(ctx context.Context) error { close(started); <-ctx.Done(); return nil }))
	go func() { done <- running.Run(ctx) }()
	<-started
	defer func() { cancel(); <-done }()
	dup := supervisor.New("d")
	dup.Add("c", a)

	sub := func(opts ...bus.SubscribeOption) error { _, err := bus.Subscribe[int](b, a, opts...); return err }
	tests := []struct {
		name    string
		err     error
		is      error
		message string
	}{
		{"Subscribe nil bus", func() error { _, err := bus.Subscribe[int](nil, a); return err }(), bus.ErrInvalid, "bus: invalid argument: Subscribe: nil bus"},
		{"Subscribe nil inbox", func() error { _, err := bus.Subscribe[int](b, (*actor.Actor[int])(nil)); return err }(), bus.ErrInvalid, "bus: invalid argument: Subscribe: nil inbox"},
		{"WithPolicy invalid", sub(bus.WithPolicy(9)), bus.ErrInvalid, "bus: invalid argument: WithPolicy: invalid policy Policy(9)"},
		{"WithTimeout negative", sub(bus.WithTimeout(-time.Second)), bus.ErrInvalid, "bus: invalid argument: WithTimeout: negative timeout -1s"},
		{"WithName empty", sub(bus.WithName("")), bus.ErrInvalid, "bus: invalid argument: WithName: empty name"},
		{"Subscribe closed bus", func() error { _, err := bus.Subscribe[int](closed, a); return err }(), bus.ErrClosed, "bus: closed"},
		{"Publish nil bus", bus.Publish(context.Background(), nil, 1), bus.ErrInvalid, "bus: invalid argument: Publish: nil bus"},
		{"Publish nil interface event", bus.Publish[any](context.Background(), b, nil), bus.ErrInvalid, "bus: invalid argument: nil event"},
		{"Publish after Close", bus.Publish(context.Background(), closed, 1), bus.ErrClosed, "bus: closed"},
		{"supervisor Add duplicate while running", running.Add("c", a), supervisor.ErrDuplicateChild, `supervisor: duplicate child name: "c" in r`},
		{"supervisor Add duplicate", dup.Add("c", a), supervisor.ErrDuplicateChild, `supervisor: duplicate child name: "c" in d`},
		{"supervisor Run twice", running.Run(context.Background()), supervisor.ErrRunning, "supervisor: already running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) {
				t.Errorf("got %v; want an error matching %v", tt.err, tt.is)
			}
			if tt.err != nil && tt.err.Error() != tt.message {
				t.Errorf("got message %q; want %q", tt.err.Error(), tt.message)
			}
		})
	}
}
