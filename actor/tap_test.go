package actor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// Senders race a tap's Close: every send that succeeded is counted by the
// tap and handled, and none succeeds once Close has returned.
func TestTapCloseCutsOffSenders(t *testing.T) {
	var handled atomic.Uint64
	a := actor.New("tapped", func(context.Context, int) error {
		handled.Add(1)
		return nil
	}, actor.WithMailbox(16))
	stop := run(t, a)
	tap := a.Tap()
	var ok atomic.Uint64
	var closed atomic.Bool
	started := make(chan struct{})
	var once sync.Once
	var senders sync.WaitGroup
	for range 4 {
		senders.Go(func() {
			for i := 0; ; i++ {
				after := closed.Load() // Close had returned before this send began
				var err error
				if i%2 == 0 {
					err = tap.TrySend(i)
				} else {
					_, _, err = tap.Displace(i)
				}
				switch {
				case err == nil:
					if after {
						t.Error("a send through the tap succeeded after Close returned")
					}
					ok.Add(1)
					once.Do(func() { close(started) })
				case errors.Is(err, actor.ErrTapClosed):
					return
				case !errors.Is(err, actor.ErrMailboxFull):
					t.Errorf("send through the tap: %v", err)
					return
				}
			}
		})
	}
	<-started
	tap.Close()
	closed.Store(true)
	senders.Wait()
	if got, want := tap.Sent(), ok.Load(); got != want {
		t.Errorf("tap counted %d sends; %d succeeded", got, want)
	}
	if err := tap.TrySend(-1); !errors.Is(err, actor.ErrTapClosed) {
		t.Errorf("TrySend after Close = %v; want ErrTapClosed", err)
	}
	if err := a.Send(context.Background(), -1); err != nil {
		t.Errorf("the actor's own Send after the tap closed = %v; want nil", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s := a.Stats()
	if s.Handled+s.Evicted != ok.Load()+1 {
		t.Errorf("handled %d and evicted %d; want %d in all", s.Handled, s.Evicted, ok.Load()+1)
	}
}
