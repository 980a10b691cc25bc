package supervisor

import "fmt"

// Strategy says which children a supervisor restarts when one fails; the
// names and meanings are Erlang/OTP's.
type Strategy int

const (
	// OneForOne restarts only the child that exited. It is the default.
	OneForOne Strategy = iota
	// OneForAll stops every other child, then restarts them all: for
	// children so interdependent that none can go on without the others.
	OneForAll
	// RestForOne stops the children added after the one that exited, then
	// restarts it and them: for a chain where each child depends on those
	// added before it.
	RestForOne
)

// String returns the strategy's name, such as "OneForAll".
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "OneForOne"
	case OneForAll:
		return "OneForAll"
	case RestForOne:
		return "RestForOne"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Restart says when a child is restarted after it exits on its own.
type Restart int

const (
	// Permanent children are always restarted. It is the default.
	Permanent Restart = iota
	// Transient children are restarted only after a failure: an error
	// other than nil or context.Canceled, or a panic.
	Transient
	// Temporary children are never restarted, not even when a sibling's
	// failure makes a OneForAll or RestForOne supervisor restart the others.
	Temporary
)

// String returns the restart type's name, such as "Transient".
func (r Restart) String() string {
	switch r {
	case Permanent:
		return "Permanent"
	case Transient:
		return "Transient"
	case Temporary:
		return "Temporary"
	}
	return fmt.Sprintf("Restart(%d)", int(r))
}

// restarts reports whether a child of type r that exited with a failure (or
// not) is to be restarted.
func (r Restart) restarts(failed bool) bool {
	switch r {
	case Permanent:
		return true
	case Transient:
		return failed
	}
	return false
}
