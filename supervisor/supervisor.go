package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-go/troupe/internal/backoff"
)

// Supervisor runs children and restarts them according to its [Strategy],
// their [Restart] type, its restart intensity and a backoff. A *Supervisor is
// itself a [Runner], so supervisors nest into trees.
//
// A Supervisor is safe for concurrent use: Add, Run and Tree may be called
// from any goroutine. It must not be copied. It may be run again after Run
// has returned; each Run starts its children afresh.
type Supervisor struct {
	name string
	cfg  config

	mu       sync.Mutex
	children []*child
	running  bool
	path     string
	log      *slog.Logger
	restarts []time.Time  // restart times within the intensity window
	stuck    []StuckChild // abandoned children, passed up by Run
}

// child is one child of a supervisor. Its runner and options are fixed by
// Add; the rest is the state of the current Run.
type child struct {
	name     string
	runner   Runner
	restart  Restart
	shutdown time.Duration // < 0: the supervisor's default

	// Set by Run before any goroutine starts; read-only afterwards.
	path   string
	labels pprof.LabelSet
	// Owned by the one supervise loop that restarts this child.
	bo *backoff.Backoff

	// Guarded by Supervisor.mu.
	state    State
	since    time.Time
	started  bool
	restarts int
	lastErr  error
	delay    time.Duration
	retired  bool // exited for good: not started again in this Run
}

// New returns a supervisor named name, configured by opts, with no children.
// A root supervisor's path is its name, the first element of every path in
// its tree; a nested supervisor's path is that of the child it runs as,
// which it reads from the context (see [Path]). New panics if name is
// empty or contains a '/'.
func New(name string, opts ...Option) *Supervisor {
	checkName("New", name)
	s := &Supervisor{name: name, path: name, cfg: defaults()}
	for _, o := range opts {
		o(&s.cfg)
	}
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

// Add adds a child named name that runs r, configured by opts. Children are
// started in the order they were added and stopped in reverse order.
//
// The children of a running supervisor are fixed, because they are the
// members of its run groups and their order is what RestForOne and the
// shutdown order mean: Add returns an error matching [ErrRunning] while Run
// is executing (add a supervisor child beforehand to grow a subtree), and
// one matching [ErrDuplicateChild] if name is taken. It panics if name is
// empty or contains a '/', or if r is nil.
func (s *Supervisor) Add(name string, r Runner, opts ...ChildOption) error {
	checkName("Add", name)
	if r == nil {
		panic("supervisor: Add: nil runner for child " + name)
	}
	c := &child{name: name, runner: r, restart: Permanent, shutdown: -1}
	for _, o := range opts {
		o(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return fmt.Errorf("%w: cannot add %q to %s", ErrRunning, name, s.path)
	}
	if slices.ContainsFunc(s.children, func(o *child) bool { return o.name == name }) {
		return fmt.Errorf("%w: %q in %s", ErrDuplicateChild, name, s.path)
	}
	s.children = append(s.children, c)
	return nil
}

// Run starts the children and supervises them until ctx is done, then stops
// them in reverse order, each within its shutdown timeout, and returns.
//
// Run returns nil after a clean shutdown. It returns an error matching
// [ErrTooManyRestarts], wrapping the last failure, when the restart
// intensity was exceeded (the children are stopped first); a parent
// supervisor treats that as this child's failure. Children that did not stop
// in time are reported in a *[ShutdownError], and Run returns without
// waiting for them. It returns [ErrRunning] if the supervisor is already
// running. Apart from abandoned children, no goroutine started by Run
// outlives it.
func (s *Supervisor) Run(ctx context.Context) error {
	children, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer s.end()

	var top func(context.Context) error
	switch s.cfg.strategy {
	case OneForOne:
		// Each child is supervised on its own; the loops form one group,
		// so a loop that gives up stops the others.
		top = func(ctx context.Context) error {
			loops := make([]func(context.Context) error, len(children))
			for i := range children {
				loops[i] = func(ctx context.Context) error { return s.supervise(ctx, children[i:i+1], nil) }
			}
			return group(ctx, loops)
		}
	case OneForAll:
		// All children form each generation's group.
		top = func(ctx context.Context) error { return s.supervise(ctx, children, nil) }
	case RestForOne:
		// A chain: each child forms a group with the loop supervising the
		// children after it, so its failure restarts them too while theirs
		// leaves it alone.
		for i := len(children) - 1; i >= 0; i-- {
			rest := top
			top = func(ctx context.Context) error { return s.supervise(ctx, children[i:i+1], rest) }
		}
	}
	if len(children) == 0 {
		<-ctx.Done()
		return s.shutdownError(nil)
	}
	err = top(ctx)
	s.retireAll(children)
	if errors.Is(err, ErrTooManyRestarts) {
		s.emit(Event{Kind: GaveUp, Path: s.path, Err: err})
	}
	return s.shutdownError(err)
}

// begin marks the supervisor running and resets the children for a new Run.
func (s *Supervisor) begin(ctx context.Context) ([]*child, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil, ErrRunning
	}
	s.running = true
	s.path = Path(ctx) // a nested supervisor runs as a child with this path
	if s.path == "" {
		s.path = s.name
	}
	s.log = s.cfg.logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.restarts, s.stuck = nil, nil
	now := s.cfg.clock.Now()
	for _, c := range s.children {
		c.path = s.path + "/" + c.name
		c.labels = pprof.Labels(pathLabel, c.path)
		c.bo = backoff.New(s.cfg.backoffMin, s.cfg.backoffMax, s.cfg.int64n)
		if c.shutdown < 0 {
			c.shutdown = s.cfg.shutdown
		}
		c.state, c.since, c.started, c.restarts, c.lastErr, c.delay, c.retired =
			StateIdle, now, false, 0, nil, 0, false
	}
	return slices.Clone(s.children), nil
}

// retireAll retires every child that is not still running: all of them
// but the abandoned ones, once the run groups have returned.
func (s *Supervisor) retireAll(children []*child) {
	for _, c := range children {
		s.mu.Lock()
		abandoned := c.state == StateAbandoned
		s.mu.Unlock()
		if !abandoned {
			retireRunner(c)
		}
	}
}

func (s *Supervisor) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
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

// supervise runs generations of the children cs, plus rest (the loop of the
// children after them under RestForOne) when not nil, until ctx is done or
// the restart intensity is exceeded. Each generation is a group: the first
// child to exit in a way that calls for a restart ends it, the rest of the
// generation is stopped, and after the failed child's backoff the next
// generation starts.
func (s *Supervisor) supervise(ctx context.Context, cs []*child, rest func(context.Context) error) error {
	for {
		var live []*child
		for _, c := range cs {
			if !s.isRetired(c) {
				live = append(live, c)
			}
		}
		solo := len(live) == 1 && rest == nil
		members := make([]func(context.Context) error, 0, len(live)+1)
		for _, c := range live {
			members = append(members, s.member(c, solo))
		}
		if rest != nil {
			members = append(members, rest)
		}
		if len(members) == 0 {
			<-ctx.Done()
			return nil
		}
		err := group(ctx, members)
		ex, ok := err.(*exit)
		if !ok {
			return err // ctx done, or the rest gave up
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := s.countRestart(ex); err != nil {
			return err
		}
		if !s.backoff(ctx, ex) {
			return nil
		}
	}
}
