package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// A restart after a panic starts from a handler the factory made afresh,
// and the messages queued before the panic are handled by it.
func TestNewFromRestartsWithFreshState(t *testing.T) {
	made := 0
	var got []int
	a := actor.NewFrom("counter", func() actor.Handler[int] {
		made++
		count := 0
		return func(_ context.Context, n int) error {
			count++
			if n < 0 {
				count = -999
				panic("corrupt")
			}
			got = append(got, count)
			return nil
		}
	}, actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {}))
	for _, n := range []int{1, 2, -1, 3, 4} {
		if err := a.TrySend(n); err != nil {
			t.Fatal(err)
		}
	}
	var perr *actor.PanicError
	if err := a.Run(context.Background()); !errors.As(err, &perr) {
		t.Fatalf("first Run = %v; want a panic", err)
	}
	// The restart: handle 3 and 4 with a fresh count, then stop.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	for a.Stats().Handled < 4 {
		// Stats is read under the mailbox lock; the handler runs meanwhile.
		select {
		case err := <-done:
			t.Fatalf("Run returned %v early", err)
		default:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("second Run = %v", err)
	}
	if want := []int{1, 2, 1, 2}; !equalInts(got, want) {
		t.Fatalf("counts = %v; want %v (a fresh count after the restart)", got, want)
	}
	if made != 2 {
		t.Fatalf("factory called %d times; want 2", made)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A factory that panics or returns nil fails Run without losing the queue.
func TestNewFromFactoryFailureKeepsQueue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		factory func() actor.Handler[int]
		want    func(error) bool
	}{
		{"panic", func() actor.Handler[int] { panic("no config") }, func(err error) bool {
			var perr *actor.PanicError
			return errors.As(err, &perr) && perr.Value == "no config"
		}},
		{"nil", func() actor.Handler[int] { return nil }, func(err error) bool { return errors.Is(err, actor.ErrNilHandler) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dl deadLetters
			a := actor.NewFrom("broken", tc.factory, actor.WithDeadLetterHook(dl.hook))
			if err := a.TrySend(7); err != nil {
				t.Fatal(err)
			}
			if err := a.Run(context.Background()); !tc.want(err) {
				t.Fatalf("Run = %v", err)
			}
			if n := a.Len(); n != 1 {
				t.Fatalf("Len after the failed Run = %d; want 1", n)
			}
			if err := a.TrySend(8); err != nil {
				t.Fatalf("TrySend after the failed Run = %v; want it queued", err)
			}
			a.Retire()
			if got := len(dl.get()); got != 2 {
				t.Fatalf("%d dead letters after Retire; want 2", got)
			}
		})
	}
}

func TestNewFromBadInput(t *testing.T) {
	for name, f := range map[string]func(){
		"empty name":  func() { actor.NewFrom("", func() actor.Handler[int] { return nil }) },
		"nil factory": func() { actor.NewFrom[int]("x", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}
