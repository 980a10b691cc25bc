package troupe_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// brokerModules are module path prefixes that must never enter the module
// graph of a program importing only the core packages: the brokers, drivers
// and telemetry libraries live in modules of their own (bus/jetstream,
// pgoutbox, ...).
var brokerModules = []string{
	"github.com/nats-io/",
	"go.opentelemetry.io/",
	"github.com/jackc/",
}

// TestCoreModuleGraphHasNoBrokers builds a throwaway module that imports
// only the core packages (actor, bus, codec, supervisor) from this tree and
// checks that `go mod graph` names none of brokerModules. It needs the go command and the core's
// dependencies in the module cache (or a proxy), as the core's own build
// does.
func TestCoreModuleGraphHasNoBrokers(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the go command is not on PATH: %v", err)
		}
		t.Skipf("the go command is not on PATH: %v", err)
	}
	core, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/throwaway\n\ngo 1.26.0\n\n"+
		"require github.com/troupe-go/troupe v0.0.0\n\n"+
		"replace github.com/troupe-go/troupe => "+core+"\n")
	write("main.go", `package main

import (
	_ "github.com/troupe-go/troupe/actor"
	_ "github.com/troupe-go/troupe/bus"
	_ "github.com/troupe-go/troupe/codec"
	_ "github.com/troupe-go/troupe/supervisor"
)

func main() {}
`)
	// The core's go.sum holds every checksum the throwaway needs, so tidy
	// does not have to ask the checksum database.
	sums, err := os.ReadFile(filepath.Join(core, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sums))

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "tidy")
	graph := run("mod", "graph")
	if !strings.Contains(graph, "github.com/troupe-go/troupe") {
		t.Fatalf("go mod graph does not name the core module:\n%s", graph)
	}
	for line := range strings.Lines(graph) {
		for _, m := range brokerModules {
			if strings.Contains(line, m) {
				t.Errorf("go mod graph of a module importing only actor, bus and supervisor names %s: %s", m, strings.TrimSpace(line))
			}
		}
	}
}
