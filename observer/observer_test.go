package observer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/observer"
)

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

func TestPageAndAssetsAreServed(t *testing.T) {
	h := observer.New(observer.Options{})
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `<table id="tree">`},
		{"/page.js", "text/javascript", "new EventSource(base + \"events\")"},
		{"/page.css", "text/css", ".nonzero"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := get(t, h, tt.path)
			if w.Code != http.StatusOK {
				t.Fatalf("got status %d; want 200", w.Code)
			}
			if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, tt.contentType) {
				t.Errorf("got Content-Type %q; want %s", got, tt.contentType)
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("got body without %q", tt.contains)
			}
		})
	}
	if w := get(t, h, "/nothing.js"); w.Code != http.StatusNotFound {
		t.Errorf("got status %d for an unknown asset; want 404", w.Code)
	}
}

func TestPageLoadsNothingFromOutside(t *testing.T) {
	h := observer.New(observer.Options{})
	for _, p := range []string{"/", "/page.js", "/page.css"} {
		body := get(t, h, p).Body.String()
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//cdn") {
			t.Errorf("%s refers to an outside address", p)
		}
	}
}

func TestMountedBelowAPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/debug/troupe/", http.StripPrefix("/debug/troupe", observer.New(observer.Options{})))
	if w := get(t, mux, "/debug/troupe/"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<title>troupe</title>") {
		t.Errorf("got status %d; want the page below the prefix", w.Code)
	}
	if w := get(t, mux, "/debug/troupe/snapshot"); w.Code != http.StatusOK {
		t.Errorf("got status %d for the snapshot below the prefix; want 200", w.Code)
	}
	// Without its slash, the prefix redirects to itself with the slash,
	// which the page's relative links need.
	w := get(t, http.StripPrefix("/debug/troupe", observer.New(observer.Options{})), "/debug/troupe?x=1")
	if loc := w.Header().Get("Location"); w.Code != http.StatusMovedPermanently || loc != "troupe/" {
		t.Errorf("got status %d, Location %q; want 301 to troupe/", w.Code, loc)
	}
}

func TestSnapshotShowsTheService(t *testing.T) {
	s := startService(t, time.Second)
	s.publish(t, "ok")
	s.publish(t, "boom")
	<-s.restarted

	w := get(t, s.page, "/snapshot")
	var snap observer.Snapshot
	if err := json.Unmarshal(w.Body.Bytes(), &snap); err != nil {
		t.Fatalf("got %q: %v", w.Body.String(), err)
	}
	if len(snap.Tree) != 1 || snap.Tree[0].Path != "shop/orders" || snap.Tree[0].Restarts != 1 ||
		!strings.HasPrefix(snap.Tree[0].LastError, "panic: cannot handle SKU boom (at ") {
		t.Errorf("got tree %+v; want shop/orders restarted once after the panic", snap.Tree)
	}
	if len(snap.Mailboxes) != 1 || snap.Mailboxes[0].Name != "orders" || snap.Mailboxes[0].Capacity != 256 || snap.Mailboxes[0].Panics != 1 {
		t.Errorf("got mailboxes %+v; want orders with capacity 256 and one panic", snap.Mailboxes)
	}
	if len(snap.Keyed) != 1 || snap.Keyed[0].Name != "skus" || snap.Keyed[0].Keys != 2 || snap.Keyed[0].Created != 2 || !snap.Keyed[0].Running {
		t.Errorf("got keyed %+v; want skus running with 2 keys created", snap.Keyed)
	}
	if len(snap.Subscriptions) != 1 || snap.Subscriptions[0].Name != "orders" || snap.Subscriptions[0].Delivered != 2 ||
		snap.Subscriptions[0].Policy != "DropNewest" || snap.Subscriptions[0].Type != "observer_test.Order" {
		t.Errorf("got subscriptions %+v; want orders with 2 delivered", snap.Subscriptions)
	}
	if len(snap.DeadLetters) != 1 || snap.DeadLetterTotal != 1 || snap.DeadLetters[0].Source != "actor" ||
		snap.DeadLetters[0].Type != "observer_test.Order" || !strings.HasPrefix(snap.DeadLetters[0].Reason, "actor: handler panicked: panic: cannot handle SKU boom") {
		t.Errorf("got dead letters %+v (total %d); want the poison order", snap.DeadLetters, snap.DeadLetterTotal)
	}
}

func TestEventsStreamSnapshots(t *testing.T) {
	s := startService(t, time.Millisecond)
	srv := httptest.NewServer(s.page)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("got Content-Type %q; want text/event-stream", got)
	}
	// The first event shows no restart; after the panic, a later one
	// shows it.
	r := bufio.NewReader(resp.Body)
	next := func() observer.Snapshot {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var snap observer.Snapshot
				if err := json.Unmarshal([]byte(data), &snap); err != nil {
					t.Fatal(err)
				}
				return snap
			}
		}
	}
	if snap := next(); len(snap.Tree) != 1 || snap.Tree[0].Restarts != 0 {
		t.Fatalf("got first tree %+v; want one child, not restarted", snap.Tree)
	}
	s.publish(t, "boom")
	<-s.restarted
	for snap := next(); snap.Tree[0].Restarts != 1; snap = next() {
	}
	cancel()
	_, _ = io.Copy(io.Discard, resp.Body)
}

func TestNewRejectsNegativeInterval(t *testing.T) {
	defer func() {
		if got := recover(); got != "observer: New: Options.Interval -1s < 0" {
			t.Errorf("got panic %v; want the negative interval named", got)
		}
	}()
	observer.New(observer.Options{Interval: -time.Second})
}
