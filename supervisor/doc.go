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
// [OneForAll], [RestForOne]). A child supervisor that gave up is, as in OTP,
// restarted by a Permanent entry but not by a Transient one.
//
// # Start order and the start phase
//
// The children start one at a time in the order they were added, at the
// first start and at every restart of a group: RestForOne restarts the
// failed child, then the ones after it, in order; OneForAll restarts them
// all, in order. A child that implements [Starter] has a start phase (OTP's
// init): the supervisor calls its Start and waits for it before it calls
// its Run and goes on to the next child, so a child may rely on the ones
// added before it being ready. [HTTPServer] listens in its start phase;
// a child [Supervisor]'s start phase starts its own children, so a subtree
// is ready when all of it is.
// A start that fails at the first start fails the supervisor's Run at once,
// naming the child in a *[StartError]; at a restart it is the child's
// failure. [ErrIgnore] says a child has nothing to do.
//
// # Children at run time
//
// [Supervisor.Add] on a running supervisor starts the child at once, after
// the others; [Supervisor.Remove] stops a child and forgets it. Both are
// safe during restarts and from several goroutines. For many instances of
// one kind of child (one per connection, per customer), use keyed actors,
// which create, restart and passivate one actor per key, rather than a
// child each.
//
// A significant child ([WithSignificant]) can end its supervisor when it
// exits for good, as [WithAutoShutdown] says: a supervisor running one job
// and its helpers stops when the job is done.
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
// period; a second signal ends it at once.
//
// # One loop
//
// Each Run of a supervisor is one loop, on Run's goroutine, that owns the
// children: it starts them, receives their exits, decides and performs the
// restarts, serves Add and Remove, and stops the children at the end. Each
// child's Run has a goroutine of its own, which reports its exit to the
// loop and ends; so a restart, a start phase or a stop is never done twice
// at once, and the order of starts and stops is the loop's.
//
// # troupe and Erlang/OTP
//
// The strategies, restart types, intensity, significant children and
// auto-shutdown mean what they mean in OTP 25's supervisor. A scenario
// script run with the real OTP supervisor is kept in testdata/otp. What
// differs, and why:
//
//	OTP                              troupe                                  why
//	-------------------------------  --------------------------------------  -------------------------------------------
//	shutdown timeout: kill after it  a child that ignores its context is     a goroutine cannot be killed; the child
//	                                 abandoned, named in a ShutdownError,    may still run, so it must not run twice
//	                                 and not started again in this Run
//	brutal_kill (shutdown 0)         refused: WithShutdown(0) panics         no kill, so no stop without waiting
//	infinity shutdown                a long timeout                          Run must return in bounded time
//	restart at once                  backoff (WithBackoff; 0 restarts at     a crash loop should not burn a core; the
//	                                 once)                                   intensity still bounds the restarts
//	start_link returns {ok, Pid}     a Starter's Start returns nil; Run is   a goroutine has no pid; readiness is the
//	after init                       then called on a goroutine of its own   return of Start
//	ignore                           ErrIgnore from Start                    same meaning
//	{error, {shutdown, {failed_to_   *StartError naming the child's path     Go errors, matched with errors.As
//	start_child, Id, Reason}}}
//	exit reason shutdown after       ErrTooManyRestarts, which a Transient   an error the root can report; restart
//	max intensity                    entry treats as OTP treats shutdown     decisions follow OTP
//	auto-shutdown: exit shutdown     Run returns nil                         a nil return is Go's normal stop
//	terminate_child + delete_child   Remove does both                        a stopped child kept only to be started
//	                                                                         again is a Remove and an Add
//	restart_child, which_children,   Tree (a snapshot with restart counts    the rest is not needed without pids
//	count_children                   over every Run)
//	one process per child            one goroutine per child Run; the        a panic is recovered in the child's
//	                                 supervisor's loop runs on Run's         goroutine and becomes a *PanicError
//	                                 goroutine
//	simple_one_for_one               keyed actors                            many children of one kind are keyed
//	                                                                         actors' job
//
// # Observing the tree
//
// Lifecycle [Event]s go to the [WithHook] function and to a [log/slog]
// logger with the attributes supervisor, child, path, event, error and
// restarts. The hook gets every event; the log writes the events of
// restarts at most once a second per child and kind, with their count, and
// a panic's stack with the first failure at its site only (see
// [WithLogger]), so that a crash-looping child costs neither the log nor
// the restarts much. [Supervisor.Tree] returns a snapshot of every child's path, state,
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
// duplicate or unknown child, Run on a running supervisor, too many restarts,
// stuck children, a failed start — are returned as errors matched with
// [errors.Is] and [errors.As].
package supervisor
