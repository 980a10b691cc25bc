package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-go/troupe/internal/clock"
	"github.com/troupe-go/troupe/internal/lograte"
)

// Supervisor runs children and restarts them according to its [Strategy],
// their [Restart] type, its restart intensity and a backoff. A *Supervisor is
// itself a [Runner], so supervisors nest into trees, and a [Starter], so a
// subtree counts as started once its children are.
//
// A Supervisor is safe for concurrent use: Add, Remove, Run and Tree may be
// called from any goroutine. It must not be copied. It may be run again
// after Run has returned; each Run starts its children afresh.
type Supervisor struct {
	name string
	cfg  config

	mu       sync.Mutex
	children []*child // in Add order, which is start order
	byName   map[string]*child
	seq      int // Add counter: orders children with the same restart time
	path     string
	log      *slog.Logger
	logs     *lograte.Limiter[logKey] // bounds the logging of restarts; see emit
	stuck    []StuckChild             // abandoned children, passed up by Run
	loop     *loop                    // the current Run's; nil when not running
}

// loop is what one Run of a supervisor shares with its children's
// goroutines and with Add and Remove.
type loop struct {
	// turn is held by whoever handles the supervisor's events: Run's
	// goroutine, except while it waits for one, when a child's goroutine
	// may take it to handle its own exit (see exitedHere). The fields
	// below but exits, notify and began are guarded by it.
	turn sync.Mutex
	err  error // what ends the supervision, found by a child's goroutine
	over bool  // Run has stopped the children: nothing more to handle
	// prestarted says Start has started the children for the next Run;
	// guarded by Supervisor.mu.
	prestarted bool

	// exits queues the instances that returned; notify wakes the loop.
	exitsMu sync.Mutex
	exits   []*instance
	notify  chan struct{}
	// began is how a child's goroutine tells the loop that it is about to
	// call Run, so that the next child starts after it; starting says a
	// goroutine has yet to say so.
	began    chan struct{}
	starting bool
	spare    []*instance // exits' other slice, swapped by takeExits
	// reqs carries Add and Remove while running; closing is closed when
	// the loop stops taking them.
	reqs    chan request
	closing chan struct{}
	// pending are the children waiting to be started at their due time.
	pending  []*child
	restarts window
}

// request is an Add or Remove handed to the loop.
type request struct {
	add    *child // Add this child, or
	remove string // remove the child with this name
	reply  chan error
}

// New returns a supervisor named name, configured by opts, with no children.
// A root supervisor's path is its name, the first element of every path in
// its tree. A supervisor run as a child (directly, or by a wrapper child of
// the same name) has the path of that child; one run inside the Run of a
// child of another name has that child's path followed by its own name
// (see [Path]). New panics if name is empty or contains a '/'.
func New(name string, opts ...Option) *Supervisor {
	checkName("New", name)
	s := &Supervisor{name: name, path: name, cfg: defaults()}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.logs = lograte.New[logKey](0, s.cfg.clock)
	return s
}

func checkName(fn, name string) {
	if name == "" {
		panic("supervisor: " + fn + ": empty name")
	}
	if strings.Contains(name, "/") {
		panic(fmt.Sprintf("supervisor: %s: name %q contains '/'", fn, name))
	}
}

// Add adds a child named name that runs r, configured by opts, after the
// children already there: it starts after them and stops before them, and
// RestForOne restarts it with any of them.
//
// On a supervisor that is not running, Add only records the child. On a
// running one, Add starts the child at once (its start phase, see [Starter],
// then its Run) and returns when its Run has begun; it returns the start
// phase's error in a *[StartError], without adding the child, if the start
// fails. For many instances of one kind (one per connection, per customer),
// a keyed actor is the tool rather than a child each.
//
// Add and Remove wait for the supervisor's loop, so they must not be called
// from a start phase or a [WithHook] function of the same supervisor, which
// the loop runs.
//
// Add returns an error matching [ErrDuplicateChild] if name is taken, and
// one matching [ErrStopping] while Run is stopping its children. It panics
// if name is empty or contains a '/', if r is nil, or if opts make a
// Permanent child significant.
func (s *Supervisor) Add(name string, r Runner, opts ...ChildOption) error {
	checkName("Add", name)
	if r == nil {
		panic("supervisor: Add: nil runner for child " + name)
	}
	c := &child{name: name, runner: r, restart: Permanent}
	for _, o := range opts {
		o(c)
	}
	if c.significant && c.restart == Permanent {
		panic(fmt.Sprintf("supervisor: Add: child %q: a Permanent child cannot be significant", name))
	}
	s.mu.Lock()
	l := s.loop
	if l == nil {
		defer s.mu.Unlock()
		if s.has(name) {
			return fmt.Errorf("%w: %q in %s", ErrDuplicateChild, name, s.path)
		}
		s.append(c)
		return nil
	}
	s.mu.Unlock()
	return s.ask(l, request{add: c})
}

// Remove stops the child named name, if it is running, within its shutdown
// timeout, and forgets it: it is not restarted, and the name may be added
// again. Removing a child is not its exit: no sibling is restarted and no
// restart is counted. A child that did not stop in time is abandoned and
// Remove returns a *[ShutdownError] naming it.
//
// Remove returns an error matching [ErrUnknownChild] if there is no such
// child, and one matching [ErrStopping] while Run is stopping its children.
func (s *Supervisor) Remove(name string) error {
	s.mu.Lock()
	l := s.loop
	if l == nil {
		defer s.mu.Unlock()
		c := s.byName[name]
		if c == nil {
			return fmt.Errorf("%w: %q in %s", ErrUnknownChild, name, s.path)
		}
		s.delete(c)
		return nil
	}
	s.mu.Unlock()
	return s.ask(l, request{remove: name})
}

// ask hands r to the running loop l and returns its answer.
func (s *Supervisor) ask(l *loop, r request) error {
	r.reply = make(chan error, 1)
	select {
	case l.reqs <- r:
		return <-r.reply
	case <-l.closing:
		return fmt.Errorf("%w: %s", ErrStopping, s.name)
	}
}

func (s *Supervisor) has(name string) bool { return s.byName[name] != nil }

// append adds c last; s.mu is held.
func (s *Supervisor) append(c *child) {
	s.seq++
	c.seq = s.seq
	s.children = append(s.children, c)
	if s.byName == nil {
		s.byName = make(map[string]*child)
	}
	s.byName[c.name] = c
}

// delete forgets c; s.mu is held.
func (s *Supervisor) delete(c *child) {
	delete(s.byName, c.name)
	// Children are in Add order, so c is found by binary search on seq.
	i, _ := slices.BinarySearchFunc(s.children, c.seq, func(o *child, seq int) int { return o.seq - seq })
	s.children = slices.Delete(s.children, i, i+1)
}

// Run starts the children in the order they were added, each after the
// previous one's start phase has completed and its Run has begun, and
// supervises them until ctx is done; then it stops them in reverse order,
// each within its shutdown timeout, and returns.
//
// Run returns nil after a clean shutdown, and after an automatic shutdown
// caused by a significant child (see [WithAutoShutdown]). If a child's start
// phase fails at the first start, Run stops the children already started
// and returns a *[StartError] naming it. It returns an error matching
// [ErrTooManyRestarts], wrapping the last failure, when the restart
// intensity was exceeded (the children are stopped first). Children that did
// not stop in time are reported in a *[ShutdownError], and Run returns
// without waiting for them. It returns [ErrRunning] if the supervisor is
// already running. Apart from abandoned children, no goroutine started by
// Run outlives it.
func (s *Supervisor) Run(ctx context.Context) error {
	base := context.WithoutCancel(ctx) // values (the path), not cancellation
	l := s.started()
	if l == nil {
		var err error
		if l, err = s.begin(ctx, base); err != nil {
			return err
		}
		l.turn.Lock()
		if err := s.startAll(ctx, l); err != nil {
			return s.finish(l, err)
		}
	} else {
		l.turn.Lock()
	}
	return s.finish(l, s.supervise(ctx, base, l))
}

// Start is the start phase of a supervisor run as a child (see [Starter]):
// it starts the children as Run would and returns once they have all
// started, so that the parent starts the children after this one only
// when the whole subtree is ready, as OTP's start_link of a supervisor
// does. If a child fails to start, Start stops the children already
// started and returns a *[StartError] naming it. A parent supervisor calls
// Start, then Run with the same context, which supervises the children
// already started; calling Start without Run leaves them running.
func (s *Supervisor) Start(ctx context.Context) error {
	l, err := s.begin(ctx, context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	l.turn.Lock()
	if err := s.startAll(ctx, l); err != nil {
		return s.finish(l, err)
	}
	s.mu.Lock()
	l.prestarted = true
	s.mu.Unlock()
	l.turn.Unlock()
	return nil
}

// started returns the loop of a supervisor whose Start has run and whose
// Run has not, and claims it for this Run; or nil.
func (s *Supervisor) started() *loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.loop
	if l == nil || !l.prestarted {
		return nil
	}
	l.prestarted = false
	return l
}

// finish ends a Run (or a failed Start) whose supervision ended with err:
// it stops the children, with l.turn held, and returns Run's error.
func (s *Supervisor) finish(l *loop, err error) error {
	close(l.closing)
	s.stopAll(l)
	l.over = true
	l.turn.Unlock()
	defer s.end()
	defer s.logs.Flush() // the restarts counted and not yet written
	if errors.Is(err, ErrTooManyRestarts) {
		s.emit(Event{Kind: GaveUp, Path: s.path, Err: err})
	}
	if err == errAutoShutdown {
		err = nil
	}
	return s.shutdownError(err)
}

// begin marks the supervisor running and readies the children for a Run.
func (s *Supervisor) begin(ctx, base context.Context) (*loop, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loop != nil {
		return nil, ErrRunning
	}
	l := &loop{
		notify:   make(chan struct{}, 1),
		began:    make(chan struct{}, 1),
		reqs:     make(chan request),
		closing:  make(chan struct{}),
		restarts: window{max: s.cfg.intensity, span: s.cfg.window},
	}
	s.loop = l
	s.path = childPath(ctx, s)
	s.log = s.cfg.logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.stuck = nil
	now := s.cfg.clock.Now()
	for _, c := range s.children {
		s.ready(base, c, now)
	}
	return l, nil
}

func (s *Supervisor) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loop = nil
}

// startAll starts every child in Add order. A start failure stops the
// children already started, and Run returns it.
func (s *Supervisor) startAll(ctx context.Context, l *loop) error {
	for _, c := range s.children {
		if ctx.Err() != nil {
			return nil
		}
		if _, err := s.start(ctx, l, c, false, s.cfg.clock.Now()); err != nil && err != ErrIgnore && ctx.Err() == nil {
			return &StartError{Path: c.path, Err: err}
		}
	}
	return nil
}

// supervise is the supervisor's loop: it handles the children's exits,
// starts the children whose restart is due, in Add order, and serves Add
// and Remove, until ctx is done (it returns nil), the restart intensity is
// exceeded, or a significant child's exit shuts the supervisor down. It is
// called with l.turn held, releases it only while it waits for an event,
// and returns with it held.
func (s *Supervisor) supervise(ctx, base context.Context, l *loop) error {
	var (
		timer clock.Timer
		armed time.Time // when timer fires
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var req *request
	for {
		// A child's exit seen after ctx ended is part of the shutdown,
		// whichever the select below picked first.
		if l.err != nil || ctx.Err() != nil {
			if req != nil {
				req.reply <- fmt.Errorf("%w: %s", ErrStopping, s.name)
			}
			return l.err
		}
		if _, err := s.startDue(ctx, l, nil); err != nil {
			l.err = err
			continue
		}
		// Add and Remove are served once the restarts due are done.
		if req != nil {
			if req.add != nil {
				req.reply <- s.added(ctx, base, l, req.add)
			} else {
				req.reply <- s.removed(l, req.remove)
			}
			req = nil
			continue
		}
		var fire <-chan time.Time
		if due, ok := l.nextDue(); ok {
			if !due.Equal(armed) || timer == nil {
				if timer != nil {
					timer.Stop()
				}
				timer, armed = s.cfg.clock.NewTimer(due.Sub(s.cfg.clock.Now())), due
			}
			fire = timer.C()
		}
		l.turn.Unlock()
		select {
		case <-ctx.Done():
		case <-fire:
			timer = nil
		case <-l.notify:
		case r := <-l.reqs:
			req = &r
		}
		l.turn.Lock()
		for _, in := range l.takeExits() {
			if l.err != nil || ctx.Err() != nil {
				break // stopAll stops what is left
			}
			l.err = s.exited(l, in)
		}
	}
}

// exitedHere is called on a child's goroutine when its Run returned in. If
// Run's goroutine is waiting for an event, this goroutine takes the loop's
// turn and handles the exit as the loop would; and when the child is then
// the first child due to start, it starts it and returns the instance, for
// this goroutine to run: a restart with no backoff then costs no hand-off
// between goroutines. Otherwise it queues the exit for the loop and
// returns nil.
func (s *Supervisor) exitedHere(ctx context.Context, l *loop, in *instance) *instance {
	if !l.turn.TryLock() {
		l.exited(in)
		return nil
	}
	defer l.turn.Unlock()
	if l.over || l.err != nil || ctx.Err() != nil {
		l.exited(in) // for the loop, or for nobody once Run is over
		return nil
	}
	next, err := (*instance)(nil), s.exited(l, in)
	if err == nil {
		next, err = s.startDue(ctx, l, in.c)
	}
	if err != nil || len(l.pending) > 0 {
		l.err = err
		l.wake() // to end, or to start the others and arm the timer
	}
	return next
}

// exited handles the return of a child's Run: it restarts the child and
// the siblings its [Strategy] ties to it, or lets it go, as its [Restart]
// type says; a significant child's exit may shut the supervisor down.
func (s *Supervisor) exited(l *loop, in *instance) error {
	c := in.c
	if c.inst != in {
		return nil // the loop stopped it: nothing more to do
	}
	c.inst, c.spare = nil, in
	s.collectStuck(in.err)
	now := s.cfg.clock.Now()
	ex := classify(in.err)
	if ex != normalExit {
		s.set(c, StateFailed, in.err, now)
		s.emit(Event{Kind: Failed, Time: now, Child: c.name, Path: c.path, Err: in.err, Restarts: c.restarts})
	} else {
		s.set(c, StateStopped, nil, now)
	}
	if !c.restart.restarts(ex == failure) {
		return s.exitForGood(l, c, in.err, now)
	}
	return s.restart(l, c, in.err, now.Sub(in.began), now)
}

// restart stops the siblings that c's failure takes with it (all of them
// under OneForAll, the ones added after it under RestForOne), in reverse
// order, counts the restart, and schedules c and them to start again, in Add
// order, after c's backoff. err is c's exit, ran how long it ran, and now
// the time of the exit.
func (s *Supervisor) restart(l *loop, c *child, err error, ran time.Duration, now time.Time) error {
	var group []*child
	switch s.cfg.strategy {
	case OneForOne:
		group = []*child{c}
	case OneForAll:
		group = s.children
	case RestForOne:
		group = s.children[slices.Index(s.children, c):]
	}
	for _, o := range slices.Backward(group) {
		if o != c {
			s.stop(l, o)
		}
	}
	if len(group) > 1 {
		now = s.cfg.clock.Now() // after the stops
	}
	if !l.restarts.add(now) {
		last := err
		if last == nil {
			last = fmt.Errorf("%s exited", c.path)
		}
		return fmt.Errorf("%w: %s: more than %d in %v; last: %s: %w",
			ErrTooManyRestarts, s.path, s.cfg.intensity, s.cfg.window, c.path, last)
	}
	bo := s.backoff(c)
	if ran >= s.cfg.stableAfter {
		bo.Reset()
	}
	d := bo.Next()
	if d > 0 {
		s.mu.Lock()
		c.state, c.since, c.delay = StateCrashLooping, now, d
		s.mu.Unlock()
		s.emit(Event{Kind: BackingOff, Time: now, Child: c.name, Path: c.path, Err: err, Restarts: c.restarts, Backoff: d})
	}
	for _, o := range group {
		if !o.retired && o.inst == nil {
			l.schedule(o, now.Add(d))
		}
	}
	return nil
}

// exitForGood lets c go after an exit that its Restart type does not
// restart. A Temporary child is never started again in this Run; a
// Transient one stays, and a sibling's restart starts it again, as in OTP.
// A significant child's exit may shut the supervisor down.
func (s *Supervisor) exitForGood(l *loop, c *child, err error, now time.Time) error {
	state := StateStopped
	if classify(err) != normalExit {
		state = StateFailed
	}
	s.set(c, state, nil, now)
	s.emit(Event{Kind: Stopped, Time: now, Child: c.name, Path: c.path, Err: err, Restarts: c.restarts})
	c.retired = c.restart == Temporary
	retireRunner(c)
	if !c.significant || s.cfg.autoShutdown == NoAutoShutdown {
		return nil
	}
	if s.cfg.autoShutdown == AllSignificant {
		for _, o := range s.children {
			if o.significant && (o.inst != nil || l.isPending(o)) {
				return nil
			}
		}
	}
	s.emit(Event{Kind: ShuttingDown, Time: now, Child: c.name, Path: c.path})
	return errAutoShutdown
}

// startDue starts, in Add order, the children whose restart is due. A
// start phase that fails is the child's failure; it ends the batch, since
// the failure may reschedule the rest. Called on the goroutine of child
// here (see exitedHere), it starts here alone, and only if here is the
// first due, and returns its instance for that goroutine to run.
func (s *Supervisor) startDue(ctx context.Context, l *loop, here *child) (*instance, error) {
	now := s.cfg.clock.Now()
	for ctx.Err() == nil {
		c := l.firstDue(now)
		if c == nil || here != nil && c != here {
			return nil, nil
		}
		l.unschedule(c)
		in, err := s.start(ctx, l, c, here != nil, now)
		if in != nil && here != nil {
			return in, nil
		}
		if err == nil || err == ErrIgnore || ctx.Err() != nil {
			continue
		}
		now = s.cfg.clock.Now()
		s.set(c, StateFailed, err, now)
		s.emit(Event{Kind: Failed, Time: now, Child: c.name, Path: c.path, Err: err, Restarts: c.restarts})
		if !c.restart.restarts(true) {
			return nil, s.exitForGood(l, c, err, now)
		}
		return nil, s.restart(l, c, err, 0, now)
	}
	return nil, nil
}

// added adds c while running, last, and starts it.
func (s *Supervisor) added(ctx, base context.Context, l *loop, c *child) error {
	s.mu.Lock()
	if s.has(c.name) {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q in %s", ErrDuplicateChild, c.name, s.path)
	}
	s.append(c)
	s.ready(base, c, s.cfg.clock.Now())
	s.mu.Unlock()
	_, err := s.start(ctx, l, c, false, s.cfg.clock.Now())
	if err == nil || err == ErrIgnore {
		return nil
	}
	s.mu.Lock()
	s.delete(c)
	s.mu.Unlock()
	return &StartError{Path: c.path, Err: err}
}

// removed stops the child named name and forgets it.
func (s *Supervisor) removed(l *loop, name string) error {
	s.mu.Lock()
	c := s.byName[name]
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%w: %q in %s", ErrUnknownChild, name, s.path)
	}
	l.unschedule(c)
	var err error
	if s.stop(l, c) {
		s.mu.Lock()
		err = &ShutdownError{Stuck: []StuckChild{s.stuck[len(s.stuck)-1]}}
		s.mu.Unlock()
	} else {
		retireRunner(c)
	}
	s.mu.Lock()
	s.delete(c)
	s.mu.Unlock()
	return err
}

// stopAll stops the running children in reverse order and retires every
// child that is not abandoned.
func (s *Supervisor) stopAll(l *loop) {
	for _, c := range slices.Backward(s.children) {
		s.stop(l, c)
	}
	for _, c := range s.children {
		if c.state != StateAbandoned {
			retireRunner(c)
		}
	}
}

// collectStuck records the stuck children a child supervisor reported.
func (s *Supervisor) collectStuck(err error) {
	if se := findShutdownError(err); se != nil {
		s.mu.Lock()
		s.stuck = append(s.stuck, se.Stuck...)
		s.mu.Unlock()
	}
}

// findShutdownError is errors.As(err, &se) without its allocation, which
// a restart would otherwise pay for every failure.
func findShutdownError(err error) *ShutdownError {
	for err != nil {
		switch e := err.(type) {
		case *ShutdownError:
			return e
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				if se := findShutdownError(err); se != nil {
					return se
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// shutdownError adds a *ShutdownError for the abandoned children to err.
func (s *Supervisor) shutdownError(err error) error {
	s.mu.Lock()
	stuck := s.stuck
	s.mu.Unlock()
	if len(stuck) == 0 {
		return err
	}
	se := &ShutdownError{Stuck: stuck}
	if err == nil {
		return se
	}
	return errors.Join(err, se)
}

// takeExits returns the queued exits.
func (l *loop) takeExits() []*instance {
	l.exitsMu.Lock()
	defer l.exitsMu.Unlock()
	ins := l.exits
	l.exits, l.spare = l.spare[:0], ins // the caller is done with spare
	return ins
}

// exited queues in's exit for the loop; it never blocks, so a child's
// goroutine ends as soon as its Run has returned.
func (l *loop) exited(in *instance) {
	l.exitsMu.Lock()
	l.exits = append(l.exits, in)
	l.exitsMu.Unlock()
	l.wake()
}

// wake makes the loop look at its state again, if it waits.
func (l *loop) wake() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// schedule makes c due to start at t.
func (l *loop) schedule(c *child, t time.Time) {
	if !l.isPending(c) {
		l.pending = append(l.pending, c)
	}
	c.due = t
}

func (l *loop) unschedule(c *child) {
	l.pending = slices.DeleteFunc(l.pending, func(o *child) bool { return o == c })
}

func (l *loop) isPending(c *child) bool { return slices.Contains(l.pending, c) }

// nextDue returns the earliest due time of the pending children.
func (l *loop) nextDue() (time.Time, bool) {
	if len(l.pending) == 0 {
		return time.Time{}, false
	}
	due := l.pending[0].due
	for _, c := range l.pending[1:] {
		if c.due.Before(due) {
			due = c.due
		}
	}
	return due, true
}

// firstDue returns the first pending child in Add order that is due at
// now, or nil.
func (l *loop) firstDue(now time.Time) *child {
	var first *child
	for _, c := range l.pending {
		if !c.due.After(now) && (first == nil || c.seq < first.seq) {
			first = c
		}
	}
	return first
}

// errAutoShutdown ends the loop when a significant child's exit shuts the
// supervisor down; Run returns nil for it.
var errAutoShutdown = errors.New("supervisor: auto shutdown")
