package benchmarks

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/thejerf/suture/v4"
)

// The suture peer, for restart latency only: a suture.Supervisor running a
// service that panics on the poison event.

type sutureChild struct {
	msgs <-chan Event
	h    func(Event)
}

func (c *sutureChild) Serve(ctx context.Context) error {
	for {
		select {
		case e := <-c.msgs:
			if e.ID == Poison {
				panic("poison")
			}
			c.h(e)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func BenchmarkRestart_Suture(b *testing.B) { sutureRestart(b, func(suture.Event) {}) }

// BenchmarkRestartLogged_Suture is the restart with suture's default event
// hook, which log.Prints each event; the output is discarded after
// formatting.
func BenchmarkRestartLogged_Suture(b *testing.B) {
	defer discardLogOutput()()
	sutureRestart(b, nil)
}

func sutureRestart(b *testing.B, hook func(suture.Event)) {
	msgs := make(chan Event, Buffer)
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	sup := suture.New("root", suture.Spec{
		EventHook:        hook,
		FailureThreshold: math.MaxFloat64,
		FailureDecay:     1,
	})
	sup.Add(&sutureChild{msgs: msgs, h: func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := sup.ServeBackground(ctx)
	restarts(b, handled, func(e Event) { msgs <- e })
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
}
