package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/supervisor"
)

type OrderCreated struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

func (o OrderCreated) EventID() string { return o.ID }

// collect returns a handler that sends every event it handles to a channel.
func collect[E any]() (actor.Handler[E], <-chan E) {
	ch := make(chan E, 1024)
	return func(_ context.Context, e E) error { ch <- e; return nil }, ch
}

// deadLetters returns a hook that sends every dead letter to a channel.
func deadLetters() (func(DeadLetter), <-chan DeadLetter) {
	ch := make(chan DeadLetter, 64)
	return func(dl DeadLetter) { ch <- dl }, ch
}

func TestExportImportRoundTrip(t *testing.T) {
	url := serverURL(t)
	b := testBridge(t, url)
	x := NewExporter("export", b)
	run(t, x)
	in := NewInbox[OrderCreated](x)
	h, got := collect[OrderCreated]()
	im := NewImport("email", b, h)
	run(t, im)

	ctx := context.Background()
	const n = 50
	for i := range n {
		if err := in.Send(ctx, OrderCreated{ID: fmt.Sprintf("o-%d", i), Total: i}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for i := range n {
		o := recv(t, got)
		if want := fmt.Sprintf("o-%d", i); o.ID != want || o.Total != i {
			t.Fatalf("event %d = %+v; want ID %s, Total %d", i, o, want, i)
		}
	}
	if s := x.Stats(); s.Failed != 0 {
		t.Errorf("exporter Failed = %d; want 0", s.Failed)
	}
	if in.Subject() != im.Subject() || in.Subject() != b.cfg.prefix+".OrderCreated" {
		t.Errorf("subjects %q, %q; want %q", in.Subject(), im.Subject(), b.cfg.prefix+".OrderCreated")
	}
}

func TestPublishDeduplicatesByEventID(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := Publish(ctx, b, OrderCreated{ID: "same"}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	s, err := b.js.Stream(ctx, b.Stream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages; want 1", info.State.Msgs)
	}
	msg, err := s.GetLastMsgForSubject(ctx, b.cfg.prefix+".OrderCreated")
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(TypeHeader); got != "OrderCreated" {
		t.Errorf("%s = %q; want OrderCreated", TypeHeader, got)
	}
	if got := msg.Header.Get(MsgIDHeader); got != "same" {
		t.Errorf("%s = %q; want same", MsgIDHeader, got)
	}
}

func TestRedeliveryOnError(t *testing.T) {
	url := serverURL(t)
	b := testBridge(t, url)
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	calls := 0
	im := NewImport("retry", b, func(_ context.Context, o OrderCreated) error {
		calls++
		if calls < 3 {
			return errors.New("mail server down")
		}
		done <- calls
		return nil
	}, WithBackoff(minDelay, minDelay))
	stop := run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, done); got != 3 {
		t.Errorf("handled on call %d; want 3", got)
	}
	stop() // the ack is counted after the handler returns
	if s := im.Stats(); s.Naked != 2 || s.Acked != 1 {
		t.Errorf("Naked, Acked = %d, %d; want 2, 1", s.Naked, s.Acked)
	}
}

// minDelay is the redelivery backoff of the tests: short, so that they are
// quick; the backoff's length is never asserted.
const minDelay = 5e6 // 5ms

func TestRedeliveryOnPanicUnderSupervisor(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	var mu sync.Mutex
	seen := map[string]int{}
	im := NewImport("panicky", b, func(_ context.Context, o OrderCreated) error {
		mu.Lock()
		seen[o.ID]++
		n := seen[o.ID]
		mu.Unlock()
		if n == 1 {
			panic("first delivery crashes")
		}
		done <- o.ID
		return nil
	}, WithBackoff(minDelay, minDelay))
	events := make(chan supervisor.Event, 64)
	sup := supervisor.New("root", supervisor.WithBackoff(0, 0), supervisor.WithLogger(testLogger()), supervisor.WithHook(func(e supervisor.Event) {
		select {
		case events <- e:
		default:
		}
	}))
	if err := sup.Add("import", im); err != nil {
		t.Fatal(err)
	}
	stop := run(t, sup)
	if err := Publish(ctx, b, OrderCreated{ID: "p"}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, done); got != "p" {
		t.Errorf("handled %q; want p", got)
	}
	stop() // the ack is counted after the handler returns
	mu.Lock()
	n := seen["p"]
	mu.Unlock()
	if n != 2 {
		t.Errorf("delivered %d times; want 2", n)
	}
	if s := im.Stats(); s.Actor.Panics != 1 || s.Naked != 1 || s.Acked != 1 {
		t.Errorf("Panics, Naked, Acked = %d, %d, %d; want 1, 1, 1", s.Actor.Panics, s.Naked, s.Acked)
	}
}

func TestMaxDeliverDeadLetter(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	hook, dead := deadLetters()
	errDown := errors.New("always down")
	deadSubject := b.cfg.prefix + ".dead.OrderCreated"
	im := NewImport("doomed", b, func(context.Context, OrderCreated) error { return errDown },
		WithBackoff(minDelay, minDelay), WithMaxDeliver(3), WithDeadLetterHook(hook), WithDeadLetterSubject(deadSubject))
	run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "d", Total: 7}); err != nil {
		t.Fatal(err)
	}
	dl := recv(t, dead)
	if !errors.Is(dl.Reason, ErrMaxDeliver) || !errors.Is(dl.Reason, errDown) {
		t.Errorf("Reason = %v; want ErrMaxDeliver wrapping the handler's error", dl.Reason)
	}
	if dl.Attempts != 3 || dl.MsgID != "d" || dl.Type != "OrderCreated" || dl.Sequence != 1 {
		t.Errorf("dead letter = %+v; want 3 attempts of d, sequence 1", dl)
	}
	if o, ok := dl.Event.(OrderCreated); !ok || o.Total != 7 {
		t.Errorf("Event = %#v; want the decoded order", dl.Event)
	}
	// The copy on the dead-letter subject.
	s, err := b.js.Stream(ctx, b.Stream())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, deadSubject)
	if err != nil {
		t.Fatalf("dead-letter copy: %v", err)
	}
	if msg.Header.Get(ReasonHeader) == "" || string(msg.Data) != string(dl.Data) {
		t.Errorf("dead-letter copy = %q with reason %q", msg.Data, msg.Header.Get(ReasonHeader))
	}
	if s := im.Stats(); s.Terminated != 1 || s.Naked != 2 {
		t.Errorf("Terminated, Naked = %d, %d; want 1, 2", s.Terminated, s.Naked)
	}
}

func TestBadMessagesAreTerminated(t *testing.T) {
	tests := []struct {
		name   string
		header nats.Header
		data   string
		want   error
	}{
		{"undecodable", nil, "{not json", ErrDecode},
		{"wrong shape", nats.Header{TypeHeader: {"OrderCreated"}}, `{"id": 12}`, ErrDecode},
		{"unknown type", nats.Header{TypeHeader: {"Refund"}}, `{"id":"r"}`, ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBridge(t, serverURL(t))
			ctx := context.Background()
			if err := b.EnsureStream(ctx); err != nil {
				t.Fatal(err)
			}
			hook, dead := deadLetters()
			h, got := collect[OrderCreated]()
			im := NewImport("strict", b, h, WithDeadLetterHook(hook))
			run(t, im)
			bad := &nats.Msg{Subject: im.Subject(), Data: []byte(tt.data), Header: tt.header}
			if _, err := b.js.PublishMsg(ctx, bad); err != nil {
				t.Fatal(err)
			}
			if err := Publish(ctx, b, OrderCreated{ID: "good"}); err != nil {
				t.Fatal(err)
			}
			dl := recv(t, dead)
			if !errors.Is(dl.Reason, tt.want) {
				t.Errorf("Reason = %v; want %v", dl.Reason, tt.want)
			}
			if string(dl.Data) != tt.data || dl.Event != nil {
				t.Errorf("Data, Event = %q, %v; want %q, nil", dl.Data, dl.Event, tt.data)
			}
			// The stream is not blocked: the next event is handled.
			if o := recv(t, got); o.ID != "good" {
				t.Errorf("handled %q; want good", o.ID)
			}
		})
	}
}
