package clock

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func fired(t Timer) bool {
	select {
	case <-t.C():
		return true
	default:
		return false
	}
}

func TestFakeAdvanceFiresDueTimers(t *testing.T) {
	tests := []struct {
		name    string
		after   time.Duration
		advance time.Duration
		want    bool
	}{
		{"not yet due", 2 * time.Second, time.Second, false},
		{"exactly due", time.Second, time.Second, true},
		{"overdue", time.Second, time.Minute, true},
		{"zero fires at once", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch)
			tm := f.NewTimer(tt.after)
			f.Advance(tt.advance)
			if got := fired(tm); got != tt.want {
				t.Errorf("got fired %v; want %v", got, tt.want)
			}
			if got, want := f.Now(), epoch.Add(tt.advance); !got.Equal(want) {
				t.Errorf("got now %v; want %v", got, want)
			}
		})
	}
}

func TestFakeStop(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Error("got Stop false; want true for a pending timer")
	}
	f.Advance(time.Hour)
	if fired(tm) {
		t.Error("got fired; want a stopped timer to stay silent")
	}
	if tm.Stop() {
		t.Error("got Stop true; want false for a stopped timer")
	}
	if got := f.Pending(); got != 0 {
		t.Errorf("got %d pending; want 0", got)
	}
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(epoch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-f.After(time.Second)
	}()
	f.BlockUntil(1)
	f.Advance(time.Second)
	<-done
}

func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := NewFake(epoch)
	late := f.NewTimer(3 * time.Second)
	early := f.NewTimer(time.Second)
	f.Advance(5 * time.Second)
	if got, want := (<-early.C()), epoch.Add(time.Second); !got.Equal(want) {
		t.Errorf("got early timer time %v; want %v", got, want)
	}
	if got, want := (<-late.C()), epoch.Add(3*time.Second); !got.Equal(want) {
		t.Errorf("got late timer time %v; want %v", got, want)
	}
}

func TestReal(t *testing.T) {
	c := Real()
	tm := c.NewTimer(0)
	<-tm.C()
	if c.Now().IsZero() {
		t.Error("got zero time; want now")
	}
	if tm.Stop() {
		t.Error("got Stop true; want false after firing")
	}
}

func TestFakeAfterFuncRunsOnAdvance(t *testing.T) {
	f := NewFake(epoch)
	var got []int
	f.AfterFunc(2*time.Second, func() { got = append(got, 2) })
	stopped := f.AfterFunc(time.Second, func() { got = append(got, 99) })
	f.AfterFunc(time.Second, func() {
		got = append(got, 1)
		f.AfterFunc(time.Second, func() { got = append(got, 3) }) // re-armed from inside
	})
	if !stopped.Stop() {
		t.Fatal("Stop of a pending AfterFunc timer = false")
	}
	f.Advance(2 * time.Second)
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("after 2s: %v; want [1 2]", got)
	}
	f.Advance(time.Second)
	if len(got) != 3 || got[2] != 3 {
		t.Fatalf("after 3s: %v; want [1 2 3]", got)
	}
	if f.Pending() != 0 {
		t.Fatalf("Pending = %d", f.Pending())
	}
}
