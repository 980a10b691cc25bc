package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

type square = actor.Request[int, int]

func TestAskReplies(t *testing.T) {
	a := actor.New("square", func(_ context.Context, r square) error {
		r.Reply(r.Msg*r.Msg, nil)
		return nil
	})
	run(t, a)
	got, err := actor.Ask[int, int](context.Background(), a, 7)
	if err != nil || got != 49 {
		t.Errorf("Ask(7) = %d, %v; want 49, nil", got, err)
	}
}

func TestAskErrorsAreDistinct(t *testing.T) {
	boom := errors.New("boom")
	busy, release := make(chan struct{}), make(chan struct{})
	busy4, release4 := make(chan struct{}), make(chan struct{})
	a := actor.New("asks", func(ctx context.Context, r square) error {
		switch r.Msg {
		case 0:
			close(busy)
			<-release
		case 1:
			return boom
		case 4:
			close(busy4)
			<-release4
			r.Reply(16, nil) // too late: the asker is gone
		}
		return nil // no reply for 0 and 2
	}, actor.WithMailbox(1), actor.WithErrorHook(func(context.Context, string, any, error) {}))
	stop := run(t, a)

	// The handler is busy with 0 and the mailbox holds 2: full.
	first := make(chan error)
	go func() {
		_, err := actor.Ask[int, int](context.Background(), a, 0)
		first <- err
	}()
	<-busy
	if err := a.TrySend(square{Msg: 2}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	_, err := actor.Ask[int, int](ctx, a, 5)
	cancel()
	if !errors.Is(err, actor.ErrMailboxFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ask to a full mailbox = %v; want ErrMailboxFull and DeadlineExceeded", err)
	}
	close(release)
	if err := <-first; !errors.Is(err, actor.ErrNoReply) {
		t.Errorf("Ask without reply = %v; want ErrNoReply", err)
	}

	if _, err := actor.Ask[int, int](context.Background(), a, 1); err != boom {
		t.Errorf("Ask with failing handler = %v; want boom", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		<-busy4
		cancel()
	}()
	if _, err := actor.Ask[int, int](ctx, a, 4); !errors.Is(err, context.Canceled) || errors.Is(err, actor.ErrMailboxFull) {
		t.Errorf("Ask cancelled while waiting for the reply = %v; want context.Canceled only", err)
	}
	close(release4)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.Ask[int, int](context.Background(), a, 1); !errors.Is(err, actor.ErrStopped) {
		t.Errorf("Ask to a stopped actor = %v; want ErrStopped", err)
	}
}
