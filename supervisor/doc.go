// Package supervisor runs [Runner]s — actors, servers, other supervisors — as
// a tree, and restarts them when they fail, with the strategies, restart
// types and restart intensity of Erlang/OTP supervisors.
//
//	root := supervisor.New("root")
//	workers := supervisor.New("workers", supervisor.WithStrategy(supervisor.OneForAll))
//	workers.Add("email", emailActor)
//	workers.Add("audit", auditActor, supervisor.WithRestart(supervisor.Transient))
//	root.Add("workers", workers)
//	root.Add("http", httpServer, supervisor.WithShutdown(10*time.Second))
//	err := supervisor.RunUntilSignal(ctx, root, 30*time.Second)
//
// # Children and failures
//
// A child is anything with Run(ctx) error. Returning nil or
// [context.Canceled] is a normal exit; any other error, or a panic, is a
// failure. A panic is recovered in the child's goroutine and becomes a
// *[PanicError] carrying the panic value and the stack; it never crashes the
// process. Whether an exit is followed by a restart depends on the child's
// [Restart] type ([Permanent], [Transient], [Temporary]) and which siblings
// are restarted with it on the supervisor's [Strategy] ([OneForOne],
// [OneForAll], [RestForOne]).
//
// # Intensity, escalation and backoff
//
// More than N restarts within a window ([WithIntensity]) make a supervisor
// give up: it stops its children and its Run returns an error matching
// [ErrTooManyRestarts] that wraps the last failure. Its parent sees a failed
// child and applies its own strategy: failures escalate up the tree until a
// supervisor's restart fixes them, or the root gives up.
//
// Each restart waits for a backoff ([WithBackoff]): exponential, with full
// jitter, reset once the child has run for [WithStableAfter]. A child waiting
// out its backoff is reported by a [BackingOff] event and shown as
// [StateCrashLooping] by [Supervisor.Tree].
//
// # Shutdown
//
// When the context of Run ends, children are stopped in reverse start
// order: each one's context is cancelled and it is given its shutdown
// timeout ([WithShutdown], [WithShutdownTimeout]) to return before the next
// is told to stop. A child that ignores cancellation is abandoned and named,
// with its path and goroutine stack, in a *[ShutdownError]; nested
// supervisors pass theirs up, so the root's error lists every stuck child
// of the tree and Run never hangs past the timeouts. [RunUntilSignal] runs a
// root until SIGINT or SIGTERM and bounds the whole shutdown by a grace
// period.
//
// # Run groups
//
// The supervision is built on [github.com/oklog/run] groups, whose rule is
// "the first actor to return interrupts all the others". Each generation of
// children is a group: under OneForAll all children form one group, so one
// failure stops and then restarts them all; under OneForOne each child is a
// group of its own; under RestForOne each child forms a group with the
// supervision of the children after it. Every group also holds an actor
// that returns when the context ends, which is how cancellation reaches every
// child.
//
// # Observing the tree
//
// Lifecycle [Event]s go to the [WithHook] function and to a [log/slog]
// logger with the attributes supervisor, child, path, event, error and
// restarts. [Supervisor.Tree] returns a snapshot of every child's path, state,
// restart count and last error. Each child's goroutine carries the pprof
// label "troupe.path" set to its path ("root/workers/email"), so a goroutine
// profile shows where every goroutine sits; [Path] returns it from a
// child's context.
//
// # Errors and panics
//
// Programmer errors — an empty name, a nil runner, a negative duration or
// intensity — panic at once with a message starting "supervisor: " and
// naming the argument, as net/http does for a nil handler: they are bugs to
// fix, not conditions to handle. Conditions that arise at run time — a
// duplicate child, Add or Run on a running supervisor, too many restarts,
// stuck children — are returned as errors matched with [errors.Is] and
// [errors.As].
package supervisor
