package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const signalEnv = "TROUPE_SUPERVISOR_SIGNAL_CHILD"

// signalChild is the program of the subprocess TestRunUntilSignal starts:
// it runs a tree under RunUntilSignal, says "ready" once the worker runs,
// and exits 0 after a clean stop or 1 with the error.
func signalChild() bool {
	mode := os.Getenv(signalEnv)
	if mode == "" {
		return false
	}
	root := New("root", WithLogger(discard))
	grace := 100 * time.Millisecond
	if mode == "twice" {
		grace = time.Hour
	}
	root.Add("worker", RunnerFunc(func(ctx context.Context) error {
		fmt.Println("ready")
		<-ctx.Done()
		if mode == "stuck" || mode == "twice" {
			fmt.Println("stopping")
			select {} // ignores cancellation
		}
		fmt.Println("worker stopped")
		return nil
	}), WithShutdown(time.Hour))
	if err := RunUntilSignal(context.Background(), root, grace); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("clean exit")
	os.Exit(0)
	return true
}

func TestRunUntilSignalInSubprocess(t *testing.T) {
	tests := []struct {
		mode     string
		wantCode int
		wantOut  string
	}{
		{"clean", 0, "ready\nworker stopped\nclean exit\n"},
		{"stuck", 1, "ready\nstopping\nerror: supervisor: root did not stop within the grace period (100ms): its goroutine is abandoned\n"},
		// A second signal during the shutdown exits at once, though the
		// grace period is an hour.
		{"twice", 1, "ready\nstopping\nerror: supervisor: second signal during shutdown (interrupt): root's goroutine is abandoned\n"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), signalEnv+"="+tt.mode, "GORACE=atexit_sleep_ms=0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(stdout)
			line, err := r.ReadString('\n')
			if err != nil || line != "ready\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("got first line %q (%v); want ready", line, err)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if tt.mode == "twice" {
				second, err := r.ReadString('\n')
				if err != nil || second != "stopping\n" {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("got line %q (%v); want stopping", second, err)
				}
				line += second
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			}
			var rest strings.Builder
			if _, err := r.WriteTo(&rest); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("got exit code %d; want %d", code, tt.wantCode)
			}
			if got := line + rest.String(); got != tt.wantOut {
				t.Errorf("got output %q; want %q", got, tt.wantOut)
			}
		})
	}
}

func TestRunUntilSignalContextAndOwnExit(t *testing.T) {
	t.Run("ctx cancel stops root cleanly", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- RunUntilSignal(ctx, RunnerFunc(func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			}), time.Minute)
		}()
		<-started
		cancel()
		if err := <-done; err != nil {
			t.Errorf("got %v; want nil", err)
		}
	})
	t.Run("root's own error is returned", func(t *testing.T) {
		err := RunUntilSignal(context.Background(), RunnerFunc(func(context.Context) error { return errBoom }), time.Minute)
		if !errors.Is(err, errBoom) {
			t.Errorf("got %v; want %v", err, errBoom)
		}
	})
}
