package observer

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/bus"
	"github.com/troupe-go/troupe/supervisor"
)

// DefaultInterval is how often the page is updated unless [Options].Interval
// says otherwise.
const DefaultInterval = time.Second

// Options says what a [Handler] shows. A nil or empty field leaves its part
// of the page empty.
type Options struct {
	// Tree returns the supervision tree, usually the root supervisor's
	// [supervisor.Supervisor.Tree].
	Tree func() []supervisor.ChildInfo
	// Mailboxes are the actors and pools to show, by their Stats method
	// ([actor.Actor.Stats], or [Pool] for an [actor.Pool]).
	Mailboxes []func() actor.Stats
	// Keyed are the keyed actors to show, by their Stats method
	// ([actor.Keyed.Stats]): live keys and the counts over all keys, the
	// passivated and removed ones included.
	Keyed []func() actor.KeyedStats
	// Subscriptions returns the subscriptions to show, usually a bus's
	// [bus.Bus.Stats].
	Subscriptions func() []bus.SubscriptionStats
	// DeadLetters records the dead letters to show; wire its Actor and Bus
	// methods into the dead-letter hooks.
	DeadLetters *DeadLetters
	// Interval is how often the page is updated; the default is
	// [DefaultInterval].
	Interval time.Duration
}

// A Handler serves the live page and its data (see the package doc). Make
// one with [New]. It is safe for concurrent use.
type Handler struct {
	opts   Options
	mux    *http.ServeMux
	assets http.Handler
}

//go:embed assets
var assets embed.FS

// New returns a Handler showing what opts says. It panics if
// opts.Interval is negative.
func New(opts Options) *Handler {
	if opts.Interval < 0 {
		panic(fmt.Sprintf("observer: New: Options.Interval %v < 0", opts.Interval))
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded directory is there by construction
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), assets: http.FileServerFS(sub)}
	h.mux.HandleFunc("GET /snapshot", h.serveSnapshot)
	h.mux.HandleFunc("GET /events", h.serveEvents)
	h.mux.Handle("GET /", h.assets)
	return h
}

// ServeHTTP serves the page ("/" and its assets), the current snapshot
// ("/snapshot") and the stream of snapshots ("/events"). Mounted below a
// prefix, it expects the prefix stripped (see [http.StripPrefix]).
//
// A stream lasts until the client goes away or the request's context ends.
// [http.Server.Shutdown] waits for open streams as for any request under
// way: when its context ends, [http.Server.Close] ends them (the page
// reconnects by itself to the next server).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "" {
		// Mounted with StripPrefix and asked for the prefix without its
		// slash: the page's relative links need the slash. The Location is
		// relative to what the client asked for, which the handler does
		// not know past the stripped prefix.
		p, _, _ := strings.Cut(r.RequestURI, "?")
		w.Header().Set("Location", path.Base(p)+"/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(h.Snapshot())
}

// serveEvents streams a snapshot at once and then one per interval, as
// server-sent events, until the client goes away.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	t := time.NewTicker(h.opts.Interval)
	defer t.Stop()
	// After a lost connection, the browser tries again after a second.
	if _, err := io.WriteString(w, "retry: 1000\n\n"); err != nil {
		return
	}
	for {
		data, err := json.Marshal(h.Snapshot())
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
