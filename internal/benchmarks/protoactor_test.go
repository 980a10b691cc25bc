package benchmarks

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lmittmann/tint"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/router"
)

// The protoactor peers: protoactor-go actors with the default (unbounded)
// mailbox and with Bounded(1024), fed with RootContext.Send; a broadcast
// group for fan-out.

func newProtoSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// protoProps returns the props of an actor calling h with every Event.
func protoProps(bounded bool, h func(Event)) *actor.Props {
	recv := func(c actor.Context) {
		if e, ok := c.Message().(Event); ok {
			h(e)
		}
	}
	if bounded {
		return actor.PropsFromFunc(recv, actor.WithMailbox(actor.Bounded(Buffer)))
	}
	return actor.PropsFromFunc(recv)
}

func stopProto(b *testing.B, sys *actor.ActorSystem, pids ...*actor.PID) {
	b.Helper()
	for _, pid := range pids {
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			b.Fatal(err)
		}
	}
	sys.Shutdown()
}

func protoOneSub(b *testing.B, bounded bool) {
	b.ReportAllocs()
	sys := newProtoSystem()
	s := newSink(b.N)
	pid := sys.Root.Spawn(protoProps(bounded, s.Handle))
	b.ResetTimer()
	for i := range b.N {
		sys.Root.Send(pid, newEvent(i))
	}
	s.wait(b)
	b.StopTimer()
	stopProto(b, sys, pid)
}

func BenchmarkOneSub_ProtoDefault(b *testing.B) { protoOneSub(b, false) }
func BenchmarkOneSub_ProtoBounded(b *testing.B) { protoOneSub(b, true) }

func protoFanOut(b *testing.B, bounded bool) {
	b.ReportAllocs()
	sys := newProtoSystem()
	sinks := newSinks(FanOut, b.N)
	pids := make([]*actor.PID, FanOut)
	for i, s := range sinks {
		pids[i] = sys.Root.Spawn(protoProps(bounded, s.Handle))
	}
	group := sys.Root.Spawn(router.NewBroadcastGroup(pids...))
	b.ResetTimer()
	for i := range b.N {
		sys.Root.Send(group, newEvent(i))
	}
	waitAll(b, sinks)
	b.StopTimer()
	stopProto(b, sys, append(pids, group)...)
}

func BenchmarkFanOut10_ProtoDefault(b *testing.B) { protoFanOut(b, false) }
func BenchmarkFanOut10_ProtoBounded(b *testing.B) { protoFanOut(b, true) }

func protoPub4(b *testing.B, bounded bool) {
	b.ReportAllocs()
	sys := newProtoSystem()
	s := newSink(b.N)
	pid := sys.Root.Spawn(protoProps(bounded, s.Handle))
	b.ResetTimer()
	publishConcurrently(b, Publishers, func(i int) { sys.Root.Send(pid, newEvent(i)) })
	s.wait(b)
	b.StopTimer()
	stopProto(b, sys, pid)
}

func BenchmarkPub4_ProtoDefault(b *testing.B) { protoPub4(b, false) }
func BenchmarkPub4_ProtoBounded(b *testing.B) { protoPub4(b, true) }

func protoLatency(b *testing.B, bounded bool) {
	sys := newProtoSystem()
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	pid := sys.Root.Spawn(protoProps(bounded, func(e Event) {
		s.Handle(e)
		handled <- struct{}{}
	}))
	roundTrips(b, handled, func(i int) { sys.Root.Send(pid, newEvent(i)) })
	stopProto(b, sys, pid)
}

func BenchmarkLatency_ProtoDefault(b *testing.B) { protoLatency(b, false) }
func BenchmarkLatency_ProtoBounded(b *testing.B) { protoLatency(b, true) }

// BenchmarkRestart_ProtoDefault: the actor is spawned under a guardian with
// the always-restart strategy; a panic restarts it in place and the mailbox
// resumes.
func BenchmarkRestart_ProtoDefault(b *testing.B) { protoRestart(b, newProtoSystem()) }

// BenchmarkRestartLogged_ProtoDefault is the restart with protoactor's
// default logger (tint, level Info: tint.NewHandler, which tint now calls
// NewTextHandler), writing to io.Discard instead of
// stderr.
func BenchmarkRestartLogged_ProtoDefault(b *testing.B) {
	protoRestart(b, actor.NewActorSystem(actor.WithLoggerFactory(func(system *actor.ActorSystem) *slog.Logger {
		return slog.New(tint.NewTextHandler(io.Discard, &tint.Options{Level: slog.LevelInfo, TimeFormat: time.Kitchen})).
			With("lib", "Proto.Actor").With("system", system.ID)
	})))
}

func protoRestart(b *testing.B, sys *actor.ActorSystem) {
	handled := make(chan struct{})
	s := newSink(b.N + 1)
	root := sys.Root.Copy().WithGuardian(actor.NewRestartingStrategy())
	pid := root.Spawn(protoProps(false, func(e Event) {
		if e.ID == Poison {
			panic("poison")
		}
		s.Handle(e)
		handled <- struct{}{}
	}))
	restarts(b, handled, func(e Event) { root.Send(pid, e) })
	stopProto(b, sys, pid)
}

func protoIdleMem(b *testing.B, bounded bool) {
	var sys *actor.ActorSystem
	var pids []*actor.PID
	idleMemory(b, func(n int) {
		sys = newProtoSystem()
		pids = make([]*actor.PID, n)
		props := actor.PropsFromFunc(func(actor.Context) {})
		if bounded {
			props = actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(actor.Bounded(IdleMailbox)))
		}
		for i := range pids {
			pids[i] = sys.Root.Spawn(props)
		}
	}, func() {
		stopProto(b, sys, pids...)
		pids = nil
	})
}

func BenchmarkIdleMem_ProtoDefault(b *testing.B) { protoIdleMem(b, false) }
func BenchmarkIdleMem_ProtoBounded(b *testing.B) { protoIdleMem(b, true) }
