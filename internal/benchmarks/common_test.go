// Package benchmarks compares troupe with the Go event buses and actor
// runtimes people use, on the same event, the same handler and the same
// buffer size. Every benchmark is named Benchmark<Workload>_<Peer>; the
// reporter in cmd/report runs them in interleaved rounds and prints the
// medians with their ratio to the Raw peer of the same round.
package benchmarks

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"log"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Event is the event every peer carries.
type Event struct {
	ID  int64
	SKU string
	Qty int
}

// Buffer is the mailbox or channel size given to every peer that lets one
// be set.
const Buffer = 1024

// FanOut is the number of subscribers in the fan-out workload.
const FanOut = 10

// Publishers is the number of concurrent publishers in the Pub4 workload.
const Publishers = 4

// Poison makes the restart workloads' child panic.
const Poison = -1

// newEvent returns the i-th event; it does not allocate.
func newEvent(i int) Event { return Event{ID: int64(i), SKU: "sku-1", Qty: 1} }

// sink is the handler every peer calls: it sums the quantities and closes
// done when it has handled want events. One goroutine at a time calls
// Handle (every peer serialises a subscriber's handler).
type sink struct {
	want int64
	got  int64
	sum  int64
	done chan struct{}
}

func newSink(want int) *sink {
	s := &sink{want: int64(want), done: make(chan struct{})}
	if want == 0 {
		close(s.done)
	}
	return s
}

// Handle is the shared handler.
func (s *sink) Handle(e Event) {
	s.sum += int64(e.Qty)
	s.got++
	if s.got == s.want {
		close(s.done)
	}
}

// wait waits until the sink has handled everything, or fails the benchmark
// after a minute (a lost event).
func (s *sink) wait(b *testing.B) {
	b.Helper()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		b.Fatalf("handled %d of %d events after a minute", atomic.LoadInt64(&s.got), s.want)
	}
	if s.sum != s.want {
		b.Fatalf("got sum %d; want %d", s.sum, s.want)
	}
}

func newSinks(n, want int) []*sink {
	s := make([]*sink, n)
	for i := range s {
		s[i] = newSink(want)
	}
	return s
}

func waitAll(b *testing.B, sinks []*sink) {
	b.Helper()
	for _, s := range sinks {
		s.wait(b)
	}
}

// publishConcurrently splits b.N publishes over n goroutines; publish is
// called with the event's index and must be safe for concurrent use.
func publishConcurrently(b *testing.B, n int, publish func(i int)) {
	b.Helper()
	var wg sync.WaitGroup
	per := b.N / n
	for g := range n {
		lo, hi := g*per, (g+1)*per
		if g == n-1 {
			hi = b.N
		}
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				publish(i)
			}
		})
	}
	wg.Wait()
}

// latencies records one duration per round trip and reports their p50 and
// p99 as the metrics p50-ns and p99-ns.
type latencies []time.Duration

func newLatencies(b *testing.B) latencies { return make(latencies, 0, b.N) }

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l[min(len(l)-1, len(l)*99/100)].Nanoseconds()), "p99-ns")
}

// roundTrips measures b.N round trips: send starts one, and the handler
// signals handled when it is done.
func roundTrips(b *testing.B, handled <-chan struct{}, send func(i int)) {
	b.Helper()
	// Warm up the path (first send, first park) outside the measurement.
	send(0)
	<-handled
	lat := newLatencies(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		send(i + 1)
		<-handled
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	lat.report(b)
}

// restarts measures b.N restarts: each round sends the poison event, then a
// normal one, and waits for the restarted child to handle it. handled is
// signalled by the child for every normal event.
func restarts(b *testing.B, handled <-chan struct{}, send func(e Event)) {
	b.Helper()
	send(newEvent(0))
	<-handled
	lat := newLatencies(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		send(Event{ID: Poison})
		send(newEvent(i + 1))
		<-handled
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	lat.report(b)
}

// IdleActors is the number of actors in the idle-memory workload, and
// IdleMailbox their mailbox size there: 10,000 mailboxes of 1024 events
// would measure the buffers (32 bytes per slot) rather than the actors.
const (
	IdleActors  = 10_000
	IdleMailbox = 16
)

// heapInUse returns the bytes of live heap plus goroutine stacks after a GC.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// idleMemory starts IdleActors actors with start, measures the memory they
// hold once idle, reports it as B/actor and stops them with stop.
func idleMemory(b *testing.B, start func(n int), stop func()) {
	b.ReportAllocs()
	for range b.N {
		before := heapInUse()
		start(IdleActors)
		// Let every goroutine park.
		time.Sleep(50 * time.Millisecond)
		after := heapInUse()
		b.ReportMetric(float64(after-before)/IdleActors, "B/actor")
		stop()
	}
}

// Unrelated is the number of subscriptions to other event types (topics)
// in the Unrelated10k workload.
const Unrelated = 10_000

// The overload workloads (DropNewest, DropOldest) compare equal work: every
// peer drops the same share of the events, exactly. The subscriber is held
// while the publisher publishes a burst of Burst events as fast as it can:
// a gate event, sent before the burst and outside the measurement, blocks
// the subscriber's handler until the burst is over. The burst thus meets an
// empty buffer of Buffer events that nothing drains: its first Buffer
// publishes find room, and each of the other Burst-Buffer ones finds the
// buffer full and drops one event (the new one under DropNewest, the oldest
// queued under DropOldest). Then the subscriber is released and drains the
// buffer, outside the measurement, before the next burst. Every burst's
// drops are checked against that count, so 3 events in 4 are dropped for
// every peer, whatever its speed: unlike a subscriber running beside the
// publisher, whose share of drops depends on how fast the publisher is.
// The publisher's time is also reported apart for the publishes that found
// room (ns/accepted) and those that dropped one event (ns/dropped).
const (
	// Burst is the number of events published while the subscriber is
	// held.
	Burst = 4 * Buffer
	// Gate is the ID of the event that holds the subscriber.
	Gate = -2
)

// overloadSink is the subscriber of the overload workloads: it counts the
// events it handles (read by the publisher's goroutine while it runs) and
// holds on a gate event until released.
type overloadSink struct {
	handled atomic.Int64
	sum     int64
	held    chan struct{} // the handler holds a gate event
	release chan struct{} // lets it go
}

func newOverloadSink() *overloadSink {
	return &overloadSink{held: make(chan struct{}), release: make(chan struct{})}
}

func (s *overloadSink) Handle(e Event) {
	if e.ID == Gate {
		s.held <- struct{}{}
		<-s.release
		return
	}
	s.sum += int64(e.Qty)
	s.handled.Add(1)
}

// overload publishes b.N events to s in bursts (see Burst) with publish,
// and checks after each burst that every event was handled or dropped,
// with dropped (the peer's count of events dropped so far) counting exactly
// the publishes that found the buffer full. It reports the share of events
// dropped, and the publisher's ns per publish that found room and per
// publish that found the buffer full.
func overload(b *testing.B, s *overloadSink, publish func(Event), dropped func() int64) {
	b.Helper()
	b.ReportAllocs()
	var room, full time.Duration // time publishing into room, into a full buffer
	var nRoom, nFull int64
	b.ResetTimer()
	b.StopTimer()
	for done := 0; done < b.N; {
		n := min(Burst, b.N-done)
		k := min(n, Buffer) // the publishes that find room
		publish(Event{ID: Gate})
		<-s.held
		b.StartTimer()
		t0 := time.Now()
		for i := range k {
			publish(newEvent(done + i))
		}
		t1 := time.Now()
		for i := k; i < n; i++ {
			publish(newEvent(done + i))
		}
		t2 := time.Now()
		b.StopTimer()
		s.release <- struct{}{}
		done += n
		room, full = room+t1.Sub(t0), full+t2.Sub(t1)
		nRoom, nFull = nRoom+int64(k), nFull+int64(n-k)
		settle(b, int64(done), s.handled.Load, dropped)
		if d := dropped(); d != nFull {
			b.Fatalf("dropped %d events; want %d, one per publish into a full buffer", d, nFull)
		}
	}
	if s.sum != s.handled.Load() {
		b.Fatalf("got sum %d; want %d", s.sum, s.handled.Load())
	}
	b.ReportMetric(float64(nFull)/float64(b.N)*100, "%dropped")
	b.ReportMetric(float64(room.Nanoseconds())/float64(nRoom), "ns/accepted")
	if nFull > 0 {
		b.ReportMetric(float64(full.Nanoseconds())/float64(nFull), "ns/dropped")
	}
}

// settle waits until handled plus dropped accounts for every published
// event, and fails the benchmark when the numbers do not add up.
func settle(b *testing.B, published int64, handled func() int64, dropped func() int64) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for handled()+dropped() < published {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Microsecond)
	}
	h, d := handled(), dropped()
	if h+d != published {
		b.Fatalf("handled %d + dropped %d = %d; want published %d", h, d, h+d, published)
	}
}

// encode and decode are the pre-encoded wire format of the watermill peer:
// 8 bytes ID, 8 bytes Qty, then the SKU.
func encode(e Event) []byte {
	p := make([]byte, 16+len(e.SKU))
	binary.LittleEndian.PutUint64(p, uint64(e.ID))
	binary.LittleEndian.PutUint64(p[8:], uint64(e.Qty))
	copy(p[16:], e.SKU)
	return p
}

func decode(p []byte) Event {
	return Event{
		ID:  int64(binary.LittleEndian.Uint64(p)),
		Qty: int(binary.LittleEndian.Uint64(p[8:])),
		SKU: string(p[16:]),
	}
}

func mustJSON(e Event) []byte {
	p, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return p
}

// discardLogOutput sends the log package's output, where slog.Default()
// and suture's default event hook write, to io.Discard, for the rows that
// measure a peer with its default logging: the lines are formatted, not
// written. It returns the function that restores the output.
func discardLogOutput() (restore func()) {
	w := log.Writer()
	log.SetOutput(io.Discard)
	return func() { log.SetOutput(w) }
}

// PoolWork is the number of rounds of busy work (see work) in the pool
// workloads' handler: about 1 µs on a 2020s x86 core, a stand-in for a
// handler that does something (encodes, hashes, calls a fast service),
// where the other workloads' handler only adds.
const PoolWork = 620

// workSink keeps the result of work, so that no compiler removes it.
var workSink atomic.Uint64

// work is PoolWork rounds of xorshift on seed: CPU work that takes the same
// time on every peer.
func work(seed int64) uint64 {
	x := uint64(seed) | 1
	for range PoolWork {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// poolSink is the pool workloads' handler: the busy work, then a count of
// the events handled, safe for the several workers of a pool; done is
// closed when want events are handled.
type poolSink struct {
	want    int64
	handled atomic.Int64
	done    chan struct{}
}

func newPoolSink(want int) *poolSink {
	s := &poolSink{want: int64(want), done: make(chan struct{})}
	if want == 0 {
		close(s.done)
	}
	return s
}

// Handle is the pool workloads' handler; it may be called by several
// goroutines at once.
func (s *poolSink) Handle(e Event) {
	workSink.Store(work(e.ID))
	if s.handled.Add(1) == s.want {
		close(s.done)
	}
}

func (s *poolSink) wait(b *testing.B) {
	b.Helper()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		b.Fatalf("handled %d of %d events after a minute", s.handled.Load(), s.want)
	}
}
