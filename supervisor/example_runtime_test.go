package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/troupe-go/troupe/supervisor"
)

// pool is a child with a start phase: it connects in Start, so that the
// children added after it start once it is ready.
type pool struct{ connected bool }

func (p *pool) Start(ctx context.Context) error {
	p.connected = true // dial the database here
	fmt.Println("pool: connected")
	return nil
}

func (p *pool) Run(ctx context.Context) error {
	<-ctx.Done()
	p.connected = false
	fmt.Println("pool: closed")
	return nil
}

// A child's start phase runs before the next child starts: the API starts
// once the pool is connected, and a start that fails fails Run at once,
// naming the child.
func ExampleStarter() {
	db := &pool{}
	ready := make(chan struct{})
	s := supervisor.New("app", supervisor.WithLogger(quiet))
	s.Add("db", db)
	s.Add("api", supervisor.RunnerFunc(func(ctx context.Context) error {
		fmt.Println("api: pool connected:", db.connected)
		close(ready)
		<-ctx.Done()
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-ready
	cancel()
	fmt.Println("Run:", <-done)

	broken := supervisor.New("broken", supervisor.WithLogger(quiet))
	broken.Add("db", startFunc(func(context.Context) error { return errors.New("connection refused") }))
	fmt.Println("Run:", broken.Run(context.Background()))
	// Output:
	// pool: connected
	// api: pool connected: true
	// pool: closed
	// Run: <nil>
	// Run: supervisor: broken/db failed to start: connection refused
}

// startFunc is a child whose start phase is f and whose Run waits.
type startFunc func(context.Context) error

func (f startFunc) Start(ctx context.Context) error { return f(ctx) }
func (f startFunc) Run(ctx context.Context) error   { <-ctx.Done(); return nil }

// Add on a running supervisor starts the child at once, last; Remove stops
// it and forgets it.
func ExampleSupervisor_Add() {
	s := supervisor.New("root", supervisor.WithLogger(quiet),
		supervisor.WithHook(func(e supervisor.Event) {
			if e.Kind == supervisor.Started || e.Kind == supervisor.Stopped {
				fmt.Println(e.Path, e.Kind)
			}
		}))
	wait := supervisor.RunnerFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
	running := make(chan struct{})
	s.Add("a", supervisor.RunnerFunc(func(ctx context.Context) error {
		close(running)
		<-ctx.Done()
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-running

	s.Add("b", wait) // returns once b runs
	for _, c := range s.Tree() {
		fmt.Println(c.Path, c.State)
	}
	cancel()
	<-done
	// Output:
	// root/a started
	// root/b started
	// root/a running
	// root/b running
	// root/b stopped
	// root/a stopped
}

func ExampleSupervisor_Remove() {
	var mu sync.Mutex
	s := supervisor.New("root", supervisor.WithLogger(quiet))
	wait := supervisor.RunnerFunc(func(ctx context.Context) error {
		<-ctx.Done()
		mu.Lock()
		defer mu.Unlock()
		fmt.Println(supervisor.Path(ctx), "saw its context end")
		return nil
	})
	running := make(chan struct{})
	s.Add("a", wait)
	s.Add("b", supervisor.RunnerFunc(func(ctx context.Context) error {
		close(running)
		return wait(ctx)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-running

	fmt.Println("Remove:", s.Remove("a"))
	fmt.Println("Remove again:", s.Remove("a"))
	for _, c := range s.Tree() {
		fmt.Println(c.Path)
	}
	cancel()
	<-done
	// Output:
	// root/a saw its context end
	// Remove: <nil>
	// Remove again: supervisor: unknown child: "a" in root
	// root/b
	// root/b saw its context end
}

// An HTTP server as a child: it listens in its start phase, so the children
// after it start once it accepts connections, and it shuts down gracefully
// when the supervisor stops it.
func ExampleNewHTTPServer() {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := supervisor.NewHTTPServer(func() *http.Server {
		return &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	})
	s := supervisor.New("app", supervisor.WithLogger(quiet))
	s.Add("http", srv)
	answered := make(chan struct{})
	s.Add("client", supervisor.RunnerFunc(func(ctx context.Context) error {
		resp, err := http.Get("http://" + srv.Addr().String() + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.Status, string(body))
		close(answered)
		<-ctx.Done()
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-answered
	cancel()
	fmt.Println("Run:", <-done)
	// Output:
	// 200 OK ok
	// Run: <nil>
}
