package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/jetstream"
	"github.com/troupe-go/troupe/supervisor"
)

type OrderCreated struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

// EventID makes the order's ID the message ID: JetStream stores an order
// published twice once.
func (o OrderCreated) EventID() string { return o.ID }

// An exporter publishes orders to JetStream and a durable import feeds them
// to the email handler, both under one supervisor.
func Example() {
	// A NATS server with JetStream inside the program, with a store of its
	// own, as a test or a demo may; a service connects to its broker's URL
	// instead (nats.DefaultURL, or $NATS_URL).
	dir, err := os.MkdirTemp("", "jetstream-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Start()
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		fmt.Println("nats server not ready")
		return
	}
	url := srv.ClientURL()
	quiet := slog.New(slog.DiscardHandler)

	br, err := jetstream.Connect(url, jetstream.WithStream("ORDERS"), jetstream.WithLogger(quiet))
	if err != nil {
		fmt.Println(err)
		return
	}

	x := jetstream.NewExporter("export", br)
	orders := jetstream.NewInbox[OrderCreated](x) // what jetstream.Export subscribes to a bus

	done := make(chan struct{})
	email := jetstream.NewImport("email", br, func(ctx context.Context, o OrderCreated) error {
		fmt.Printf("email for %s: %d\n", o.ID, o.Total)
		if o.ID == "o-2" {
			close(done)
		}
		return nil
	})

	root := supervisor.New("root", supervisor.WithLogger(quiet))
	root.Add("nats", br) // first started, last stopped
	root.Add("email", email)
	root.Add("export", x)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- root.Run(ctx) }()

	orders.Send(ctx, OrderCreated{ID: "o-1", Total: 42})
	orders.Send(ctx, OrderCreated{ID: "o-2", Total: 7})
	<-done
	cancel()
	err = <-stopped
	fmt.Println("stopped:", err == nil || errors.Is(err, context.Canceled))
	// Output:
	// email for o-1: 42
	// email for o-2: 7
	// stopped: true
}

// One process exports the orders published on its bus; another imports
// them onto its own bus, where its actors subscribe as if the orders were
// published there. Here both "processes" share one program.
func ExampleNewImportToBus() {
	// A NATS server with JetStream inside the program, with a store of its
	// own, as a test or a demo may; a service connects to its broker's URL
	// instead (nats.DefaultURL, or $NATS_URL).
	dir, err := os.MkdirTemp("", "jetstream-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Start()
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		fmt.Println("nats server not ready")
		return
	}
	url := srv.ClientURL()
	quiet := slog.New(slog.DiscardHandler)
	br, err := jetstream.Connect(url, jetstream.WithStream("ORDERS"), jetstream.WithLogger(quiet))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup

	// The API process: orders published on api go to JetStream.
	api := bus.New()
	x := jetstream.NewExporter("export", br)
	if _, err := jetstream.Export[OrderCreated](api, x); err != nil {
		fmt.Println(err)
	}
	wg.Go(func() { x.Run(ctx) })

	// The worker process: imported orders are published on workers.
	workers := bus.New()
	done := make(chan struct{})
	email := actor.New("email", func(_ context.Context, o OrderCreated) error {
		fmt.Printf("email for %s: %d\n", o.ID, o.Total)
		if o.ID == "o-2" {
			close(done)
		}
		return nil
	})
	bus.Subscribe(workers, email)
	wg.Go(func() { email.Run(ctx) })
	im := jetstream.NewImportToBus[OrderCreated]("workers", br, workers)
	wg.Go(func() { im.Run(ctx) })

	// Exporting OrderCreated from the workers' bus would loop.
	_, err = jetstream.Export[OrderCreated](workers, x)
	fmt.Println("loop refused:", errors.Is(err, jetstream.ErrLoop))

	bus.Publish(ctx, api, OrderCreated{ID: "o-1", Total: 42})
	bus.Publish(ctx, api, OrderCreated{ID: "o-2", Total: 7})
	<-done
	cancel()
	wg.Wait()
	br.Close()
	// Output:
	// loop refused: true
	// email for o-1: 42
	// email for o-2: 7
}
