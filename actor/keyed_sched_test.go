package actor_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// More keys stuck in their handler than there are runners that may make
// progress at once hold up no other key: the stall watch starts runners in
// their place.
func TestKeyedMoreStuckKeysThanRunners(t *testing.T) {
	stuck := 2*runtime.GOMAXPROCS(0) + 2
	const others, per = 50, 2
	release := make(chan struct{})
	var entered, handled sync.WaitGroup
	entered.Add(stuck)
	handled.Add(others * per)
	kd := actor.NewKeyed("email", func(key string) actor.Handler[int] {
		return func(context.Context, int) error {
			if key[0] == 's' {
				entered.Done()
				<-release
				return nil
			}
			handled.Done()
			return nil
		}
	})
	stop := run(t, kd)
	for i := range stuck {
		if err := kd.TrySend(fmt.Sprint("s", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	entered.Wait() // every stuck key holds a runner
	for i := range others {
		for j := range per {
			if err := kd.TrySend(fmt.Sprint("c", i), j); err != nil {
				t.Fatalf("TrySend to another key while %d are stuck = %v", stuck, err)
			}
		}
	}
	handled.Wait()
	close(release)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// goroutinesCreated returns how many goroutines the program has created.
func goroutinesCreated(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("runtime/metrics has no count of goroutines created")
	}
	return s[0].Value.Uint64()
}

// Many keys with messages are run by a few runner goroutines, not one
// goroutine each: the runtime keeps every goroutine's descriptor, so a
// goroutine per key would leave memory behind after the keys are
// passivated. The keys get their messages before Run, so that they are all
// waiting at once when it starts.
func TestKeyedKeysShareRunners(t *testing.T) {
	const keys = 10_000
	var handled sync.WaitGroup
	handled.Add(keys)
	kd := actor.NewKeyed("k", func(int) actor.Handler[int] {
		return func(context.Context, int) error { handled.Done(); return nil }
	})
	for i := range keys {
		if err := kd.TrySend(i, i); err != nil {
			t.Fatal(err)
		}
	}
	before := goroutinesCreated(t)
	stop := run(t, kd)
	handled.Wait()
	created := goroutinesCreated(t) - before
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	// GOMAXPROCS runners, the Run's own goroutines, and a few more started
	// by the stall watch if the machine held a runner up for a millisecond.
	if created > keys/10 {
		t.Fatalf("%d goroutines created to run %d keys; want a few runners", created, keys)
	}
}

// The runner goroutines carry the Keyed's name as the pprof label
// troupe.actor, and ctx's labels, so a goroutine profile tells them apart.
func TestKeyedRunnersCarryPprofLabels(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	kd := actor.NewKeyed("labelled-keys", func(int) actor.Handler[int] {
		return func(context.Context, int) error {
			close(entered)
			<-release
			return nil
		}
	})
	ctx, cancel := context.WithCancel(pprof.WithLabels(context.Background(), pprof.Labels("troupe.path", "root/keys")))
	done := make(chan error, 1)
	go func() { done <- kd.Run(ctx) }()
	if err := kd.TrySend(1, 1); err != nil {
		t.Fatal(err)
	}
	<-entered
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, want := range []string{`"troupe.actor":"labelled-keys"`, `"troupe.path":"root/keys"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("goroutine profile has no label %s", want)
		}
	}
}
