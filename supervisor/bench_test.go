package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/panics"
)

// poison makes the benchmark's child panic.
const poison = -1

// reportLatency reports the p50 and p99 of the iterations' latencies.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkPanicToNextMessage measures the time from a child's panic to the
// restarted child handling its next message, under a supervisor with zero
// backoff; the panic's stack is captured as a *PanicError.
func BenchmarkPanicToNextMessage(b *testing.B) {
	panicToNextMessage(b, slog.New(slog.DiscardHandler))
}

// BenchmarkPanicToNextMessageLogged is BenchmarkPanicToNextMessage with the
// events logged as text (to io.Discard), as the default logger would: a
// crash loop writes the stack once, then a line a second per event kind.
func BenchmarkPanicToNextMessageLogged(b *testing.B) {
	panicToNextMessage(b, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func panicToNextMessage(b *testing.B, log *slog.Logger) {
	msgs := make(chan int)
	handled := make(chan struct{})
	s := New("root", WithBackoff(0, 0), WithIntensity(math.MaxInt, time.Nanosecond), WithLogger(log))
	s.Add("kid", RunnerFunc(func(ctx context.Context) error {
		for {
			select {
			case m := <-msgs:
				if m == poison {
					panic("poison")
				}
				handled <- struct{}{}
			case <-ctx.Done():
				return nil
			}
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	msgs <- 0
	<-handled

	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		msgs <- poison
		msgs <- 1
		<-handled
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	cancel()
	<-done
	reportLatency(b, lat)
}

// BenchmarkPanicToNextMessageBaseline is the same loop with a bare goroutine
// that recovers, captures the stack and respawns itself: the floor.
func BenchmarkPanicToNextMessageBaseline(b *testing.B) {
	msgs := make(chan int)
	handled := make(chan struct{})
	quit := make(chan struct{})
	exited := make(chan struct{})
	var spawn func()
	spawn = func() {
		go func() {
			defer func() {
				if v := recover(); v != nil {
					_ = panics.New(v, 0)
					spawn()
					return
				}
				close(exited)
			}()
			for {
				select {
				case m := <-msgs:
					if m == poison {
						panic("poison")
					}
					handled <- struct{}{}
				case <-quit:
					return
				}
			}
		}()
	}
	spawn()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		msgs <- poison
		msgs <- 1
		<-handled
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	close(quit)
	<-exited
	reportLatency(b, lat)
}

// BenchmarkAddRemoveWhileRunning measures an Add and a Remove of a child
// of a running supervisor that has 10,000 other children: the child's
// start (a goroutine), its stop (cancel and wait) and the bookkeeping.
func BenchmarkAddRemoveWhileRunning(b *testing.B) {
	s := New("root", WithLogger(slog.New(slog.DiscardHandler)))
	idle := RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
	for i := range 10_000 {
		s.Add(fmt.Sprint("idle-", i), idle)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	// The Add below waits for the loop, so for the 10,000 starts.
	if err := s.Add("warm", idle); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		name := names[i%len(names)]
		if err := s.Add(name, idle); err != nil {
			b.Fatal(err)
		}
		if err := s.Remove(name); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	<-done
}

var names = func() []string {
	n := make([]string, 64)
	for i := range n {
		n[i] = fmt.Sprint("kid-", i)
	}
	return n
}()

// BenchmarkAddRemoveWhileRunningBaseline is the floor of an Add and a
// Remove: start a goroutine that waits for its context, then cancel it and
// wait for it to return.
func BenchmarkAddRemoveWhileRunningBaseline(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			<-ctx.Done()
			close(done)
		}()
		cancel()
		<-done
	}
}
