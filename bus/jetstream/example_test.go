package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nuid"
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
	url, stopServer := jetstream.StartTestServer()
	defer stopServer()
	quiet := slog.New(slog.DiscardHandler)
	stream := "EXAMPLE_" + nuid.Next() // a stream of its own on a shared server

	br, err := jetstream.Connect(url, jetstream.WithStream(stream), jetstream.WithPrefix("ex."+stream), jetstream.WithLogger(quiet))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer jetstream.DeleteTestStream(url, stream)

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
