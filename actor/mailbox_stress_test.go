package actor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// sender is what the stress test needs of an Actor or a Pool.
type sender interface {
	Send(ctx context.Context, m int) error
	Offer(ctx context.Context, m int) error
	Displace(ctx context.Context, m int) (old int, evicted bool, err error)
	Run(ctx context.Context) error
}

// TestMailboxStress sends from many goroutines at once, mixing Send, TrySend
// and Displace, to a mailbox drained by a slow handler, and cancels the Run
// half-way. Every message a send accepted must then be handled, reported
// as a dead letter or returned as evicted, exactly once; no message a send
// refused may reach the handler. It runs for an actor, a pool and a keyed
// pool, with a drain that handles what is left and one that times out at
// once (everything left becomes a dead letter), and with a [Propagator],
// whose value must reach the handler with its own message.
func TestMailboxStress(t *testing.T) {
	const (
		producers = 8
		perSender = 1500
		mailbox   = 16
	)
	for _, kind := range []string{"actor", "pool", "keyed"} {
		for _, drain := range []bool{true, false} {
			for _, carry := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/drain=%v/carry=%v", kind, drain, carry), func(t *testing.T) {
					stressMailbox(t, kind, drain, carry, producers, perSender, mailbox)
				})
			}
		}
	}
}

func stressMailbox(t *testing.T, kind string, drain, carry bool, producers, perSender, size int) {
	total := producers * perSender
	// fate[id] counts what became of message id: handled, dead, evicted
	// (each once at most) and accepted or refused by its send.
	var handled, dead, evicted, accepted, refused = make([]atomic.Int32, total), make([]atomic.Int32, total),
		make([]atomic.Int32, total), make([]atomic.Int32, total), make([]atomic.Int32, total)
	var nHandled, misCarried atomic.Int64
	half := make(chan struct{})
	var halfOnce sync.Once
	h := func(ctx context.Context, id int) error {
		handled[id].Add(1)
		if c, _ := ctx.Value(carriedKey{}).(int); carry && c != id {
			misCarried.Add(1)
		}
		// A slow consumer: give the senders the core.
		runtime.Gosched()
		if nHandled.Add(1) == int64(total/8) {
			halfOnce.Do(func() { close(half) })
		}
		return nil
	}
	opts := []actor.Option{
		actor.WithMailbox(size),
		actor.WithDeadLetterHook(func(d actor.DeadLetter) { dead[d.Msg.(int)].Add(1) }),
	}
	if !drain {
		opts = append(opts, actor.WithDrainTimeout(0))
	}
	if carry {
		opts = append(opts, actor.WithPropagator(idPropagator{}))
	}
	var a sender
	switch kind {
	case "actor":
		a = actor.New("stress", h, opts...)
	case "pool":
		a = actor.NewPool("stress", 3, h, poolOpts(opts)...)
	case "keyed":
		a = actor.NewPool("stress", 3, h, append(poolOpts(opts), actor.KeyBy(func(id int) uint64 { return uint64(id % 5) }))...)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(ctx) }()
	// Send waits with sendCtx, cancelled once the Run has returned: a
	// send still waiting then is refused rather than left hanging.
	sendCtx, stopSends := context.WithCancel(context.Background())
	defer stopSends()

	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perSender {
				id := p*perSender + i
				var err error
				switch i % 3 {
				case 0:
					err = a.Send(context.WithValue(sendCtx, sentKey{}, id), id)
				case 1:
					err = a.Offer(context.WithValue(context.Background(), sentKey{}, id), id)
				default:
					var old int
					var ev bool
					old, ev, err = a.Displace(context.WithValue(context.Background(), sentKey{}, id), id)
					if ev {
						evicted[old].Add(1)
					}
				}
				switch {
				case err == nil:
					accepted[id].Add(1)
				case errors.Is(err, actor.ErrStopped), errors.Is(err, actor.ErrMailboxFull):
					refused[id].Add(1)
				default:
					t.Errorf("send %d: %v", id, err)
				}
			}
		})
	}
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()
	select {
	case <-half:
	case <-sent:
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	stopSends()
	<-sent

	var nAcc, nRef, nHan, nDead, nEv int
	for id := range total {
		acc, ref := accepted[id].Load(), refused[id].Load()
		han, dl, ev := handled[id].Load(), dead[id].Load(), evicted[id].Load()
		nAcc += int(acc)
		nRef += int(ref)
		nHan += int(han)
		nDead += int(dl)
		nEv += int(ev)
		if acc+ref != 1 {
			t.Fatalf("message %d: accepted %d times, refused %d times; want one of them once", id, acc, ref)
		}
		if fates := han + dl + ev; fates != acc {
			t.Fatalf("message %d (accepted %d): handled %d, dead %d, evicted %d times", id, acc, han, dl, ev)
		}
	}
	if nAcc+nRef != total || nHan+nDead+nEv+nRef != total {
		t.Fatalf("%d attempted: %d handled + %d dead + %d evicted + %d refused", total, nHan, nDead, nEv, nRef)
	}
	if n := misCarried.Load(); n > 0 {
		t.Errorf("%d messages handled with another message's carried value", n)
	}
	if nRef == 0 || nHan == 0 {
		t.Logf("%d handled, %d dead, %d evicted, %d refused: the run did not reach every case", nHan, nDead, nEv, nRef)
	}
}

// sentKey holds the id of the message a sender's context is for;
// carriedKey, in the handler's context, the id the propagator carried.
type sentKey struct{}
type carriedKey struct{}

// idPropagator carries the id of a sender's message to its handler.
type idPropagator struct{}

func (idPropagator) Extract(ctx context.Context) any { return ctx.Value(sentKey{}) }
func (idPropagator) Inject(ctx context.Context, c any) context.Context {
	return context.WithValue(ctx, carriedKey{}, c)
}

// poolOpts converts actor options to pool options.
func poolOpts(opts []actor.Option) []actor.PoolOption {
	out := make([]actor.PoolOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}
