package backoff

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// highest always draws the top of the range, so delays equal ceilings.
func highest(n int64) int64 { return n - 1 }

func TestCeilingsDoubleUpToMax(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
		want     []time.Duration
	}{
		{"doubling", 10 * time.Millisecond, 100 * time.Millisecond,
			[]time.Duration{10, 20, 40, 80, 100, 100}},
		{"min equals max", 5 * time.Millisecond, 5 * time.Millisecond,
			[]time.Duration{5, 5, 5}},
		{"zero min means no delay", 0, time.Second,
			[]time.Duration{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.min, tt.max, highest)
			for i, w := range tt.want {
				want := w * time.Millisecond
				if got := b.Next(); got != want {
					t.Errorf("delay %d: got %v; want %v", i, got, want)
				}
			}
		})
	}
}

func TestFullJitterDrawsFromZeroToCeiling(t *testing.T) {
	var asked []int64
	b := New(time.Millisecond, time.Second, func(n int64) int64 {
		asked = append(asked, n)
		return 0
	})
	for range 3 {
		if got := b.Next(); got != 0 {
			t.Errorf("got %v; want 0 when the source draws 0", got)
		}
	}
	want := []int64{int64(time.Millisecond) + 1, int64(2*time.Millisecond) + 1, int64(4*time.Millisecond) + 1}
	for i := range want {
		if asked[i] != want[i] {
			t.Errorf("draw %d: got n=%d; want %d", i, asked[i], want[i])
		}
	}
}

func TestReset(t *testing.T) {
	b := New(time.Millisecond, time.Second, highest)
	b.Next()
	b.Next()
	b.Reset()
	if got, want := b.Next(), time.Millisecond; got != want {
		t.Errorf("got %v after Reset; want %v", got, want)
	}
}

func TestDefaultSourceStaysInRange(t *testing.T) {
	b := New(time.Millisecond, 8*time.Millisecond, nil)
	for i := range 50 {
		c := b.Ceiling()
		if got := b.Next(); got < 0 || got > c {
			t.Fatalf("delay %d: got %v; want within [0, %v]", i, got, c)
		}
	}
}

func TestNewPanicsOnBadBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic; want one for max < min")
		}
	}()
	New(time.Second, time.Millisecond, nil)
}
