// The race detector doubles the stack guard of every function (the part
// of a stack no frame may reach into): every goroutine grows past 2 KB
// under -race, a bare one included, so the test means nothing there; nor
// on aix and openbsd, whose guard is doubled too. Frame sizes differ from
// one architecture to another: the margin was measured on amd64.

//go:build amd64 && !race && !aix && !openbsd

package actor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// TestIdleActorStack checks that an idle actor's goroutine keeps the
// smallest stack Go gives a goroutine (2 KB): that nothing on the way from
// Run to its park (the setup of the Run, the first take, the park itself)
// grows it. A goroutine's stack, once grown to 4 KB, is never shrunk back
// while the actor waits (the runtime halves a stack only when a quarter of
// it is used), so an idle actor would cost 2 KB more for good.
//
// It measures bare actors idle from the start, bare actors that handled a
// message before they parked (their first take made the batch, and the
// handler ran), and actors run as a service runs them: each subscribed to
// a bus, under a supervisor, whose frames sit above the actor's on its
// goroutine. For those it also checks that a child costs one goroutine,
// the one its Run is called on.
//
// The stack in use is counted in whole stacks: each goroutine holds 2 or
// 4 KB, so the average tells how many grew. A goroutine that exits leaves
// its stack to be handed out again, which the count would not see: so each
// case runs in a process of its own (see idleStackChild).
func TestIdleActorStack(t *testing.T) {
	for _, mode := range []string{"idle", "handled", "supervised"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStackChild$", "-test.v")
			cmd.Env = append(os.Environ(), idleStackEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			_, after, ok := strings.Cut(string(out), idleStackLine)
			var perActor float64
			if _, err := fmt.Sscan(after, &perActor); !ok || err != nil {
				t.Fatalf("no %q in\n%s", idleStackLine, out)
			}
			t.Logf("stack per idle actor: %.0f B", perActor)
			if perActor > maxIdleStack {
				t.Errorf("stack per idle actor: %.0f B; want at most %d (a goroutine's first stack is 2048 B)", perActor, maxIdleStack)
			}
		})
	}
}

// maxIdleStack is the most stack per idle actor TestIdleActorStack
// accepts: 2 KB, and a quarter of the goroutines grown to 4 KB. A few
// percent grow on the runtime's rarer paths (an allocation that refills its
// cache under the actor's first context registration or under its park),
// about one in ten supervised actors with one processor. An actor whose
// every Run grows its stack costs 4 KB.
const maxIdleStack = 2048 + 2048/4

// idleStackEnv names the case a child process of TestIdleActorStack
// measures; idleStackLine precedes the figure it prints.
const (
	idleStackEnv  = "TROUPE_IDLE_STACK"
	idleStackLine = "idle stack per actor:"
)

// TestIdleStackChild is the child process of TestIdleActorStack: it
// starts idleActors actors in the case named by idleStackEnv, waits until
// they all wait for a message and prints the stack in use per actor.
func TestIdleStackChild(t *testing.T) {
	mode := os.Getenv(idleStackEnv)
	if mode == "" {
		t.Skip("run by TestIdleActorStack")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	actors := make([]*Actor[idleMsg], idleActors)
	for i := range actors {
		actors[i] = New("idle", func(context.Context, idleMsg) error { return nil }, WithMailbox(16))
		if mode == "handled" {
			// Handled before the actor parks.
			if err := actors[i].TrySend(idleMsg{ID: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	var run func()
	stop := func() {
		cancel()
		wg.Wait()
	}
	switch mode {
	case "idle", "handled":
		run = func() {
			for _, a := range actors {
				wg.Go(func() { _ = a.Run(ctx) })
			}
		}
	case "supervised":
		discard := slog.New(slog.DiscardHandler)
		b := bus.New(bus.WithLogger(discard))
		sup := supervisor.New("root", supervisor.WithLogger(discard))
		for i, a := range actors {
			if _, err := bus.Subscribe(b, a); err != nil {
				t.Fatal(err)
			}
			if err := sup.Add(strconv.Itoa(i), a); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		run = func() { go func() { done <- sup.Run(ctx) }() }
		stop = func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	default:
		t.Fatalf("%s=%q", idleStackEnv, mode)
	}
	goroutines := runtime.NumGoroutine()
	before := stackInUse()
	run()
	for _, a := range actors {
		for !a.isParked() {
			runtime.Gosched()
		}
	}
	after := stackInUse()
	// One goroutine per actor, and a supervisor's own.
	if n, want := runtime.NumGoroutine()-goroutines, len(actors); n != want && !(mode == "supervised" && n == want+1) {
		t.Errorf("%d goroutines for %d idle actors", n, len(actors))
	}
	stop()
	fmt.Println(idleStackLine, float64(after-before)/float64(len(actors)))
}

// idleActors is how many actors a case of TestIdleActorStack runs: enough
// that a few whose stack grew move the average little.
const idleActors = 1000

// idleMsg is the message of the idle actors: a small struct, as a bus
// event is.
type idleMsg struct {
	ID   int64
	Kind string
	At   int64
}

// isParked reports whether the actor's loop waits for a message.
func (a *Actor[M]) isParked() bool {
	a.mb.mu.Lock()
	defer a.mb.mu.Unlock()
	return a.l.parked
}

func stackInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}
