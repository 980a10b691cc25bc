package main

import (
	"fmt"
	"strings"
)

// Limits on an order; anything outside them is a bad request.
const (
	maxItems   = 50
	maxQty     = 1000
	maxBodyLen = 64 << 10 // bytes of JSON in a POST /orders body
	maxIDLen   = 64       // bytes of a client's order ID
)

// OrderRequest is the body of POST /orders and the argument of
// [Service.Place]: what a customer asks for, before it has an ID.
type OrderRequest struct {
	// ID is optional: the client's own ID for the order, so that a retried
	// POST is not a second order. With -db, a second order with an ID
	// already placed is answered 409 and not published; without, IDs are
	// not checked.
	ID       string `json:"id,omitempty"`
	Customer string `json:"customer"`
	Email    string `json:"email"`
	Items    []Item `json:"items"`
}

// ValidationError says what is wrong with an order; the HTTP handler answers
// it with 400 and its text.
type ValidationError struct {
	Field   string // JSON path of the offending field, such as "items[2].qty"
	Problem string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid order: %s: %s", e.Field, e.Problem)
}

// Validate returns a *ValidationError for the first problem it finds, or nil.
func (r *OrderRequest) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case len(r.ID) > maxIDLen || strings.ContainsFunc(r.ID, func(c rune) bool { return c <= ' ' || c == 0x7f }):
		return bad("id", "%q: at most %d bytes, no spaces or control characters", r.ID, maxIDLen)
	case strings.TrimSpace(r.Customer) == "":
		return bad("customer", "missing")
	case r.Email == "":
		return bad("email", "missing")
	case !strings.Contains(r.Email, "@") || strings.ContainsAny(r.Email, " \t\r\n"):
		return bad("email", "%q is not an email address", r.Email)
	case len(r.Items) == 0:
		return bad("items", "an order needs at least one item")
	case len(r.Items) > maxItems:
		return bad("items", "%d items; at most %d per order", len(r.Items), maxItems)
	}
	for i, it := range r.Items {
		switch {
		case strings.TrimSpace(it.SKU) == "":
			return bad(fmt.Sprintf("items[%d].sku", i), "missing")
		case it.Qty <= 0:
			return bad(fmt.Sprintf("items[%d].qty", i), "%d; must be at least 1", it.Qty)
		case it.Qty > maxQty:
			return bad(fmt.Sprintf("items[%d].qty", i), "%d; at most %d", it.Qty, maxQty)
		}
	}
	return nil
}
