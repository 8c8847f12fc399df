// corral web: the page. It reads /ws/session (slots and the inbox) and
// /ws/slot/<id>?mode=screen (each pane's screen), answers with POST
// /api/answer, and types over the slot's socket. Everything the agents
// wrote is put on the page as text (textContent), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
let me = null;
let slots = [];
const panes = new Map(); // id -> {socket, tile, screen, last}
let zoomed = null;
let zoomHistory = false;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function wsUrl(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return proto + "//" + location.host + path;
}

function stateName(s) {
  if (typeof s === "string") return s;
  if (s && typeof s === "object" && "exited" in s) return "exited " + s.exited;
  return String(s);
}

// --- SGR rows to DOM ---
const BASE = ["#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
  "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"];
function color256(n) {
  if (n < 16) return BASE[n];
  if (n < 232) {
    n -= 16;
    const c = (v) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${c(Math.floor(n / 36))},${c(Math.floor(n / 6) % 6)},${c(n % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}
function sgr(style, params) {
  const p = params === "" ? [0] : params.split(/[;:]/).map((x) => (x === "" ? 0 : parseInt(x, 10)));
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (v === 0) { for (const k of Object.keys(style)) delete style[k]; }
    else if (v === 1) style.bold = true;
    else if (v === 2) style.dim = true;
    else if (v === 3) style.italic = true;
    else if (v === 4) style.underline = true;
    else if (v === 7) style.inverse = true;
    else if (v === 9) style.strike = true;
    else if (v === 22) { delete style.bold; delete style.dim; }
    else if (v === 23) delete style.italic;
    else if (v === 24) delete style.underline;
    else if (v === 27) delete style.inverse;
    else if (v === 29) delete style.strike;
    else if (v >= 30 && v <= 37) style.fg = BASE[v - 30];
    else if (v >= 90 && v <= 97) style.fg = BASE[v - 90 + 8];
    else if (v === 39) delete style.fg;
    else if (v >= 40 && v <= 47) style.bg = BASE[v - 40];
    else if (v >= 100 && v <= 107) style.bg = BASE[v - 100 + 8];
    else if (v === 49) delete style.bg;
    else if (v === 38 || v === 48) {
      const key = v === 38 ? "fg" : "bg";
      if (p[i + 1] === 5 && i + 2 < p.length) { style[key] = color256(p[i + 2] & 255); i += 2; }
      else if (p[i + 1] === 2 && i + 4 < p.length) {
        style[key] = `rgb(${p[i + 2] & 255},${p[i + 3] & 255},${p[i + 4] & 255})`; i += 4;
      }
    }
  }
}
function renderLine(line) {
  const row = el("div", "row");
  const style = {};
  let text = "";
  const flush = () => {
    if (!text) return;
    const s = el("span", null, text);
    let fg = style.fg, bg = style.bg;
    if (style.inverse) { const t = fg || "#e5e5e5"; fg = bg || "#111111"; bg = t; }
    if (fg) s.style.color = fg;
    if (bg) s.style.backgroundColor = bg;
    if (style.bold) s.style.fontWeight = "bold";
    if (style.dim) s.style.opacity = "0.6";
    if (style.italic) s.style.fontStyle = "italic";
    const deco = [style.underline ? "underline" : "", style.strike ? "line-through" : ""].join(" ").trim();
    if (deco) s.style.textDecoration = deco;
    row.appendChild(s);
    text = "";
  };
  const re = /\x1b\[([0-9;:]*)([A-Za-z])/g;
  let at = 0, m;
  while ((m = re.exec(line)) !== null) {
    text += line.slice(at, m.index);
    flush();
    if (m[2] === "m") sgr(style, m[1]);
    at = re.lastIndex;
  }
  text += line.slice(at).replace(/\x1b/g, "");
  flush();
  if (!row.firstChild) row.appendChild(el("span", null, " "));
  return row;
}
function renderScreen(pre, msg) {
  const frag = document.createDocumentFragment();
  for (const line of msg.lines) frag.appendChild(renderLine(line));
  pre.replaceChildren(frag);
}

// --- answers ---
async function answer(slot, prompt, kind, status) {
  status.textContent = "sending...";
  status.className = "status";
  try {
    const r = await fetch("/api/answer", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Corral-CSRF": me ? me.csrf : "" },
      body: JSON.stringify({ slot, prompt, answer: kind }),
      credentials: "same-origin",
    });
    const body = await r.json().catch(() => ({}));
    if (r.ok) { status.textContent = "answered"; status.className = "status ok"; }
    else { status.textContent = body.error || ("refused: " + r.status); status.className = "status error"; }
  } catch (e) {
    status.textContent = "not sent: " + e; status.className = "status error";
  }
}

function optionOf(prompt, kind) {
  return (prompt.options || []).find((o) => o.kind === kind);
}

function renderInbox() {
  const box = $("inbox");
  const waiting = slots.filter((s) => s.prompt);
  $("inbox-count").textContent = waiting.length ? `(${waiting.length})` : "";
  if (!waiting.length) { box.replaceChildren(el("p", "empty", "No prompt is waiting.")); return; }
  const frag = document.createDocumentFragment();
  for (const s of waiting) {
    const p = s.prompt;
    const card = el("article", "card");
    card.dataset.slot = s.id;
    card.dataset.prompt = p.id;
    const head = el("div", "card-head");
    head.appendChild(el("strong", "slot-id", s.id));
    head.appendChild(el("span", "tool", p.tool || "?"));
    head.appendChild(el("span", "source", p.source || ""));
    card.appendChild(head);
    if (p.question) card.appendChild(el("p", "question", p.question));
    card.appendChild(el("pre", "subject", p.subject));
    const incomplete = p.incomplete ? (typeof p.incomplete === "string" ? p.incomplete : JSON.stringify(p.incomplete)) : null;
    if (incomplete) card.appendChild(el("p", "incomplete", "The subject may not be whole (" + incomplete + "): it cannot be approved here. Answer it where its dialog shows."));
    const always = optionOf(p, "approve-always");
    const unavailable = p.unavailable || {};
    if (always) card.appendChild(el("p", "scope", "Approve always: " + always.label));
    else if (unavailable["approve-always"]) card.appendChild(el("p", "scope", "Approve always: " + unavailable["approve-always"]));
    const buttons = el("div", "buttons");
    const status = el("span", "status");
    const mk = (label, kind, enabled, why) => {
      const b = el("button", "answer " + kind, label);
      b.type = "button";
      b.dataset.answer = kind;
      b.disabled = !enabled;
      if (!enabled && why) b.title = why;
      b.addEventListener("click", () => answer(s.id, p.id, kind, status));
      buttons.appendChild(b);
    };
    const ro = me && me.read_only;
    const roWhy = "this token may watch, not answer";
    mk("Approve once", "approve-once", !ro && !incomplete && !!optionOf(p, "approve-once"), ro ? roWhy : "not offered");
    mk("Approve always", "approve-always", !ro && !incomplete && !!always, ro ? roWhy : (unavailable["approve-always"] || "not offered"));
    mk("Deny", "deny", !ro, roWhy);
    buttons.appendChild(status);
    card.appendChild(buttons);
    frag.appendChild(card);
  }
  box.replaceChildren(frag);
}

function renderSlots() {
  const ul = $("slots");
  const frag = document.createDocumentFragment();
  for (const s of slots) {
    const li = el("li", "slot");
    li.dataset.slot = s.id;
    li.appendChild(el("strong", null, s.id));
    li.appendChild(el("span", "role", s.role + " · " + s.agent));
    const st = stateName(s.state);
    li.appendChild(el("span", "state " + st.split(" ")[0], st));
    li.addEventListener("click", () => zoom(s.id));
    frag.appendChild(li);
  }
  ul.replaceChildren(frag);
  for (const s of slots) if (!panes.has(s.id)) openPane(s.id);
  for (const [id, p] of panes) {
    const s = slots.find((x) => x.id === id);
    if (s) p.tile.querySelector(".pane-state").textContent = stateName(s.state);
  }
}

function openPane(id) {
  const tile = el("div", "pane");
  tile.dataset.slot = id;
  const bar = el("div", "pane-bar");
  bar.appendChild(el("strong", null, id));
  bar.appendChild(el("span", "pane-state", ""));
  tile.appendChild(bar);
  const screen = el("pre", "screen");
  tile.appendChild(screen);
  tile.addEventListener("click", () => zoom(id));
  $("panes").appendChild(tile);
  const pane = { socket: null, tile, screen, last: null };
  panes.set(id, pane);
  const connect = () => {
    const ws = new WebSocket(wsUrl("/ws/slot/" + encodeURIComponent(id) + "?mode=screen"));
    pane.socket = ws;
    ws.onmessage = (ev) => {
      let m; try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === "screen") {
        if (m.scrollback > 0) {
          if (zoomed === id) { renderScreen($("zoom-screen"), m); $("zoom-screen").scrollTop = 0; }
          return;
        }
        pane.last = m;
        renderScreen(screen, m);
        if (zoomed === id && !zoomHistory) renderScreen($("zoom-screen"), m);
      } else if (m.type === "error") {
        if (zoomed === id) $("zoom-error").textContent = m.error;
      }
    };
    ws.onclose = () => { if (panes.get(id) === pane) setTimeout(connect, 1000); };
  };
  connect();
}

function zoom(id) {
  zoomed = id;
  zoomHistory = false;
  $("zoom-history").textContent = "Scrollback";
  $("zoom-title").textContent = id;
  $("zoom-error").textContent = "";
  const p = panes.get(id);
  if (p && p.last) renderScreen($("zoom-screen"), p.last);
  $("zoom-type").hidden = !!(me && me.read_only);
  $("zoom").hidden = false;
  $("zoom-screen").focus();
}

function sendSlot(msg) {
  const p = zoomed && panes.get(zoomed);
  if (!p || !p.socket || p.socket.readyState !== WebSocket.OPEN) return;
  $("zoom-error").textContent = "";
  p.socket.send(JSON.stringify(msg));
}

function keyName(e) {
  const named = { Enter: "enter", Backspace: "backspace", Tab: "tab", Escape: "esc", ArrowUp: "up",
    ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Home: "home", End: "end",
    PageUp: "pageup", PageDown: "pagedown", Delete: "delete" };
  if (named[e.key]) return (e.ctrlKey ? "ctrl-" : "") + named[e.key];
  if (e.ctrlKey && e.key.length === 1 && /[a-z]/i.test(e.key)) return "ctrl-" + e.key.toLowerCase();
  return null;
}

function setup() {
  $("zoom-close").addEventListener("click", () => { $("zoom").hidden = true; zoomed = null; });
  $("zoom-history").addEventListener("click", () => {
    zoomHistory = !zoomHistory;
    $("zoom-history").textContent = zoomHistory ? "Live" : "Scrollback";
    if (zoomHistory) sendSlot({ type: "history", rows: 2000 });
    else { const p = panes.get(zoomed); if (p && p.last) renderScreen($("zoom-screen"), p.last); }
  });
  $("zoom-type").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("zoom-text").value;
    if (t) sendSlot({ type: "text", text: t });
    $("zoom-text").value = "";
  });
  for (const b of document.querySelectorAll("#zoom-type [data-key]")) {
    b.addEventListener("click", () => sendSlot({ type: "keys", keys: [b.dataset.key] }));
  }
  $("zoom-screen").addEventListener("keydown", (e) => {
    if (me && me.read_only) return;
    const k = keyName(e);
    if (k) { e.preventDefault(); sendSlot({ type: "keys", keys: [k] }); }
    else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault(); sendSlot({ type: "text", text: e.key });
    }
  });
  connectSession();
}

function connectSession() {
  const ws = new WebSocket(wsUrl("/ws/session"));
  ws.onopen = () => { $("link").textContent = "live"; $("link").className = "state idle"; };
  ws.onmessage = (ev) => {
    let m; try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === "hello") {
      me = m.me;
      $("session").textContent = "session " + m.session;
      $("me").textContent = me.name + (me.read_only ? " (read-only)" : "");
      $("insecure").hidden = !m.insecure;
      document.body.classList.toggle("read-only", !!me.read_only);
    } else if (m.type === "slots") {
      slots = m.slots;
      renderInbox();
      renderSlots();
    }
  };
  ws.onclose = () => {
    $("link").textContent = "disconnected"; $("link").className = "state exited";
    setTimeout(connectSession, 1500);
  };
}

setup();
