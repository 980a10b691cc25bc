package jetstream

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/bus/bustest"
)

// Refund is a second event type, never exported by these tests.
type Refund struct {
	ID string `json:"id"`
}

// Identifiable is an interface OrderCreated implements, to subscribe by.
type Identifiable interface{ EventID() string }

func waitCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// Events published on a local bus reach JetStream through Export, and only
// those of the exported type.
func TestExportFromBus(t *testing.T) {
	br := testBridge(t, serverURL(t))
	b := bus.New(bus.WithLogger(testLogger()))
	x := NewExporter("export", br)
	run(t, x)
	sub, err := Export[OrderCreated](b, x)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if want := "export/OrderCreated"; sub.Name() != want {
		t.Errorf("subscription %q; want %q", sub.Name(), want)
	}
	h, got := collect[OrderCreated]()
	run(t, NewImport("email", br, h))

	ctx := waitCtx(t)
	const n = 20
	for i := range n {
		if err := bus.Publish(ctx, b, OrderCreated{ID: fmt.Sprintf("o-%d", i), Total: i}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := bus.Publish(ctx, b, Refund{ID: fmt.Sprint(i)}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	for i := range n {
		if o := recv(t, got); o.ID != fmt.Sprintf("o-%d", i) || o.Total != i {
			t.Fatalf("event %d = %+v; want o-%d", i, o, i)
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := sub.Stats(); s.Delivered != n || s.Dropped.Total() != 0 {
		t.Errorf("subscription delivered %d, dropped %d; want %d, 0", s.Delivered, s.Dropped.Total(), n)
	}
	// Nothing but the orders went to the stream.
	s, err := br.js.Stream(ctx, br.Stream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != n {
		t.Errorf("stream holds %d messages; want %d", info.State.Msgs, n)
	}
}

func TestExportBadInput(t *testing.T) {
	br := testBridge(t, serverURL(t))
	x := NewExporter("export", br)
	if _, err := Export[OrderCreated](nil, x); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Export(nil bus) = %v; want bus.ErrInvalid", err)
	}
	b := bus.New()
	if _, err := Export[OrderCreated](b, x, bus.WithName("")); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Export(WithName(\"\")) = %v; want bus.ErrInvalid", err)
	}
}

// An import to a bus feeds every subscriber of the type, and of the
// interfaces it implements: here two processes' buses, one exporting, one
// importing, in one test.
func TestImportToBus(t *testing.T) {
	url := serverURL(t)
	br := testBridge(t, url)
	api := bus.New(bus.WithLogger(testLogger()))
	x := NewExporter("export", br)
	run(t, x)
	if _, err := Export[OrderCreated](api, x); err != nil {
		t.Fatal(err)
	}

	workers := bus.New(bus.WithLogger(testLogger()))
	email := bustest.NewRecorder[OrderCreated]("email")
	audit := bustest.NewRecorder[Identifiable]("audit")
	for _, err := range []error{
		second(bus.Subscribe(workers, email)),
		second(bus.Subscribe[Identifiable](workers, audit)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	im := NewImportToBus[OrderCreated]("workers", br, workers)
	stop := run(t, im)

	ctx := waitCtx(t)
	const n = 30
	var want []OrderCreated
	for i := range n {
		o := OrderCreated{ID: fmt.Sprintf("o-%02d", i), Total: i}
		want = append(want, o)
		if err := bus.Publish(ctx, api, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := bustest.Expect(ctx, email, want...); err != nil {
		t.Error(err)
	}
	got, err := bustest.WaitN(ctx, audit, n)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if e.EventID() != want[i].ID {
			t.Errorf("audit event %d = %v; want %s", i, e.EventID(), want[i].ID)
		}
	}
	stop() // the last ack is counted after its publish returns
	if s := im.Stats(); s.Acked != n || s.Naked != 0 || s.Terminated != 0 {
		t.Errorf("import stats %+v; want %d acked, none naked or terminated", s, n)
	}
}

func second[T any](_ T, err error) error { return err }

// The loops the package can see are refused, whichever side is made first.
func TestLoopRefused(t *testing.T) {
	br := testBridge(t, serverURL(t))
	x := NewExporter("export", br)
	ctx := waitCtx(t)

	t.Run("Export after import", func(t *testing.T) {
		b := bus.New()
		NewImportToBus[OrderCreated]("loop1", br, b)
		if _, err := Export[OrderCreated](b, x); !errors.Is(err, ErrLoop) {
			t.Errorf("Export = %v; want ErrLoop", err)
		}
		// An interface that OrderCreated implements reaches it too.
		if _, err := Export[Identifiable](b, x); !errors.Is(err, ErrLoop) {
			t.Errorf("Export[Identifiable] = %v; want ErrLoop", err)
		}
		// Another type is fine.
		if _, err := Export[Refund](b, x); err != nil {
			t.Errorf("Export[Refund] = %v; want nil", err)
		}
	})
	t.Run("import after Export", func(t *testing.T) {
		b := bus.New()
		if _, err := Export[OrderCreated](b, x); err != nil {
			t.Fatal(err)
		}
		im := NewImportToBus[OrderCreated]("loop2", br, b)
		if err := im.Run(ctx); !errors.Is(err, ErrLoop) {
			t.Errorf("Run = %v; want ErrLoop", err)
		}
	})
	t.Run("inbox subscribed directly", func(t *testing.T) {
		b := bus.New()
		if _, err := bus.Subscribe(b, NewInbox[OrderCreated](x)); err != nil {
			t.Fatal(err)
		}
		im := NewImportToBus[OrderCreated]("loop3", br, b)
		if err := im.Run(ctx); !errors.Is(err, ErrLoop) {
			t.Errorf("Run = %v; want ErrLoop", err)
		}
	})
	t.Run("export renamed", func(t *testing.T) {
		b := bus.New()
		if _, err := Export[OrderCreated](b, x, bus.WithName("to-nats")); err != nil {
			t.Fatal(err)
		}
		im := NewImportToBus[OrderCreated]("loop4", br, b)
		if err := im.Run(ctx); !errors.Is(err, ErrLoop) {
			t.Errorf("Run = %v; want ErrLoop", err)
		}
	})
	t.Run("export unsubscribed", func(t *testing.T) {
		b := bus.New()
		sub, err := Export[OrderCreated](b, x)
		if err != nil {
			t.Fatal(err)
		}
		sub.Unsubscribe()
		rec := bustest.NewRecorder[OrderCreated]("rec")
		if _, err := bus.Subscribe(b, rec); err != nil {
			t.Fatal(err)
		}
		run(t, NewImportToBus[OrderCreated]("loop5", br, b))
		if err := Publish(ctx, br, OrderCreated{ID: "u"}); err != nil {
			t.Fatal(err)
		}
		if err := bustest.Expect(ctx, rec, OrderCreated{ID: "u"}); err != nil {
			t.Error(err)
		}
	})
}
