package benchmarks

import (
	"runtime"
	"sync"
	"testing"
)

// The raw peer is the floor: a buffered channel per subscriber drained by
// one goroutine calling the handler.

// rawSub starts a goroutine draining a new channel into s; closing the
// channel stops it, and the returned WaitGroup waits for it.
func rawSub(wg *sync.WaitGroup, size int, h func(Event)) chan Event {
	ch := make(chan Event, size)
	wg.Go(func() {
		for e := range ch {
			h(e)
		}
	})
	return ch
}

func BenchmarkOneSub_Raw(b *testing.B) {
	b.ReportAllocs()
	s := newSink(b.N)
	var wg sync.WaitGroup
	ch := rawSub(&wg, Buffer, s.Handle)
	b.ResetTimer()
	for i := range b.N {
		ch <- newEvent(i)
	}
	s.wait(b)
	b.StopTimer()
	close(ch)
	wg.Wait()
}

func BenchmarkFanOut10_Raw(b *testing.B) {
	b.ReportAllocs()
	sinks := newSinks(FanOut, b.N)
	var wg sync.WaitGroup
	chs := make([]chan Event, FanOut)
	for i, s := range sinks {
		chs[i] = rawSub(&wg, Buffer, s.Handle)
	}
	b.ResetTimer()
	for i := range b.N {
		e := newEvent(i)
		for _, ch := range chs {
			ch <- e
		}
	}
	waitAll(b, sinks)
	b.StopTimer()
	for _, ch := range chs {
		close(ch)
	}
	wg.Wait()
}

func BenchmarkPub4_Raw(b *testing.B) {
	b.ReportAllocs()
	s := newSink(b.N)
	var wg sync.WaitGroup
	ch := rawSub(&wg, Buffer, s.Handle)
	b.ResetTimer()
	publishConcurrently(b, Publishers, func(i int) { ch <- newEvent(i) })
	s.wait(b)
	b.StopTimer()
	close(ch)
	wg.Wait()
}

func BenchmarkLatency_Raw(b *testing.B) {
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	var wg sync.WaitGroup
	ch := rawSub(&wg, Buffer, func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	})
	roundTrips(b, handled, func(i int) { ch <- newEvent(i) })
	close(ch)
	wg.Wait()
}

// BenchmarkRestart_Raw is the floor of restart latency: a bare goroutine
// that recovers, records the stack as program counters and respawns itself.
func BenchmarkRestart_Raw(b *testing.B) { rawRestart(b) }

// BenchmarkRestartLogged_Raw and BenchmarkRestartWindow_Raw are the same
// floor, for the ratios of those workloads: a bare goroutine has no
// logging and no restart window.
func BenchmarkRestartLogged_Raw(b *testing.B) { rawRestart(b) }
func BenchmarkRestartWindow_Raw(b *testing.B) { rawRestart(b) }

func rawRestart(b *testing.B) {
	msgs := make(chan Event, Buffer)
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	var wg sync.WaitGroup
	var spawn func()
	spawn = func() {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					var pcs [64]uintptr
					_ = runtime.Callers(3, pcs[:])
					spawn()
				}
			}()
			for e := range msgs {
				if e.ID == Poison {
					panic("poison")
				}
				s.Handle(e)
				handled <- struct{}{}
			}
		})
	}
	spawn()
	restarts(b, handled, func(e Event) { msgs <- e })
	close(msgs)
	wg.Wait()
}

// BenchmarkIdleMemSupervised_Raw is the same floor as IdleMem_Raw, for the
// ratio of that workload: a goroutine and a channel have nothing around
// them.
func BenchmarkIdleMemSupervised_Raw(b *testing.B) { BenchmarkIdleMem_Raw(b) }

func BenchmarkIdleMem_Raw(b *testing.B) {
	var wg sync.WaitGroup
	var chs []chan Event
	idleMemory(b, func(n int) {
		chs = make([]chan Event, n)
		for i := range chs {
			chs[i] = rawSub(&wg, IdleMailbox, func(Event) {})
		}
	}, func() {
		for _, ch := range chs {
			close(ch)
		}
		wg.Wait()
		chs = nil
	})
}

// overloadRaw runs the overload workload (see Burst) on a channel of
// Buffer events, with offer putting an event in and returning the number
// of events it dropped (the new one, or an older one).
func overloadRaw(b *testing.B, offer func(ch chan Event, e Event) (dropped int64)) {
	s := newOverloadSink()
	var wg sync.WaitGroup
	ch := rawSub(&wg, Buffer, s.Handle)
	var dropped int64 // read and written by the publisher's goroutine only
	overload(b, s, func(e Event) { dropped += offer(ch, e) }, func() int64 { return dropped })
	close(ch)
	wg.Wait()
}

func BenchmarkDropNewest_Raw(b *testing.B) {
	overloadRaw(b, func(ch chan Event, e Event) int64 {
		select {
		case ch <- e:
			return 0
		default:
			return 1
		}
	})
}

func BenchmarkDropOldest_Raw(b *testing.B) {
	overloadRaw(b, func(ch chan Event, e Event) int64 {
		select {
		case ch <- e:
			return 0
		default:
		}
		var n int64
		select {
		case <-ch:
			n++
		default:
		}
		select {
		case ch <- e:
		default:
			n++
		}
		return n
	})
}

// rawPool is the hand-written pool: workers goroutines ranging over one
// buffered channel, the floor of the pool workloads.
func rawPool(b *testing.B, workers int) {
	b.ReportAllocs()
	s := newPoolSink(b.N)
	ch := make(chan Event, Buffer)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for e := range ch {
				s.Handle(e)
			}
		})
	}
	b.ResetTimer()
	for i := range b.N {
		ch <- newEvent(i)
	}
	s.wait(b)
	b.StopTimer()
	close(ch)
	wg.Wait()
}

func BenchmarkPool1_Raw(b *testing.B) { rawPool(b, 1) }
func BenchmarkPool4_Raw(b *testing.B) { rawPool(b, 4) }
