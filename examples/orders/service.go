package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
)

// errUnavailable is returned by [Service.Place] when the order could not be
// published, typically because the service is shutting down; the HTTP
// handler answers it with 503.
var errUnavailable = errors.New("order service unavailable")

// Service is the order handler of the problem statement: it validates an
// order, publishes OrderCreated and returns. It calls no consumer: email,
// inventory and analytics learn about the order from the bus, so none of
// them can make it hang or fail. It is safe for concurrent use.
type Service struct {
	publish func(context.Context, OrderCreated) error
	stats   func() Stats

	seq      atomic.Uint64
	idPrefix string    // of the order IDs; "ord-" when empty
	latency  Latencies // of POST /orders, whatever the answer

	placed      atomic.Uint64 // published: answered 201
	badRequests atomic.Uint64 // answered 400 or 413
	unavailable atomic.Uint64 // not published: answered 503
}

// NewService returns a service that hands every accepted order to publish
// and answers GET /stats with stats().
func NewService(publish func(context.Context, OrderCreated) error, stats func() Stats) *Service {
	return &Service{publish: publish, stats: stats}
}

// Place validates req and publishes it as an OrderCreated with a new ID. It
// is the whole of POST /orders minus the JSON, for callers in the same
// process. It returns a *ValidationError for a bad order, an error matching
// errDuplicateOrder for a client's ID already placed (with -db), and an
// error matching errUnavailable when the order could not be published; in
// each case nothing was published.
func (s *Service) Place(ctx context.Context, req OrderRequest) (OrderCreated, error) {
	if err := req.Validate(); err != nil {
		s.badRequests.Add(1)
		return OrderCreated{}, err
	}
	o := OrderCreated{
		ID:       cmp.Or(req.ID, fmt.Sprintf("%s%06d", cmp.Or(s.idPrefix, "ord-"), s.seq.Add(1))),
		Customer: req.Customer,
		Email:    req.Email,
		Items:    slices.Clone(req.Items), // the caller keeps its slice
		At:       time.Now(),
	}
	if err := s.publish(ctx, o); errors.Is(err, errDuplicateOrder) {
		return OrderCreated{}, err
	} else if err != nil {
		s.unavailable.Add(1)
		return OrderCreated{}, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	s.placed.Add(1)
	return o, nil
}

// Handler returns the HTTP API: POST /orders and GET /stats.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.postOrder)
	mux.HandleFunc("GET /stats", s.getStats)
	return mux
}

func (s *Service) postOrder(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.latency.Add(time.Since(start)) }()

	var req OrderRequest
	if status, err := decode(w, r, &req); err != nil {
		s.badRequests.Add(1)
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	o, err := s.Place(r.Context(), req)
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, errDuplicateOrder):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	default:
		w.Header().Set("Location", "/orders/"+o.ID)
		writeJSON(w, http.StatusCreated, map[string]string{"id": o.ID})
	}
}

// decode reads one JSON object of at most maxBodyLen bytes into v. On
// failure it returns the status to answer with: 413 for a body too large,
// 400 for anything else.
func decode(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyLen))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// One object per request: anything after it is a mistake.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, errors.New("malformed JSON: empty body")
	default:
		return http.StatusBadRequest, fmt.Errorf("malformed JSON: %w", err)
	}
}

func (s *Service) getStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.stats())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nobody to tell
}
