package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/troupe-go/troupe/actor"
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
	if s := im.Stats(); s.Failed != 2 || s.Retried != 2 || s.Acked != 1 {
		t.Errorf("Failed, Retried, Acked = %d, %d, %d; want 2, 2, 1", s.Failed, s.Retried, s.Acked)
	}
}

// minDelay is the redelivery backoff of the tests: short, so that they are
// quick; the backoff's length is never asserted.
const minDelay = 5e6 // 5ms

// A handler panic is a failure of its message, not of the import: Run goes
// on, and the message is tried again.
func TestHandlerPanicIsAMessageFailure(t *testing.T) {
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
	stop := run(t, im) // no supervisor: Run must survive the panic itself
	if err := Publish(ctx, b, OrderCreated{ID: "p"}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, done); got != "p" {
		t.Errorf("handled %q; want p", got)
	}
	stop() // the ack is counted after the handler returns; Run must return nil
	mu.Lock()
	n := seen["p"]
	mu.Unlock()
	if n != 2 {
		t.Errorf("handler called %d times; want 2", n)
	}
	if s := im.Stats(); s.Panics != 1 || s.Failed != 1 || s.Retried != 1 || s.Acked != 1 {
		t.Errorf("Panics, Failed, Retried, Acked = %d, %d, %d, %d; want 1, 1, 1, 1", s.Panics, s.Failed, s.Retried, s.Acked)
	}
}

// A panic on the last allowed attempt is a dead letter whose reason
// matches ErrPanicked.
func TestHandlerPanicOnLastAttemptIsADeadLetter(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	hook, dead := deadLetters()
	h, got := collect[OrderCreated]()
	im := NewImport("poison", b, func(ctx context.Context, o OrderCreated) error {
		if o.ID == "poison" {
			panic("cannot handle this one")
		}
		return h(ctx, o)
	}, WithBackoff(minDelay, minDelay), WithMaxDeliver(2), WithDeadLetterHook(hook))
	run(t, im)
	for _, id := range []string{"poison", "next"} {
		if err := Publish(ctx, b, OrderCreated{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	dl := recv(t, dead)
	if !errors.Is(dl.Reason, ErrMaxDeliver) || !errors.Is(dl.Reason, ErrPanicked) || dl.Attempts != 2 {
		t.Errorf("dead letter: reason %v, attempts %d; want ErrMaxDeliver wrapping ErrPanicked, 2", dl.Reason, dl.Attempts)
	}
	if o := recv(t, got); o.ID != "next" {
		t.Errorf("handled %q; want next", o.ID)
	}
}

// WithMaxDeliver counts handler attempts: deliveries of a message given
// back unhandled (a worker stopped, another consumer let it go) do not
// count.
func TestMaxDeliverCountsHandlerAttemptsNotReleases(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	done := make(chan int, 1)
	calls := 0
	im := NewImport("released", b, func(_ context.Context, o OrderCreated) error {
		calls++
		if calls == 1 {
			return errors.New("provider down once")
		}
		done <- calls
		return nil
	}, WithBackoff(minDelay, minDelay), WithMaxDeliver(2))
	cons, err := im.consumer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, b, OrderCreated{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	// Three deliveries given back unhandled, as a stopping worker does.
	for range 3 {
		batch, err := cons.Fetch(1)
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if err := m.Nak(); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
	}
	run(t, im)
	if got := recv(t, done); got != 2 {
		t.Errorf("handled on call %d; want 2", got)
	}
}

// By default a failed message is retried before the next one is handled:
// a key's (here the import's) order holds through retries.
func TestOrderKeptThroughRetries(t *testing.T) {
	got := handledOrder(t, false)
	want := []string{"a1", "a2", "a3", "a4", "a5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("handled %v; want %v", got, want)
	}
}

// WithUnordered lets later messages go first while a failed one waits.
func TestUnorderedRetryLetsOthersPass(t *testing.T) {
	got := handledOrder(t, true)
	want := []string{"a1", "a3", "a4", "a5", "a2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("handled %v; want %v", got, want)
	}
}

// handledOrder publishes a1..a5 to an import whose handler fails on a2 and
// returns the order in which the handler succeeded. The handler fails on
// a2 once when ordered, and until a5 was handled when unordered (which
// only an import that lets a5 pass can see).
func handledOrder(t *testing.T, unordered bool) []string {
	t.Helper()
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := Publish(ctx, b, OrderCreated{ID: fmt.Sprintf("a%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	opts := []ImportOption{WithBackoff(minDelay, minDelay), WithMaxDeliver(1000)}
	if unordered {
		opts = append(opts, WithUnordered())
	}
	var (
		mu            sync.Mutex
		failures      int
		handledLatest bool
	)
	h, got := collect[OrderCreated]()
	im := NewImport("ordered", b, func(ctx context.Context, o OrderCreated) error {
		mu.Lock()
		if o.ID == "a5" {
			handledLatest = true
		}
		fail := o.ID == "a2" && (failures == 0 || unordered && !handledLatest)
		if fail {
			failures++
		}
		mu.Unlock()
		if fail {
			return errors.New("provider down")
		}
		return h(ctx, o)
	}, opts...)
	run(t, im)
	var ids []string
	for range 5 {
		ids = append(ids, recv(t, got).ID)
	}
	return ids
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
	if s := im.Stats(); s.Terminated != 1 || s.Failed != 3 || s.Retried != 2 {
		t.Errorf("Terminated, Failed, Retried = %d, %d, %d; want 1, 3, 2", s.Terminated, s.Failed, s.Retried)
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

// The server must not end redeliveries on its own: it would count the
// deliveries of released messages too and drop one without a report.
func TestConsumerLeavesMaxDeliverToTheImport(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 1)
	im := NewImport("unbounded", b, func(_ context.Context, o OrderCreated) error {
		handled <- o.ID
		return nil
	}, WithMaxDeliver(2))
	run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "m"}); err != nil {
		t.Fatal(err)
	}
	recv(t, handled) // the consumer exists
	c, err := b.js.Consumer(ctx, b.Stream(), "unbounded")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Config.MaxDeliver; got != -1 {
		t.Errorf("consumer MaxDeliver = %d; want -1 (the import terminates after WithMaxDeliver failures)", got)
	}
}

// Two healthy imports sharing a durable consumer, each with a queue that
// takes them longer than AckWait to work through: every message is handled
// once, because the messages waiting in a mailbox are reported in
// progress, and never delivered to the other import.
func TestSlowImportsAreNotRedeliveredToEachOther(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	const n, mailbox = 24, 6
	const ackWait = 600 * time.Millisecond
	work := ackWait / 4 // a full mailbox takes 1.5 AckWait to work through
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{}, n)
	slow := func(_ context.Context, o OrderCreated) error {
		time.Sleep(work) // the slow provider, not a synchronisation
		mu.Lock()
		calls[o.ID]++
		mu.Unlock()
		done <- struct{}{}
		return nil
	}
	for i := range 2 {
		im := NewImport("slow", b, slow, WithMailbox(mailbox), WithAckWait(ackWait))
		if i == 0 {
			if _, err := im.consumer(ctx); err != nil {
				t.Fatal(err)
			}
		}
		run(t, im)
	}
	for i := range n {
		if err := Publish(ctx, b, OrderCreated{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		recv(t, done)
	}
	c, err := b.js.Consumer(ctx, b.Stream(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, c := range calls {
		if c != 1 {
			t.Errorf("order %s handled %d times; want 1", id, c)
		}
	}
	if len(calls) != n || info.NumRedelivered != 0 {
		t.Errorf("handled %d orders, %d redelivered by the server; want %d, 0", len(calls), info.NumRedelivered, n)
	}
}

// An unordered import counts the failed attempts of a message it naked
// and terminates it after the last one.
func TestUnorderedMaxDeliver(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	hook, dead := deadLetters()
	errDown := errors.New("always down")
	im := NewImport("unordered", b, func(context.Context, OrderCreated) error { return errDown },
		WithUnordered(), WithBackoff(minDelay, minDelay), WithMaxDeliver(3), WithDeadLetterHook(hook))
	stop := run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "u"}); err != nil {
		t.Fatal(err)
	}
	dl := recv(t, dead)
	if !errors.Is(dl.Reason, ErrMaxDeliver) || !errors.Is(dl.Reason, errDown) || dl.Attempts != 3 {
		t.Errorf("dead letter: reason %v, attempts %d; want ErrMaxDeliver wrapping the handler's error, 3", dl.Reason, dl.Attempts)
	}
	stop()
	if s := im.Stats(); s.Naked != 2 || s.Failed != 3 || s.Terminated != 1 || s.Retried != 0 {
		t.Errorf("Naked, Failed, Terminated, Retried = %d, %d, %d, %d; want 2, 3, 1, 0", s.Naked, s.Failed, s.Terminated, s.Retried)
	}
}

// A handler that fails because the import is stopping (its context ended)
// has not failed on the message: it is given back, no attempt spent, no
// dead letter.
func TestFailureAtShutdownIsNotAnAttempt(t *testing.T) {
	b := testBridge(t, serverURL(t))
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	hook, dead := deadLetters()
	inHandler := make(chan struct{})
	im := NewImport("stopping", b, func(ctx context.Context, o OrderCreated) error {
		close(inHandler)
		<-ctx.Done()
		return ctx.Err()
	}, WithMaxDeliver(1), WithDrainTimeout(0), WithDeadLetterHook(hook))
	stop := run(t, im)
	if err := Publish(ctx, b, OrderCreated{ID: "s"}); err != nil {
		t.Fatal(err)
	}
	<-inHandler
	stop()
	select {
	case dl := <-dead:
		t.Errorf("dead letter %v; want the message given back", dl.Reason)
	default:
	}
	if s := im.Stats(); s.Released != 1 || s.Failed != 0 || s.Terminated != 0 {
		t.Errorf("Released, Failed, Terminated = %d, %d, %d; want 1, 0, 0", s.Released, s.Failed, s.Terminated)
	}
}
