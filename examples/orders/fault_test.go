package main

// The fault suite: the example built as a program, a NATS server of the
// test's own in a process of its own (the nats-server program when the
// machine has one, else the test binary serving an in-process server), on
// a free port with its own store, an API process
// and worker processes, and the faults an operator meets: kill -9 of a
// worker or of the API, the broker killed, restarted, paused or restarted
// with its store lost, slow workers, panicking workers. Each test checks the
// accounting by order ID: every order answered 201 is emailed exactly once
// (one line in the workers' -sent audit files), within a bound after the
// fault, with no restart by hand.
//
// The default run uses bounded forms (a few hundred orders, short faults);
// TROUPE_FAULT_LONG=1 runs the long forms (more orders, longer faults,
// three workers, a worker frozen past AckWait).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// faultLongEnv selects the long forms of the fault suite.
const faultLongEnv = "TROUPE_FAULT_LONG"

func long() bool { return os.Getenv(faultLongEnv) != "" }

// scale returns short in the default run and long with faultLongEnv.
func scale[T any](short, lng T) T {
	if long() {
		return lng
	}
	return short
}

// faultBound bounds how long the orders may take to be emailed after the
// last fault: a safety net, not a measurement.
const faultBound = 60 * time.Second

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// ordersBinary builds the example once per test run.
func ordersBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "orders-fault-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "orders")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// natsServerBinary returns the nats-server program when the machine has
// one, and "" otherwise: the test binary then serves NATS itself, in a
// process of its own (see serveNATS), which the faults reach the same way.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	return ""
}

// selfNATSEnv makes the test binary a NATS server: "<port> <store dir>".
const selfNATSEnv = "ORDERS_TEST_NATS_SERVER"

// serveNATS runs an in-process NATS server with JetStream as the whole
// process, until SIGTERM or SIGINT, for the fault suite on a machine
// without the nats-server program.
func serveNATS() int {
	var port int
	var dir string
	if _, err := fmt.Sscan(os.Getenv(selfNATSEnv), &port, &dir); err != nil {
		fmt.Fprintln(os.Stderr, selfNATSEnv+":", err)
		return 2
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.ConfigureLogger()
	s.Start()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Shutdown()
	s.WaitForShutdown()
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a child process whose output goes to a file of the test.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  string
	done chan struct{}
	err  error
}

func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, name, nil, bin, args...)
}

// startProcEnv is startProc with variables added to the environment.
func startProcEnv(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGCONT)
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			data, _ := os.ReadFile(out)
			if dir := os.Getenv("TROUPE_FAULT_LOGS"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, t.Name()[strings.LastIndex(t.Name(), "/")+1:]+"-"+name+".log"), data, 0o644)
			}
			if len(data) > 8000 {
				data = data[len(data)-8000:]
			}
			t.Logf("--- %s output (end):\n%s", name, data)
		}
	})
	return p
}

func (p *proc) signal(s syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(s)
	}
}

// kill9 kills the process and waits for it.
func (p *proc) kill9() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop() int {
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(faultBound):
		p.t.Fatalf("%s did not stop within %v of SIGTERM", p.name, faultBound)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) output() string {
	data, _ := os.ReadFile(p.out)
	return string(data)
}

// natsServer is a nats-server process with its own port and store.
type natsServer struct {
	t     *testing.T
	bin   string
	port  int
	store string
	p     *proc
}

func newNATSServer(t *testing.T) *natsServer {
	s := &natsServer{t: t, bin: natsServerBinary(t), port: freePort(t), store: t.TempDir()}
	s.start()
	return s
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

func (s *natsServer) start() {
	s.t.Helper()
	if s.bin != "" {
		s.p = startProc(s.t, "nats-server", s.bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-sd", s.store)
	} else {
		s.p = startProcEnv(s.t, "nats-server", []string{fmt.Sprintf("%s=%d %s", selfNATSEnv, s.port, s.store)}, os.Args[0])
	}
	deadline := time.Now().Add(faultBound)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server not listening: %v\n%s", err, s.p.output())
		}
		select {
		case <-s.p.done:
			s.t.Fatalf("nats-server exited: %v\n%s", s.p.err, s.p.output())
		case <-time.After(20 * time.Millisecond): // polling a port
		}
	}
}

func (s *natsServer) kill9()  { s.p.kill9() }
func (s *natsServer) stop()   { s.p.stop() }
func (s *natsServer) pause()  { s.p.signal(syscall.SIGSTOP) }
func (s *natsServer) resume() { s.p.signal(syscall.SIGCONT) }

// wipe deletes the server's store; the server must be stopped.
func (s *natsServer) wipe() {
	if err := os.RemoveAll(s.store); err != nil {
		s.t.Fatal(err)
	}
	if err := os.MkdirAll(s.store, 0o755); err != nil {
		s.t.Fatal(err)
	}
}

// cluster is one scenario's processes: a broker, APIs and workers.
type cluster struct {
	t      *testing.T
	bin    string
	nats   *natsServer
	stream string
	api    *proc
	addr   string
	sent   []string // the workers' audit files
	common []string

	mu       sync.Mutex
	accepted []string // orders answered 201
	answers  map[int]int
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: ordersBinary(t), nats: newNATSServer(t), stream: "FAULT", answers: map[int]int{}}
	c.common = []string{"-nats", c.nats.url(), "-stream", c.stream, "-drain", "2s"}
	return c
}

// startAPI starts an API process serving on a new port.
func (c *cluster) startAPI() {
	c.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(c.t))
	c.api = startProc(c.t, "api", c.bin, append([]string{"-role", "api", "-serve", addr}, c.common...)...)
	defer func() {
		c.mu.Lock()
		c.addr = addr
		c.mu.Unlock()
	}()
	deadline := time.Now().Add(faultBound)
	for {
		resp, err := http.Get("http://" + addr + "/stats")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("api not serving: %v\n%s", err, c.api.output())
		}
		select {
		case <-c.api.done:
			c.t.Fatalf("api exited: %v\n%s", c.api.err, c.api.output())
		case <-time.After(20 * time.Millisecond): // polling a port
		}
	}
}

// startWorker starts an email worker with its own audit file.
func (c *cluster) startWorker(flags ...string) *proc {
	c.t.Helper()
	sent := filepath.Join(c.t.TempDir(), fmt.Sprintf("sent-%d", len(c.sent)))
	c.sent = append(c.sent, sent)
	args := append([]string{"-role", "workers", "-sent", sent,
		"-email-latency", "2ms", "-email-timeout", "20ms", "-email-backoff", "5ms"}, c.common...)
	return startProc(c.t, fmt.Sprintf("worker-%d", len(c.sent)), c.bin, append(args, flags...)...)
}

// place posts n orders from a few concurrent clients, at most rate per
// second, and records the IDs answered 201. Failed requests (the API
// killed, the broker away) are not orders.
func (c *cluster) place(ctx context.Context, n, rate int) {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"customer":"c%d","email":"c%d@example.com","items":[{"sku":"mug","qty":1}]}`, i%17, i%17)
			c.mu.Lock()
			addr := c.addr
			c.mu.Unlock()
			resp, err := client.Post("http://"+addr+"/orders", "application/json", strings.NewReader(body))
			if err != nil {
				c.count(0)
				return
			}
			defer resp.Body.Close()
			c.count(resp.StatusCode)
			if resp.StatusCode != http.StatusCreated {
				return
			}
			var r struct{ ID string }
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ID == "" {
				c.t.Errorf("201 without an order ID: %v", err)
				return
			}
			c.mu.Lock()
			c.accepted = append(c.accepted, r.ID)
			c.mu.Unlock()
		})
	}
	wg.Wait()
}

func (c *cluster) count(status int) {
	c.mu.Lock()
	c.answers[status]++
	c.mu.Unlock()
}

func (c *cluster) answersByStatus() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.answers)
}

func (c *cluster) acceptedIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.accepted)
}

// emailed counts the lines of every worker's audit file, by order ID.
func (c *cluster) emailed() map[string]int {
	n := map[string]int{}
	for _, path := range c.sent {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if id := strings.TrimSpace(sc.Text()); id != "" {
				n[id]++
			}
		}
		f.Close()
	}
	return n
}

// checkEmailedOnce waits until every order answered 201 (those of want,
// all of them when want is nil) was emailed, then checks that no order was
// emailed more than once.
func (c *cluster) checkEmailedOnce(want []string) {
	c.t.Helper()
	if want == nil {
		want = c.acceptedIDs()
	}
	if len(want) == 0 {
		c.t.Fatalf("no order was answered 201 (answers by status: %v)", c.answersByStatus())
	}
	deadline := time.Now().Add(faultBound)
	var missing []string
	for {
		got := c.emailed()
		missing = missing[:0]
		for _, id := range want {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			for id, n := range got {
				if n != 1 {
					c.t.Errorf("order %s emailed %d times; want once", id, n)
				}
			}
			c.t.Logf("%d orders answered 201, every one emailed once (%d emails in all); answers by status: %v", len(want), len(got), c.answersByStatus())
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling the audit files
	}
	c.t.Fatalf("%d of %d orders answered 201 never emailed within %v (first: %v); answers by status: %v",
		len(missing), len(want), faultBound, missing[:min(len(missing), 5)], c.answersByStatus())
}

// consumerInfo returns the email consumer's state on the broker.
func (c *cluster) consumerInfo() *jetstream.ConsumerInfo {
	c.t.Helper()
	nc, err := nats.Connect(c.nats.url())
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, c.stream, emailDurable)
	if err != nil {
		c.t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return info
}

// during places n orders at rate and calls fault once a third of them was
// placed.
func (c *cluster) during(n, rate int, fault func()) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*faultBound)
	defer cancel()
	placed := make(chan struct{})
	go func() {
		defer close(placed)
		c.place(ctx, n, rate)
	}()
	for len(c.acceptedIDs()) < n/3 {
		select {
		case <-placed:
			c.t.Fatalf("the load ended before a third of the orders was placed: %v", c.answersByStatus())
		case <-time.After(10 * time.Millisecond): // polling the load
		}
	}
	fault()
	<-placed
}

func TestFaultWorkerKilled(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	w1 := c.startWorker()
	c.startWorker()
	c.during(scale(300, 3000), scale(300, 400), func() {
		w1.kill9()
		c.startWorker()
	})
	c.checkEmailedOnce(nil)
}

func TestFaultBrokerRestarted(t *testing.T) {
	for _, tt := range []struct {
		name string
		down func(*natsServer)
	}{
		{"graceful", (*natsServer).stop},
		{"kill -9", (*natsServer).kill9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t)
			c.startAPI()
			c.startWorker()
			c.startWorker()
			c.during(scale(300, 3000), scale(200, 400), func() {
				tt.down(c.nats)
				time.Sleep(scale(time.Second, 10*time.Second)) // the outage
				c.nats.start()
			})
			c.checkEmailedOnce(nil)
		})
	}
}

// A broker that lost its store loses the orders it held and had not
// delivered; the stream and consumer are made again, and every order
// answered 201 after it came back is emailed once.
func TestFaultBrokerStoreWiped(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	c.startWorker()
	var before int
	c.during(scale(300, 3000), scale(200, 400), func() {
		c.nats.kill9()
		before = len(c.acceptedIDs())
		c.nats.wipe()
		c.nats.start()
	})
	after := c.acceptedIDs()
	// Orders answered while the broker was being wiped may be in either
	// store: check those answered clearly after.
	c.checkEmailedOnce(after[min(before+50, len(after)):])
}

// The API killed while the broker is paused: what it answered 201 before
// was stored; what it had in flight was not answered 201.
func TestFaultAPIKilledDuringBrokerPause(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	c.startWorker()
	c.during(scale(300, 3000), scale(200, 400), func() {
		c.nats.pause()
		time.Sleep(scale(time.Second, 3*time.Second)) // requests wait for the broker
		c.api.kill9()
		c.nats.resume()
		c.startAPI()
	})
	c.checkEmailedOnce(nil)
}

// A broker paused (SIGSTOP) and resumed: every order answered 201 is
// emailed once.
func TestFaultBrokerPaused(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	c.startWorker()
	c.startWorker()
	c.during(scale(300, 3000), scale(200, 400), func() {
		c.nats.pause()
		time.Sleep(scale(2*time.Second, 10*time.Second)) // the pause
		c.nats.resume()
	})
	c.checkEmailedOnce(nil)
}

// Healthy slow workers (a provider taking 100 ms) sharing the consumer,
// each with a queue longer than AckWait to work through: no order is
// delivered again, none emailed twice.
func TestFaultSlowWorkers(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	n := scale(2, 3)
	for range n {
		c.startWorker("-email-latency", "100ms", "-email-failure-rate", "0", "-email-panic-rate", "0")
	}
	// Enough orders for every mailbox (64) to hold more than AckWait (5s)
	// of work.
	c.during(scale(200, 600), 400, func() {})
	c.checkEmailedOnce(nil)
	if info := c.consumerInfo(); info.NumRedelivered != 0 {
		t.Errorf("the broker delivered %d orders again to %d healthy workers; want 0", info.NumRedelivered, n)
	}
}

// Workers whose provider panics at the default rate keep consuming.
func TestFaultWorkerPanics(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	c.startWorker("-email-panic-rate", "0.02", "-email-failure-rate", "0.05")
	c.during(scale(400, 3000), scale(300, 200), func() {})
	c.checkEmailedOnce(nil)
}

// A worker frozen past AckWait (SIGSTOP 8 s) while it holds orders: the
// other worker takes them, and each is recorded once.
func TestFaultWorkerFrozen(t *testing.T) {
	if !long() {
		t.Skipf("long form only (%s=1)", faultLongEnv)
	}
	c := newCluster(t)
	c.startAPI()
	w1 := c.startWorker("-email-latency", "20ms")
	c.startWorker("-email-latency", "20ms")
	c.during(3000, 300, func() {
		w1.signal(syscall.SIGSTOP)
		time.Sleep(8 * time.Second) // frozen past AckWait
		w1.signal(syscall.SIGCONT)
	})
	c.checkEmailedOnce(nil)
}

// 201 means durable: with the broker down the API answers 503 and nothing
// of those orders is ever emailed; once it is back, 201.
func TestFault503PublishesNothing(t *testing.T) {
	c := newCluster(t)
	c.startAPI()
	c.nats.stop()
	ctx, cancel := context.WithTimeout(context.Background(), faultBound)
	defer cancel()
	c.place(ctx, 3, 100)
	if got := c.answersByStatus()[http.StatusServiceUnavailable]; got != 3 {
		t.Fatalf("answers with the broker down: %v; want 3×503", c.answersByStatus())
	}
	c.nats.start()
	c.startWorker()
	deadline := time.Now().Add(faultBound)
	for len(c.acceptedIDs()) < 3 && time.Now().Before(deadline) {
		c.place(ctx, 1, 100) // until the API reconnected
	}
	c.checkEmailedOnce(nil)
	if got, want := len(c.emailed()), len(c.acceptedIDs()); got != want {
		t.Errorf("%d orders emailed; want only the %d answered 201", got, want)
	}
	var stats bytes.Buffer
	resp, err := http.Get("http://" + c.addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = stats.ReadFrom(resp.Body)
	var st struct {
		Orders struct {
			Placed      uint64 `json:"placed"`
			Unavailable uint64 `json:"unavailable"`
		} `json:"orders"`
		Analytics map[string]int `json:"analytics"`
	}
	if err := json.Unmarshal(stats.Bytes(), &st); err != nil {
		t.Fatalf("GET /stats: %v\n%s", err, stats.String())
	}
	// The local consumers saw the orders answered 201 and none of the 503s.
	placed := len(c.acceptedIDs())
	if int(st.Orders.Placed) != placed || st.Orders.Unavailable < 3 {
		t.Errorf("api stats: placed %d, unavailable %d; want %d, at least 3", st.Orders.Placed, st.Orders.Unavailable, placed)
	}
	deadline = time.Now().Add(faultBound)
	for st.Analytics["OrderCreated"] != placed && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // analytics is asynchronous
		st.Analytics = nil
		resp, err := http.Get("http://" + c.addr + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := st.Analytics["OrderCreated"]; got != placed {
		t.Errorf("analytics saw %d OrderCreated; want only the %d answered 201", got, placed)
	}
}
