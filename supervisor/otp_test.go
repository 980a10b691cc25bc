package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/internal/clock"
)

// TestSameStartsAsOTP runs scenarios with Erlang/OTP's supervisor
// (testdata/otp/scenario.escript) and with troupe's, and compares which
// children each starts, in which order, at first and after each step. It
// needs escript (Erlang/OTP 25): CI fails without it, elsewhere the test
// is skipped.
func TestSameStartsAsOTP(t *testing.T) {
	escript, err := exec.LookPath("escript")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("escript (Erlang/OTP) is not installed; CI needs it for the OTP comparison")
		}
		t.Skip("escript (Erlang/OTP) is not installed: skipping the comparison with OTP's supervisor")
	}
	tests := []struct {
		strategy Strategy
		children string // id:restart,...
		steps    string // id:normal|boom,...
	}{
		{OneForAll, "a:permanent,b:transient,c:permanent", "b:normal,a:boom"},
		{RestForOne, "a:transient,b:permanent,c:temporary,d:permanent", "a:normal,c:boom,b:boom"},
		{RestForOne, "a:permanent,b:permanent,c:permanent,d:permanent", "b:boom,d:boom,a:normal"},
		{OneForOne, "a:permanent,b:transient,c:temporary", "a:normal,b:normal,c:boom"},
		{OneForAll, "a:temporary,b:permanent,c:transient", "b:boom,c:boom,c:normal,b:normal"},
	}
	otpNames := map[Strategy]string{OneForOne: "one_for_one", OneForAll: "one_for_all", RestForOne: "rest_for_one"}
	restarts := map[string]Restart{"permanent": Permanent, "transient": Transient, "temporary": Temporary}
	for _, tt := range tests {
		t.Run(otpNames[tt.strategy]+" "+tt.children+" "+tt.steps, func(t *testing.T) {
			out, err := exec.Command(escript, "testdata/otp/scenario.escript", otpNames[tt.strategy], tt.children, tt.steps).Output()
			if err != nil {
				t.Fatalf("escript: %v", err)
			}
			want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")

			rec, clk := newRecorder(), clock.NewFake(epoch)
			s := New("root", testOptions(rec, clk, WithStrategy(tt.strategy))...)
			kids := map[string]*puppet{}
			var names []string
			for _, kv := range strings.Split(tt.children, ",") {
				name, r, _ := strings.Cut(kv, ":")
				kids[name] = newPuppet(name, nil)
				names = append(names, name)
				s.Add(name, kids[name], WithRestart(restarts[r]))
			}
			stop := start(t, s)
			// barrier returns once the loop has handled everything before
			// it: a request is served only between two rounds of exits and
			// starts.
			barrier := func() {
				if err := s.Remove("-"); !errors.Is(err, ErrUnknownChild) {
					t.Fatal(err)
				}
			}
			seen := 0
			starts := func() string {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				var ids []string
				for _, e := range rec.events[seen:] {
					if e.Kind == Started || e.Kind == Restarted {
						ids = append(ids, strings.TrimPrefix(e.Path, "root/"))
					}
				}
				seen = len(rec.events)
				return strings.Join(ids, " ")
			}
			rec.wait(1, is(Started, "root/"+names[len(names)-1])) // Run has begun
			barrier()
			got := []string{starts()}
			for _, step := range strings.Split(tt.steps, ",") {
				name, reason, _ := strings.Cut(step, ":")
				before := rec.count(func(Event) bool { return true })
				if reason == "normal" {
					kids[name].cmds <- func() error { return nil }
				} else {
					kids[name].fail()
				}
				// The loop reports the exit (Failed, Stopped) or restarts
				// the child (Restarted) before it serves the barrier.
				rec.wait(1, func(e Event) bool {
					return e.Path == "root/"+name && (e.Kind == Failed || e.Kind == Stopped || e.Kind == Restarted) &&
						rec.indexOf(e) >= before
				})
				barrier()
				got = append(got, starts())
			}
			stop()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("starts at first and after each of %s:\n got (troupe) %q\nwant (OTP)    %q", tt.steps, got, want)
			}
		})
	}
}
