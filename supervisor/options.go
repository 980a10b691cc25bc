package supervisor

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
)

// Defaults used by [New] and [Supervisor.Add] when no option says otherwise.
const (
	// DefaultIntensity and DefaultWindow: more than 5 restarts within 10
	// seconds make a supervisor give up.
	DefaultIntensity = 5
	DefaultWindow    = 10 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the wait before a
	// restart: the first wait is at most 10ms, each next at most twice the
	// previous ceiling, never more than 5s.
	DefaultBackoffMin = 10 * time.Millisecond
	DefaultBackoffMax = 5 * time.Second
	// DefaultStableAfter is how long a child must run before its backoff
	// starts over from DefaultBackoffMin.
	DefaultStableAfter = 10 * time.Second
	// DefaultShutdown is how long each child is given to return once its
	// context is cancelled.
	DefaultShutdown = 5 * time.Second
)

// An Option configures a [Supervisor] in [New].
type Option func(*config)

type config struct {
	strategy     Strategy
	intensity    int
	window       time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	stableAfter  time.Duration
	shutdown     time.Duration
	autoShutdown AutoShutdown
	logger       *slog.Logger
	hook         func(Event)
	clock        clock.Clock
	int64n       func(int64) int64
}

func defaults() config {
	return config{
		strategy:    OneForOne,
		intensity:   DefaultIntensity,
		window:      DefaultWindow,
		backoffMin:  DefaultBackoffMin,
		backoffMax:  DefaultBackoffMax,
		stableAfter: DefaultStableAfter,
		shutdown:    DefaultShutdown,
		clock:       clock.Real(),
	}
}

func positive(option string, d time.Duration) {
	nonNegative(option, "d", d)
	if d == 0 {
		panic("supervisor: " + option + ": d is 0: a child cannot be stopped without waiting for it (no brutal_kill in Go)")
	}
}

func nonNegative(option, arg string, d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("supervisor: %s: negative %s %v", option, arg, d))
	}
}

// WithStrategy sets which children are restarted when one fails. The
// default is [OneForOne].
func WithStrategy(s Strategy) Option {
	if s < OneForOne || s > RestForOne {
		panic(fmt.Sprintf("supervisor: WithStrategy: unknown strategy %d", int(s)))
	}
	return func(c *config) { c.strategy = s }
}

// WithIntensity sets the restart intensity: when more than maxRestarts
// restarts happen within window, the supervisor stops all its children and
// Run returns an error matching [ErrTooManyRestarts], leaving the decision to
// its parent. A maxRestarts of 0 gives up at the first failure. The default
// is [DefaultIntensity] within [DefaultWindow]. It panics if maxRestarts is
// negative or window is not positive.
func WithIntensity(maxRestarts int, window time.Duration) Option {
	if maxRestarts < 0 {
		panic(fmt.Sprintf("supervisor: WithIntensity: negative maxRestarts %d", maxRestarts))
	}
	if window <= 0 {
		panic(fmt.Sprintf("supervisor: WithIntensity: window %v is not positive", window))
	}
	return func(c *config) { c.intensity, c.window = maxRestarts, window }
}

// WithBackoff sets the wait before each restart of a child: the n-th
// consecutive restart waits a random duration in [0, min(max, min·2ⁿ)]
// (exponential backoff with full jitter). A min of 0 restarts at once. The
// default is [DefaultBackoffMin] to [DefaultBackoffMax]. It panics if either
// is negative or max is less than min.
func WithBackoff(min, max time.Duration) Option {
	nonNegative("WithBackoff", "min", min)
	nonNegative("WithBackoff", "max", max)
	if max < min {
		panic(fmt.Sprintf("supervisor: WithBackoff: max %v less than min %v", max, min))
	}
	return func(c *config) { c.backoffMin, c.backoffMax = min, max }
}

// WithStableAfter sets how long a child must have run before it failed for
// its backoff to start over from the minimum. The default is
// [DefaultStableAfter]. It panics if d is negative.
func WithStableAfter(d time.Duration) Option {
	nonNegative("WithStableAfter", "d", d)
	return func(c *config) { c.stableAfter = d }
}

// WithShutdownTimeout sets the default time each child is given to return
// once its context is cancelled; [WithShutdown] overrides it per child. The
// default is [DefaultShutdown]. It panics if d is not positive (see
// [WithShutdown] for why zero is refused).
func WithShutdownTimeout(d time.Duration) Option {
	positive("WithShutdownTimeout", d)
	return func(c *config) { c.shutdown = d }
}

// WithLogger sets the logger that lifecycle events are written to, with the
// attributes supervisor, child, path, event, error and restarts. The default
// is [slog.Default] at the time Run is called. It panics if l is nil.
//
// The events of restarts (failed, backing off, restarted) are written at
// most once a second for each child and kind of event, the line carrying
// "count", the events it stands for, and "first", when the first of them
// happened; a panic's stack (the attribute "stack") is written with the
// first failure at its site (the statement that panicked) only. Every event
// still goes to the [WithHook] function.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		panic("supervisor: WithLogger: nil logger")
	}
	return func(c *config) { c.logger = l }
}

// WithHook sets a function called with every lifecycle [Event], in addition
// to the log. It is called synchronously from the supervisor's goroutines,
// possibly from several at once (one hook may serve a whole tree), so it
// must be quick and safe for concurrent use; it must not call Add or Remove
// of the supervisor that reports the event, which waits for it. It panics
// if hook is nil.
func WithHook(hook func(Event)) Option {
	if hook == nil {
		panic("supervisor: WithHook: nil hook")
	}
	return func(c *config) { c.hook = hook }
}

// withClock injects the clock and the jitter source; tests use it to drive
// backoff, intensity windows and timeouts without sleeping.
func withClock(clk clock.Clock, int64n func(int64) int64) Option {
	return func(c *config) { c.clock, c.int64n = clk, int64n }
}

// A ChildOption configures one child in [Supervisor.Add].
type ChildOption func(*child)

// WithRestart sets when the child is restarted. The default is [Permanent].
func WithRestart(r Restart) ChildOption {
	if r < Permanent || r > Temporary {
		panic(fmt.Sprintf("supervisor: WithRestart: unknown restart type %d", int(r)))
	}
	return func(c *child) { c.restart = r }
}

// WithShutdown sets how long the child is given to return once its context
// is cancelled, overriding [WithShutdownTimeout]. Give a child supervisor at
// least the sum of its own children's timeouts, so that it can report its
// stuck children rather than be reported itself.
//
// It panics if d is not positive. OTP's brutal_kill (stop without waiting)
// has no Go equivalent: a goroutine cannot be killed, so a child that was
// not waited for would still be running when it is restarted or when the
// supervisor's Run returns. The shortest stop is a short timeout; a child
// that returns within it is never reported as stuck.
func WithShutdown(d time.Duration) ChildOption {
	positive("WithShutdown", d)
	return func(c *child) { c.shutdown = d }
}

// WithSignificant marks the child as significant (OTP 24's significant
// children): its exit for good can shut the supervisor down, as
// [WithAutoShutdown] says. Only Transient and Temporary children can be
// significant: Add panics for a Permanent one.
func WithSignificant() ChildOption {
	return func(c *child) { c.significant = true }
}

// AutoShutdown says whether a significant child's exit shuts its
// supervisor down (OTP's auto_shutdown); see [WithAutoShutdown].
type AutoShutdown int

const (
	// NoAutoShutdown: significant children's exits do not shut the
	// supervisor down. It is the default.
	NoAutoShutdown AutoShutdown = iota
	// AnySignificant: the supervisor shuts down when any significant child
	// exits for good (a Transient one normally, a Temporary one in any way).
	AnySignificant
	// AllSignificant: the supervisor shuts down when a significant child
	// exits for good and no other significant child is running or about
	// to be restarted.
	AllSignificant
)

// WithAutoShutdown sets when the exit of a significant child (see
// [WithSignificant]) shuts the supervisor down: it stops its other children
// in reverse order and its Run returns nil, as OTP's supervisor exits with
// reason shutdown. An exit that its Restart type restarts never does, and
// neither does [Supervisor.Remove]. The default is [NoAutoShutdown].
func WithAutoShutdown(a AutoShutdown) Option {
	if a < NoAutoShutdown || a > AllSignificant {
		panic(fmt.Sprintf("supervisor: WithAutoShutdown: unknown value %d", int(a)))
	}
	return func(c *config) { c.autoShutdown = a }
}
