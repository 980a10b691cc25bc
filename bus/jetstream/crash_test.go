package jetstream

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs an import in a child process (this test binary run
// again with crashChildEnv set), kills it with SIGKILL while it is in the
// middle of the stream, and finishes the stream with a new import of the
// same durable name in the test.
const crashChildEnv = "TROUPE_JETSTREAM_CRASH_CHILD"

// effects is an idempotent handler's state, kept in a file shared by the
// child and the parent: one line per event ID whose effect happened.
type effects struct {
	mu   sync.Mutex
	f    *os.File
	seen map[string]bool
}

func openEffects(path string) (*effects, error) {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	e := &effects{seen: map[string]bool{}}
	for _, id := range strings.Fields(string(data)) {
		e.seen[id] = true
	}
	e.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	return e, err
}

// apply performs the effect of event id once, however often it is called.
func (e *effects) apply(id string) (fresh bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen[id] {
		return false, nil
	}
	if _, err := e.f.WriteString(id + "\n"); err != nil {
		return false, err
	}
	e.seen[id] = true
	return true, nil
}

// crashChild is the child's main: it handles events, printing "handled"
// for each, and after crashAt of them blocks in the handler, message in
// hand and unacked, until it is killed.
func crashChild() int {
	env := func(k string) string { return os.Getenv("CRASH_" + k) }
	crashAt, _ := strconv.Atoi(env("AT"))
	eff, err := openEffects(env("FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	b, err := Connect(env("URL"), WithStream(env("STREAM")), WithPrefix(env("PREFIX")), WithExistingStream(), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	handled := 0
	im := NewImport(env("DURABLE"), b, func(ctx context.Context, o OrderCreated) error {
		if _, err := eff.apply(o.ID); err != nil {
			return err
		}
		handled++
		fmt.Println("handled", o.ID)
		if handled == crashAt {
			<-ctx.Done() // the kill comes first
		}
		return nil
	}, WithAckWait(crashAckWait), WithMailbox(8))
	err = im.Run(context.Background())
	fmt.Fprintln(os.Stderr, "child import ended:", err)
	return 1
}

func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	url := serverURL(t)
	b := testBridge(t, url)
	ctx := context.Background()
	if err := b.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	const n, crashAt = 200, 60
	for i := range n {
		if err := Publish(ctx, b, OrderCreated{ID: fmt.Sprintf("e%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	file := t.TempDir() + "/effects"
	durable := "crashy"

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1",
		"CRASH_URL="+url, "CRASH_STREAM="+b.Stream(), "CRASH_PREFIX="+b.cfg.prefix,
		"CRASH_DURABLE="+durable, "CRASH_FILE="+file, "CRASH_AT="+strconv.Itoa(crashAt))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var childCalls []string
	lines := bufio.NewScanner(out)
	for len(childCalls) < crashAt && lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "handled "); ok {
			childCalls = append(childCalls, id)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	if len(childCalls) != crashAt {
		t.Fatalf("child handled %d events before it ended (%v); want %d", len(childCalls), werr, crashAt)
	}

	// A new import with the same durable name finishes the stream.
	eff, err := openEffects(file)
	if err != nil {
		t.Fatal(err)
	}
	defer eff.f.Close()
	var mu sync.Mutex
	calls := map[string]int{}
	for _, id := range childCalls {
		calls[id]++
	}
	all := make(chan struct{})
	im := NewImport(durable, b, func(_ context.Context, o OrderCreated) error {
		if _, err := eff.apply(o.ID); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		calls[o.ID]++
		if len(calls) == n {
			select {
			case <-all:
			default:
				close(all)
			}
		}
		return nil
	}, WithAckWait(crashAckWait), WithMailbox(8))
	stop := run(t, im)
	select {
	case <-all:
	case <-time.After(testTimeout):
		mu.Lock()
		var missing []string
		for i := range n {
			if id := fmt.Sprintf("e%03d", i); calls[id] == 0 {
				missing = append(missing, id)
			}
		}
		mu.Unlock()
		var state any = "unknown"
		if c, err := b.js.Consumer(ctx, b.Stream(), durable); err == nil {
			i := c.CachedInfo()
			state = fmt.Sprintf("pending %d, ack pending %d, redelivered %d, waiting pulls %d", i.NumPending, i.NumAckPending, i.NumRedelivered, i.NumWaiting)
		}
		t.Fatalf("timed out with %d events never handled %v; import stats %+v; consumer: %v", len(missing), missing, im.Stats(), state)
	}
	stop()

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines2 := strings.Fields(string(data))
	unique := map[string]bool{}
	for _, id := range lines2 {
		unique[id] = true
	}
	if len(lines2) != n || len(unique) != n {
		t.Errorf("%d effects, %d distinct; want exactly %d", len(lines2), len(unique), n)
	}
	mu.Lock()
	defer mu.Unlock()
	redelivered := 0
	for i := range n {
		id := fmt.Sprintf("e%03d", i)
		if calls[id] == 0 {
			t.Errorf("event %s never handled", id)
		}
		redelivered += calls[id] - 1
	}
	// The event in hand at the kill was handled but not acked: it is
	// delivered again, and the idempotent handler ignores it.
	if redelivered < 1 {
		t.Errorf("%d events handled twice; want at least the one in hand at the kill", redelivered)
	}
	t.Logf("child handled %d, %d handled again after the crash", crashAt, redelivered)
}

// crashAckWait is the consumers' AckWait in the crash test: how long the
// message the killed consumer held waits for its redelivery. The messages
// waiting in a mailbox get no InProgress, so it must also cover a mailbox
// of 8 handled on a loaded machine under -race, or they are redelivered
// until MaxDeliver runs out.
const crashAckWait = 3 * time.Second
