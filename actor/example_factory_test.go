package actor_test

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe/actor"
)

// NewFrom makes the handler afresh at every Run, so a restart after a panic
// does not inherit the state the panic left half-updated.
func ExampleNewFrom() {
	newCounter := func() actor.Handler[string] {
		count := 0 // fresh at every Run
		return func(_ context.Context, word string) error {
			if word == "boom" {
				count = -999
				panic("boom")
			}
			count++
			fmt.Println(word, count)
			return nil
		}
	}
	a := actor.NewFrom("counter", newCounter,
		actor.WithLogger(discard), actor.WithDeadLetterHook(func(actor.DeadLetter) {}))
	for _, w := range []string{"a", "b", "boom", "c"} {
		_ = a.TrySend(w)
	}
	fmt.Println("first run:", a.Run(context.Background()) != nil)

	// A supervisor would call Run again: "c" is counted from a fresh state.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for a.Stats().Handled < 3 {
		}
		cancel()
	}()
	fmt.Println("second run:", a.Run(ctx))
	// Output:
	// a 1
	// b 2
	// first run: true
	// c 1
	// second run: <nil>
}
