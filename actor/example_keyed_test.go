package actor_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/troupe-go/troupe/actor"
)

type Deposit struct {
	Account string
	Amount  int
}

// NewKeyed gives each account its own actor, its balance in the handler's
// closure, created by the account's first message.
func ExampleNewKeyed() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	balances := map[string]int{}
	accounts := actor.NewKeyed("accounts", func(account string) actor.Handler[Deposit] {
		balance := 0 // this account's state, fresh if the key restarts
		return func(_ context.Context, d Deposit) error {
			balance += d.Amount
			mu.Lock()
			balances[account] = balance
			mu.Unlock()
			wg.Done()
			return nil
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- accounts.Run(ctx) }() // usually: sup.Add("accounts", accounts)

	// The bus would deliver through accounts.By(func(d Deposit) string { return d.Account }).
	deposits := []Deposit{{"alice", 10}, {"bob", 5}, {"alice", 20}, {"bob", 1}, {"carol", 7}}
	wg.Add(len(deposits))
	for _, d := range deposits {
		if err := accounts.Send(ctx, d.Account, d); err != nil {
			fmt.Println("send:", err)
		}
	}
	wg.Wait()
	s := accounts.Stats()
	fmt.Println("keys:", s.Keys, "created:", s.Created)
	cancel()
	fmt.Println("run:", <-stopped)
	fmt.Println("alice", balances["alice"], "bob", balances["bob"], "carol", balances["carol"])
	fmt.Println("after stop:", accounts.TrySend("alice", Deposit{"alice", 1}))
	// Output:
	// keys: 3 created: 3
	// run: <nil>
	// alice 30 bob 6 carol 7
	// after stop: actor: stopped
}
