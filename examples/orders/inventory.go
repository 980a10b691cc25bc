package main

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
)

// Inventory is the inventory consumer: it takes the items of every
// OrderCreated off the stock, all or nothing, and publishes StockReserved, or
// OrderRejected when an item is unknown or short. It is safe for concurrent
// use: the actor calls Handle while /stats reads the stock.
type Inventory struct {
	reserved func(context.Context, StockReserved) error
	rejected func(context.Context, OrderRejected) error

	mu    sync.Mutex
	stock map[string]int

	updates  atomic.Uint64 // orders taken off the stock
	unknown  atomic.Uint64 // orders rejected for an unknown SKU
	short    atomic.Uint64 // orders rejected for lack of stock
	unposted atomic.Uint64 // follow-up events that could not be published
}

// NewInventory returns an inventory holding a copy of stock.
func NewInventory(stock map[string]int, reserved func(context.Context, StockReserved) error, rejected func(context.Context, OrderRejected) error) *Inventory {
	return &Inventory{stock: maps.Clone(stock), reserved: reserved, rejected: rejected}
}

// Handle is the inventory actor's handler.
func (inv *Inventory) Handle(ctx context.Context, o OrderCreated) error {
	var err error
	if sku, reason := inv.take(o.Items); reason != "" {
		err = inv.rejected(ctx, OrderRejected{ID: o.ID, SKU: sku, Reason: reason})
	} else {
		err = inv.reserved(ctx, StockReserved{ID: o.ID, Items: o.Items})
	}
	if err != nil {
		inv.unposted.Add(1)
		return fmt.Errorf("inventory: follow-up of %s not published: %w", o.ID, err)
	}
	return nil
}

// take takes items off the stock if all of them are there, and otherwise
// returns the first SKU at fault and why.
func (inv *Inventory) take(items []Item) (sku, reason string) {
	want := make(map[string]int, len(items))
	for _, it := range items {
		want[it.SKU] += it.Qty
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, it := range items {
		have, ok := inv.stock[it.SKU]
		switch {
		case !ok:
			inv.unknown.Add(1)
			return it.SKU, ReasonUnknownSKU
		case have < want[it.SKU]:
			inv.short.Add(1)
			return it.SKU, ReasonOutOfStock
		}
	}
	for s, n := range want {
		inv.stock[s] -= n
	}
	inv.updates.Add(1)
	return "", ""
}

// Stock returns a copy of the stock.
func (inv *Inventory) Stock() map[string]int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return maps.Clone(inv.stock)
}

// Stats returns the inventory's counters.
func (inv *Inventory) Stats() InventoryStats {
	return InventoryStats{
		Updates:    inv.updates.Load(),
		UnknownSKU: inv.unknown.Load(),
		OutOfStock: inv.short.Load(),
		Unposted:   inv.unposted.Load(),
		Stock:      inv.Stock(),
	}
}
