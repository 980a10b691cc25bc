// The troupe observer page: it renders each snapshot the server streams
// (server-sent events from "events"), or polls "snapshot" where
// EventSource is missing. No framework: plain DOM, text only (never HTML
// from the data).
"use strict";

// The links are relative to the page, wherever it is mounted.
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function num(v, key) {
  const td = el("td", v, "n" + (key ? " " + key : ""));
  return td;
}

function bad(v, key) {
  const td = num(v, key);
  if (v > 0) td.classList.add("nonzero");
  return td;
}

// duration formats nanoseconds for a reader.
function duration(ns) {
  if (!ns) return "0";
  if (ns < 1e3) return ns + "ns";
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + "µs";
  if (ns < 1e9) return (ns / 1e6).toFixed(1) + "ms";
  return (ns / 1e9).toFixed(1) + "s";
}

function clock(t) {
  const d = new Date(t);
  return isNaN(d) || d.getFullYear() < 2 ? "" : d.toLocaleTimeString();
}

function fill(queued, capacity) {
  const td = el("td");
  if (capacity > 0) {
    const bar = el("div", null, "fill");
    const frac = Math.min(1, queued / capacity);
    if (frac >= 0.75) bar.classList.add("high");
    const inner = el("div");
    inner.style.width = (frac * 100).toFixed(0) + "%";
    bar.appendChild(inner);
    td.appendChild(bar);
  }
  return td;
}

// fillTable replaces the rows of the table id with one row per item, made
// by row; an empty list shows a single "none" row.
function fillTable(id, items, row, cols) {
  const tbody = document.querySelector("#" + id + " tbody");
  const rows = items.map(row);
  if (rows.length === 0) {
    const tr = el("tr", null, "empty");
    const td = el("td", "none");
    td.colSpan = cols;
    tr.appendChild(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

function render(s) {
  fillTable("tree", s.tree, (c) => {
    const tr = el("tr");
    tr.dataset.path = c.path;
    tr.append(
      el("td", c.path, "path"),
      el("td", c.state, "state state-" + c.state),
      bad(c.restarts, "restarts"),
      el("td", clock(c.since), "since"),
      el("td", c.lastError, "error"),
    );
    return tr;
  }, 5);
  fillTable("mailboxes", s.mailboxes, (m) => {
    const tr = el("tr");
    tr.dataset.name = m.name;
    tr.append(
      el("td", m.name, "name"),
      num(m.queued, "queued"),
      num(m.capacity, "capacity"),
      fill(m.queued, m.capacity),
      num(duration(m.oldestWait), "wait"),
      num(m.handled, "handled"),
      bad(m.failed, "failed"),
      bad(m.panics, "panics"),
      bad(m.deadLetters, "deadletters"),
      el("td", m.running ? "yes" : "no", "running"),
    );
    return tr;
  }, 10);
  fillTable("keyed", s.keyed || [], (k) => {
    const tr = el("tr");
    tr.dataset.name = k.name;
    tr.append(
      el("td", k.name, "name"),
      num(k.keys, "keys"),
      num(k.created, "created"),
      num(k.passivated, "passivated"),
      bad(k.removed, "removed"),
      bad(k.restarted, "restarted"),
      bad(k.deadLetters, "deadletters"),
      el("td", k.running ? "yes" : "no", "running"),
    );
    return tr;
  }, 8);
  fillTable("subscriptions", s.subscriptions, (b) => {
    const tr = el("tr");
    tr.dataset.name = b.name;
    tr.append(
      el("td", b.name, "name"),
      el("td", b.type, "type"),
      el("td", b.policy, "policy"),
      num(b.delivered, "delivered"),
      bad(b.dropped.newest, "newest"),
      bad(b.dropped.oldest, "oldest"),
      bad(b.dropped.timeout, "timeout"),
      bad(b.dropped.canceled, "canceled"),
      bad(b.dropped.rejected, "rejected"),
      num(b.capacity >= 0 ? b.queued + " / " + b.capacity : "?", "queued"),
      el("td", b.slow ? "slow" : "", b.slow ? "nonzero" : ""),
    );
    return tr;
  }, 11);
  fillTable("deadletters", s.deadLetters, (d) => {
    const tr = el("tr");
    tr.append(
      el("td", clock(d.time)),
      el("td", d.source),
      el("td", d.name, "name"),
      el("td", d.type),
      el("td", d.reason, "reason"),
    );
    return tr;
  }, 5);
  document.getElementById("dltotal").textContent = "(" + s.deadLetterTotal + " in all)";
  document.getElementById("updated").textContent = "updated " + clock(s.time);
}

function status(text, cls) {
  const e = document.getElementById("status");
  e.textContent = text;
  e.className = "status " + cls;
}

function poll() {
  fetch(base + "snapshot", { cache: "no-store" })
    .then((r) => r.json())
    .then((s) => { render(s); status("live (polling)", "live"); })
    .catch(() => status("disconnected", "down"))
    .finally(() => setTimeout(poll, 1000));
}

function start() {
  if (!window.EventSource) {
    poll();
    return;
  }
  const es = new EventSource(base + "events");
  es.onmessage = (e) => { render(JSON.parse(e.data)); status("live", "live"); };
  // EventSource reconnects by itself; say so meanwhile.
  es.onerror = () => status("reconnecting…", "down");
}

start();
