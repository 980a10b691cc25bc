package main

import "time"

// Event is implemented by every event the order service publishes. Analytics
// subscribes to Event, an interface, so one subscription receives all four
// concrete types below: the bus routes a published value to the subscribers
// of its own type and of every interface it implements.
type Event interface {
	// OrderID returns the ID of the order the event is about.
	OrderID() string
	// Kind returns the event's name as it appears in logs and stats.
	Kind() string
}

// Item is one line of an order.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// OrderCreated is published by the order handler for every accepted order.
// Email, inventory and analytics react to it, each on its own.
type OrderCreated struct {
	ID       string
	Customer string
	Email    string
	Items    []Item
	At       time.Time
}

// StockReserved is published by inventory when every item of an order was
// in stock and has been taken off it.
type StockReserved struct {
	ID    string
	Items []Item
}

// OrderRejected is published by inventory when an order names an unknown
// SKU or asks for more than is in stock; nothing is taken off the stock.
type OrderRejected struct {
	ID     string
	SKU    string
	Reason string // ReasonUnknownSKU or ReasonOutOfStock
}

// Reasons of an OrderRejected.
const (
	ReasonUnknownSKU = "unknown SKU"
	ReasonOutOfStock = "out of stock"
)

// EmailSent is published by the email consumer once the provider accepted
// an order's confirmation.
type EmailSent struct {
	ID       string
	To       string
	Attempts int
}

func (e OrderCreated) OrderID() string  { return e.ID }
func (e StockReserved) OrderID() string { return e.ID }
func (e OrderRejected) OrderID() string { return e.ID }
func (e EmailSent) OrderID() string     { return e.ID }

func (OrderCreated) Kind() string  { return "OrderCreated" }
func (StockReserved) Kind() string { return "StockReserved" }
func (OrderRejected) Kind() string { return "OrderRejected" }
func (EmailSent) Kind() string     { return "EmailSent" }
