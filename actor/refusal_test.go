package actor

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestRefusalDisarmedBeforeItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var r refusal
	var ran atomic.Bool
	r.arm(ctx, func() { ran.Store(true); r.done() })
	if !r.disarm() {
		t.Fatal("disarm before the context ended = false; want true")
	}
	cancel()
	if r.disarm() {
		t.Error("second disarm = true; want false")
	}
	if ran.Load() {
		t.Error("the refusal ran after it was disarmed")
	}
}

func TestRefusalRunsWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var r refusal
	release := make(chan struct{})
	var finished atomic.Bool
	r.arm(ctx, func() {
		<-release
		finished.Store(true)
		r.done()
	})
	cancel()
	// wait and disarm return only once the function has finished.
	waited := make(chan struct{})
	go func() {
		r.wait()
		close(waited)
	}()
	close(release)
	<-waited
	if !finished.Load() {
		t.Fatal("wait returned before the refusal finished")
	}
	if r.disarm() {
		t.Error("disarm after the refusal ran = true; want false")
	}
}
