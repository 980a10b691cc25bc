package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

// This file checks the supervisor against a reference model of the OTP
// semantics. A byte string decodes to a supervisor configuration (strategy,
// intensity, window, children with their restart types and shutdown
// timeouts) and a sequence of steps: a child exits normally, returns
// context.Canceled, fails, panics, is told to hang when it is next stopped,
// or the clock advances. The real supervisor, driven by a fake clock, and the
// model take the same steps; after every step the test waits until the real
// tree has settled on the model's state or reports the divergence: which
// children run, how often each was started and restarted, which children saw
// their context end and in which order, which were abandoned, and finally
// what Run returned.

// Model operations, decoded from one byte each.
const (
	opExitNil = iota
	opExitCanceled
	opFail
	opPanic
	opHang
	opAdvance
	opFail2
	opAdvance2
	opDeadline
	numOps
)

// modelSpec is a decoded input.
type modelSpec struct {
	strategy  Strategy
	intensity int
	window    time.Duration
	inPlace   bool // backoff 0: the in-place restart path; else the general one
	kids      []kidSpec
	ops       []modelOp
}

type kidSpec struct {
	restart  Restart
	shutdown time.Duration
}

type modelOp struct {
	op  int
	kid int
	d   time.Duration
}

const maxModelOps = 48

func decodeModel(data []byte) (modelSpec, bool) {
	if len(data) < 5 {
		return modelSpec{}, false
	}
	var sp modelSpec
	sp.strategy = Strategy(data[0] % 3)
	n := 1 + int(data[1]%5)
	sp.intensity = int(data[2] % 5)
	sp.window = time.Duration(1+data[3]%8) * time.Second
	sp.inPlace = data[4]&1 == 0
	data = data[5:]
	if len(data) < n {
		return modelSpec{}, false
	}
	for i := range n {
		b := data[i]
		sp.kids = append(sp.kids, kidSpec{
			restart:  Restart(b % 3),
			shutdown: time.Duration(1+(b/3)%4) * 100 * time.Millisecond,
		})
	}
	for _, b := range data[n:] {
		if len(sp.ops) == maxModelOps {
			break
		}
		o := modelOp{op: int(b % numOps), kid: int(b/numOps) % n}
		if o.op == opAdvance || o.op == opAdvance2 {
			o.d = time.Duration(1+b/numOps%8) * sp.window / 4
		}
		sp.ops = append(sp.ops, o)
	}
	return sp, true
}

func (sp modelSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v intensity %d in %v, inPlace %v, kids:", sp.strategy, sp.intensity, sp.window, sp.inPlace)
	for i, k := range sp.kids {
		fmt.Fprintf(&b, " c%d=%v/%v", i, k.restart, k.shutdown)
	}
	return b.String()
}

func (o modelOp) String() string {
	switch o.op {
	case opExitNil:
		return fmt.Sprintf("c%d returns nil", o.kid)
	case opExitCanceled:
		return fmt.Sprintf("c%d returns context.Canceled", o.kid)
	case opFail, opFail2:
		return fmt.Sprintf("c%d fails", o.kid)
	case opPanic:
		return fmt.Sprintf("c%d panics", o.kid)
	case opDeadline:
		return fmt.Sprintf("c%d fails with context.DeadlineExceeded", o.kid)
	case opHang:
		return fmt.Sprintf("c%d will hang on shutdown", o.kid)
	}
	return fmt.Sprintf("advance %v", o.d)
}

// The reference model.

type mkid struct {
	name     string
	restart  Restart
	shutdown time.Duration
	running  bool
	retired  bool // never started again in this Run
	hang     bool // the running instance ignores its context
	started  bool
	starts   int
	restarts int
}

type model struct {
	strategy  Strategy
	intensity int
	window    time.Duration
	now       time.Time
	kids      []*mkid
	restarts  []time.Time // restart times within the window
	gaveUp    bool
	stops     []string // children that saw their context end, in order
	hung      []int    // children abandoned, in order (index into kids)
}

func newModel(sp modelSpec) *model {
	m := &model{strategy: sp.strategy, intensity: sp.intensity, window: sp.window, now: epoch}
	for i, k := range sp.kids {
		m.kids = append(m.kids, &mkid{name: fmt.Sprintf("c%d", i), restart: k.restart, shutdown: k.shutdown})
	}
	for i := range m.kids {
		m.start(i)
	}
	return m
}

func (m *model) start(i int) {
	k := m.kids[i]
	k.running, k.hang = true, false
	k.starts++
	if k.started {
		k.restarts++
	}
	k.started = true
}

// stop stops a running child: it sees its context end; if it hangs, the
// supervisor waits its shutdown timeout and abandons it. Where OTP would
// kill it and restart it, an abandoned Go child may still be running, so it
// is never started again in this Run. A Temporary child stopped by the
// supervisor is never started again either.
func (m *model) stop(i int) {
	k := m.kids[i]
	k.running = false
	m.stops = append(m.stops, k.name)
	if k.hang {
		m.hung = append(m.hung, i)
		m.now = m.now.Add(k.shutdown)
		k.retired = true
	}
	k.hang = false
	if k.restart == Temporary {
		k.retired = true
	}
}

// stopAll stops the running children in reverse start order.
func (m *model) stopAll() {
	for i := len(m.kids) - 1; i >= 0; i-- {
		if m.kids[i].running {
			m.stop(i)
		}
	}
}

// countRestart records a restart and reports whether it is within the
// intensity: at most intensity restarts in any window.
func (m *model) countRestart() bool {
	from := m.now.Add(-m.window)
	m.restarts = slices.DeleteFunc(m.restarts, func(t time.Time) bool { return !t.After(from) })
	m.restarts = append(m.restarts, m.now)
	return len(m.restarts) <= m.intensity
}

// exit is child i returning on its own; bad when it failed.
func (m *model) exit(i int, bad bool) {
	k := m.kids[i]
	k.running, k.hang = false, false
	if !k.restart.restarts(bad) {
		// Nobody else is affected. As in OTP 25, only a Temporary child
		// leaves the list: a Transient one is started again when a
		// sibling's failure restarts its group.
		k.retired = k.restart == Temporary
		return
	}
	var group []int // the children restarted with i, in start order
	switch m.strategy {
	case OneForAll:
		for j := range m.kids {
			if j != i {
				group = append(group, j)
			}
		}
	case RestForOne:
		for j := i + 1; j < len(m.kids); j++ {
			group = append(group, j)
		}
	}
	for _, j := range slices.Backward(group) {
		if m.kids[j].running {
			m.stop(j)
		}
	}
	if !m.countRestart() {
		m.stopAll()
		m.gaveUp = true
		return
	}
	group = append(group, i)
	slices.Sort(group)
	for _, j := range group {
		if !m.kids[j].retired {
			m.start(j)
		}
	}
}

// step applies o and reports whether it did anything.
func (m *model) step(o modelOp) bool {
	if o.op == opAdvance || o.op == opAdvance2 {
		m.now = m.now.Add(o.d)
		return true
	}
	k := m.kids[o.kid]
	if !k.running {
		return false
	}
	switch o.op {
	case opExitNil, opExitCanceled:
		m.exit(o.kid, false)
	case opFail, opFail2, opPanic, opDeadline:
		m.exit(o.kid, true)
	case opHang:
		k.hang = true
	}
	return true
}

// The real side: children driven by the test.

// mharness records what the real children do. Every change bumps gen and
// broadcasts, and so does every supervisor event.
type mharness struct {
	mu       sync.Mutex
	cond     *sync.Cond
	gen      int
	runs     []int
	live     [][]*minst // instances in Run that have not seen ctx end
	active   int        // instances in Run, hung ones included
	stops    []string
	hung     []string
	acks     int
	released chan struct{}
	timedOut bool
}

type minst struct {
	cmds chan int
	hang bool // guarded by mharness.mu
}

func newHarness(n int) *mharness {
	h := &mharness{runs: make([]int, n), live: make([][]*minst, n), released: make(chan struct{})}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func (h *mharness) changed() {
	h.gen++
	h.cond.Broadcast()
}

func (h *mharness) hook(Event) {
	h.mu.Lock()
	h.changed()
	h.mu.Unlock()
}

type mchild struct {
	h    *mharness
	i    int
	name string
}

var errModel = errors.New("model failure")

func (c *mchild) Run(ctx context.Context) error {
	h := c.h
	in := &minst{cmds: make(chan int, 1)}
	h.mu.Lock()
	h.runs[c.i]++
	h.live[c.i] = append(h.live[c.i], in)
	h.active++
	h.changed()
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.active--
		h.changed()
		h.mu.Unlock()
	}()
	gone := func() {
		h.live[c.i] = slices.DeleteFunc(h.live[c.i], func(o *minst) bool { return o == in })
		h.changed()
	}
	for {
		select {
		case <-ctx.Done():
			h.mu.Lock()
			gone()
			h.stops = append(h.stops, c.name)
			hang := in.hang
			if hang {
				h.hung = append(h.hung, c.name)
			}
			h.mu.Unlock()
			if hang {
				<-h.released
			}
			return ctx.Err()
		case op := <-in.cmds:
			h.mu.Lock()
			if op == opHang {
				in.hang = true
				h.acks++
				h.changed()
				h.mu.Unlock()
				continue
			}
			gone()
			h.mu.Unlock()
			switch op {
			case opExitNil:
				return nil
			case opExitCanceled:
				return context.Canceled
			case opPanic:
				panic("model panic")
			case opDeadline:
				return context.DeadlineExceeded
			}
			return errModel
		}
	}
}

// waitUntil waits until ok (called with h.mu held) holds, or fails the test
// with desc after a generous guard: the real tree never settled on the
// model's state.
func (h *mharness) waitUntil(t testing.TB, ok func() bool, desc func() string) {
	t.Helper()
	guard := time.AfterFunc(10*time.Second, func() {
		h.mu.Lock()
		h.timedOut = true
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	defer guard.Stop()
	h.mu.Lock()
	for !ok() {
		if h.timedOut {
			h.mu.Unlock()
			t.Fatalf("never settled: %s", desc())
		}
		h.cond.Wait()
	}
	h.mu.Unlock()
}

// runModel drives a real supervisor and the model with sp and compares
// them after every step.
func runModel(t testing.TB, sp modelSpec) {
	t.Helper()
	m := newModel(sp)
	h := newHarness(len(sp.kids))
	clk := clock.NewFake(epoch)
	opts := []Option{
		WithStrategy(sp.strategy),
		WithIntensity(sp.intensity, sp.window),
		WithLogger(discard),
		WithHook(h.hook),
		withClock(clk, func(int64) int64 { return 0 }),
	}
	if sp.inPlace {
		opts = append(opts, WithBackoff(0, 0))
	} else {
		opts = append(opts, WithBackoff(time.Millisecond, time.Second))
	}
	s := New("root", opts...)
	for i, k := range sp.kids {
		if err := s.Add(fmt.Sprintf("c%d", i), &mchild{h: h, i: i, name: fmt.Sprintf("c%d", i)},
			WithRestart(k.restart), WithShutdown(k.shutdown)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var runErr error
	returned := false
	go func() {
		err := s.Run(ctx)
		h.mu.Lock()
		runErr, returned = err, true
		h.changed()
		h.mu.Unlock()
		done <- err
	}()
	defer func() {
		// Let the abandoned children go, and wait for every instance.
		cancel()
		close(h.released)
		h.mu.Lock()
		h.timedOut = false
		h.mu.Unlock()
		h.waitUntil(t, func() bool { return h.active == 0 }, func() string { return "hung children did not return once released" })
		<-done
	}()

	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nsteps:\n  %s\n%s", sp, strings.Join(trace, "\n  "), fmt.Sprintf(format, args...))
	}
	state := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "model: gaveUp %v stops %v hung %v\n", m.gaveUp, m.stops, m.hung)
		for i, k := range m.kids {
			fmt.Fprintf(&b, "  %s model running %v starts %d restarts %d retired %v; real live %d runs %d\n",
				k.name, k.running, k.starts, k.restarts, k.retired, len(h.live[i]), h.runs[i])
		}
		fmt.Fprintf(&b, "real: returned %v (%v) stops %v hung %v", returned, runErr, h.stops, h.hung)
		return b.String()
	}
	locked := func() string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return state()
	}

	// advanceHung waits for the real supervisor to stop each child the
	// model abandoned since the last call, and moves the clock past its
	// shutdown timeout.
	nHung := 0
	final := false
	advanceHung := func() {
		for ; nHung < len(m.hung); nHung++ {
			want := nHung + 1
			h.waitUntil(t, func() bool { return len(h.hung) >= want || returned }, func() string { return "waiting for a hung child: " + state() })
			armed := make(chan struct{})
			go func() {
				clk.BlockUntil(1)
				close(armed)
			}()
			guard := time.NewTimer(10 * time.Second)
			select {
			case <-armed:
				guard.Stop()
			case <-guard.C:
				fail("no shutdown timer armed for %s\n%s", m.kids[m.hung[nHung]].name, locked())
			}
			clk.Advance(m.kids[m.hung[nHung]].shutdown)
		}
	}

	settled := func() bool {
		if (m.gaveUp || final) != returned {
			return false
		}
		if len(h.stops) != len(m.stops) || len(h.hung) != len(m.hung) {
			return false
		}
		for i, k := range m.kids {
			live := 0
			if k.running {
				live = 1
			}
			if len(h.live[i]) != live || h.runs[i] != k.starts {
				return false
			}
		}
		return true
	}
	// check waits for the real tree to settle on the model's state, then
	// compares the details.
	check := func() {
		for {
			h.mu.Lock()
			gen := h.gen
			ok := settled()
			h.mu.Unlock()
			if ok {
				tree := s.Tree()
				treeOK := len(tree) == len(m.kids)
				for i, ci := range tree {
					if !treeOK {
						break
					}
					k := m.kids[i]
					running := ci.State == StateRunning || ci.State == StateCrashLooping
					treeOK = running == k.running && ci.Restarts == k.restarts
				}
				if treeOK {
					break
				}
			}
			h.waitUntil(t, func() bool { return h.gen != gen }, func() string { return fmt.Sprintf("%s\ntree: %+v", state(), s.Tree()) })
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if !slices.Equal(h.stops, m.stops) {
			fail("got stop order %v; want %v\n%s", h.stops, m.stops, state())
		}
		var wantHung []string
		for _, i := range m.hung {
			wantHung = append(wantHung, m.kids[i].name)
		}
		if !slices.Equal(h.hung, wantHung) {
			fail("got abandoned %v; want %v\n%s", h.hung, wantHung, state())
		}
	}

	check()
	for _, o := range sp.ops {
		if m.gaveUp {
			break
		}
		var in *minst
		if o.op != opAdvance && o.op != opAdvance2 {
			h.mu.Lock()
			if l := h.live[o.kid]; len(l) == 1 {
				in = l[0]
			}
			h.mu.Unlock()
		}
		if !m.step(o) {
			continue
		}
		trace = append(trace, o.String())
		switch {
		case o.op == opAdvance || o.op == opAdvance2:
			clk.Advance(o.d)
			continue
		case in == nil:
			fail("c%d: model says running, real has no single live instance\n%s", o.kid, locked())
		case o.op == opHang:
			h.mu.Lock()
			acks := h.acks
			h.mu.Unlock()
			in.cmds <- o.op
			h.waitUntil(t, func() bool { return h.acks > acks }, func() string { return "hang not acknowledged" })
			continue
		}
		in.cmds <- o.op
		advanceHung()
		check()
	}

	if !m.gaveUp {
		trace = append(trace, "cancel")
		m.stopAll()
		cancel()
		advanceHung()
	}
	h.mu.Lock()
	ret := returned
	h.mu.Unlock()
	if !ret && m.gaveUp {
		fail("model gave up; Run did not return\n%s", locked())
	}
	err := <-done
	done <- err // for the deferred wait
	h.mu.Lock()
	final = true
	h.mu.Unlock()
	check()

	if got := errors.Is(err, ErrTooManyRestarts); got != m.gaveUp {
		fail("got Run error %v (ErrTooManyRestarts %v); want gave up %v", err, got, m.gaveUp)
	}
	var wantStuck []string
	for _, i := range m.hung {
		wantStuck = append(wantStuck, "root/"+m.kids[i].name)
	}
	var se *ShutdownError
	var gotStuck []string
	if errors.As(err, &se) {
		for _, sc := range se.Stuck {
			gotStuck = append(gotStuck, sc.Path)
		}
	}
	if !slices.Equal(gotStuck, wantStuck) {
		fail("got stuck children %v; want %v (Run error %v)", gotStuck, wantStuck, err)
	}
	if !m.gaveUp && len(wantStuck) == 0 && err != nil {
		fail("got Run error %v; want nil", err)
	}
}

// TestSupervisorModel runs the model against the real supervisor for
// random sequences from a fixed seed (TROUPE_MODEL_SEED to vary it).
func TestSupervisorModel(t *testing.T) {
	seed := uint64(20250101)
	n := 300
	if testing.Short() {
		n = 60
	}
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range n {
		data := make([]byte, 5+5+r.IntN(40))
		for j := range data {
			data[j] = byte(r.UintN(256))
		}
		sp, _ := decodeModel(data)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Logf("input %q", data)
			runModel(t, sp)
		})
	}
}

// FuzzSupervisorModel lets the fuzzer look for inputs on which the
// supervisor and the model part ways. The seed corpus is in
// testdata/fuzz/FuzzSupervisorModel.
func FuzzSupervisorModel(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, ok := decodeModel(data)
		if !ok {
			t.Skip()
		}
		runModel(t, sp)
	})
}

// TestModelRegressions replays the divergences the model found, fixed in
// 1c75684: a give-up whose last failure wraps a context error was taken for
// the end of ctx (Run returned nil), and an abandoned child was restarted
// while its first Run was still going on.
func TestModelRegressions(t *testing.T) {
	tests := []struct {
		name string
		sp   modelSpec
	}{
		{"give-up on DeadlineExceeded is swallowed", modelSpec{
			strategy: OneForOne, intensity: 0, window: time.Second, inPlace: true,
			kids: []kidSpec{{Permanent, time.Second}},
			ops:  []modelOp{{op: opDeadline}},
		}},
		{"give-up on a Permanent child's context.Canceled is swallowed", modelSpec{
			strategy: RestForOne, intensity: 1, window: time.Second,
			kids: []kidSpec{{Permanent, time.Second}, {Permanent, time.Second}},
			ops:  []modelOp{{op: opExitCanceled, kid: 1}, {op: opExitCanceled, kid: 1}},
		}},
		{"abandoned Temporary child is restarted by OneForAll", modelSpec{
			strategy: OneForAll, intensity: 5, window: time.Second, inPlace: true,
			kids: []kidSpec{{Permanent, time.Second}, {Temporary, time.Second}},
			ops:  []modelOp{{op: opHang, kid: 1}, {op: opFail, kid: 0}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runModel(t, tt.sp) })
	}
}
