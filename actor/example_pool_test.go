package actor_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/troupe-go/troupe/actor"
)

type Email struct {
	Customer string
	Seq      int
}

func ExamplePool() {
	var mu sync.Mutex
	sent := map[string][]int{} // per customer, in the order handled
	var wg sync.WaitGroup
	wg.Add(6)
	// Four emails at once at most; one customer's emails in order.
	p := actor.NewPool("email", 4, func(_ context.Context, e Email) error {
		defer wg.Done()
		mu.Lock()
		defer mu.Unlock()
		sent[e.Customer] = append(sent[e.Customer], e.Seq)
		return nil
	}, actor.KeyByString(func(e Email) string { return e.Customer }))

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }() // usually: supervisor.Add("email", p)

	for seq := 1; seq <= 3; seq++ {
		for _, c := range []string{"ann", "bob"} {
			if err := p.Send(ctx, Email{Customer: c, Seq: seq}); err != nil {
				fmt.Println("send:", err)
			}
		}
	}
	wg.Wait()
	cancel()
	fmt.Println("run:", <-stopped)

	customers := make([]string, 0, len(sent))
	for c := range sent {
		customers = append(customers, c)
	}
	sort.Strings(customers)
	for _, c := range customers {
		fmt.Println(c, strings.Trim(fmt.Sprint(sent[c]), "[]"))
	}
	s := p.Stats()
	fmt.Println("handled:", s.Handled, "workers:", s.Workers)
	// Output:
	// run: <nil>
	// ann 1 2 3
	// bob 1 2 3
	// handled: 6 workers: 4
}
