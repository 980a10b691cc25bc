package supervisor

import (
	"fmt"
	"time"
)

// State is where a child is in its lifecycle.
type State int

const (
	// StateIdle: the supervisor has not started the child (yet).
	StateIdle State = iota
	// StateRunning: the child's Run is executing.
	StateRunning
	// StateCrashLooping: the child failed and is waiting out its backoff
	// before a restart.
	StateCrashLooping
	// StateStopped: the child returned normally or was stopped, and is not
	// running.
	StateStopped
	// StateFailed: the child's last Run failed and it is not running.
	StateFailed
	// StateAbandoned: the child did not stop within its shutdown timeout
	// and was left running.
	StateAbandoned
)

// String returns the state's name in lower case, such as "crash-looping".
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateRunning:
		return "running"
	case StateCrashLooping:
		return "crash-looping"
	case StateStopped:
		return "stopped"
	case StateFailed:
		return "failed"
	case StateAbandoned:
		return "abandoned"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ChildInfo is a snapshot of one child, returned by [Supervisor.Tree].
type ChildInfo struct {
	// Path is the child's path, such as "root/workers/email".
	Path  string
	State State
	// Restarts counts the child's restarts over every Run of its
	// supervisor: a supervisor restarted by its parent keeps its
	// children's counts.
	Restarts int
	// LastError is the error of the child's last failure, nil if none.
	LastError error
	// Since is when the child entered State.
	Since time.Time
	// Backoff is the wait before the next restart while crash-looping.
	Backoff time.Duration
}

// Treer is implemented by runners that have children of their own, such as
// *Supervisor. [Supervisor.Tree] includes their snapshot below their entry.
type Treer interface {
	Tree() []ChildInfo
}

// Tree returns a snapshot of every child in the subtree, depth first in the
// order children were added: each child is followed by its own children when
// it is a *Supervisor or implements [Treer]. It is safe to call at any time,
// from any goroutine.
func (s *Supervisor) Tree() []ChildInfo {
	s.mu.Lock()
	path := s.path
	s.mu.Unlock()
	return s.tree(path)
}

func (s *Supervisor) tree(path string) []ChildInfo {
	type entry struct {
		info   ChildInfo
		runner Runner
	}
	s.mu.Lock()
	entries := make([]entry, len(s.children))
	for i, c := range s.children {
		entries[i] = entry{ChildInfo{
			Path:      path + "/" + c.name,
			State:     c.state,
			Restarts:  c.restarts,
			LastError: c.lastErr,
			Since:     c.since,
			Backoff:   c.delay,
		}, c.runner}
	}
	s.mu.Unlock()
	var out []ChildInfo
	for _, e := range entries {
		out = append(out, e.info)
		switch r := e.runner.(type) {
		case *Supervisor:
			out = append(out, r.tree(e.info.Path)...)
		case Treer:
			out = append(out, r.Tree()...)
		}
	}
	return out
}
