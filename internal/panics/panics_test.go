package panics

import (
	"errors"
	"strings"
	"testing"
)

func recovered(f func()) (err *Error) {
	defer func() {
		if v := recover(); v != nil {
			err = New(v, 0)
		}
	}()
	f()
	return nil
}

func boom() { panic("boom") }

func TestNewRecordsValueAndStack(t *testing.T) {
	err := recovered(boom)
	if err == nil {
		t.Fatal("got nil; want *Error")
	}
	if err.Value != "boom" {
		t.Errorf("got value %v; want boom", err.Value)
	}
	first := strings.SplitN(err.Stack(), "\n", 2)[0]
	if !strings.HasSuffix(first, "panics.boom") {
		t.Errorf("got first frame %q; want the panicking function panics.boom", first)
	}
	if !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("got %q; want it to contain the panic value", err.Error())
	}
}

func TestUnwrapSeesPanickedError(t *testing.T) {
	sentinel := errors.New("sentinel")
	err := recovered(func() { panic(sentinel) })
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, sentinel) = false; want true", err)
	}
	if got := recovered(boom).Unwrap(); got != nil {
		t.Errorf("got Unwrap() = %v for a string panic; want nil", got)
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = recovered(boom)
	}
}
