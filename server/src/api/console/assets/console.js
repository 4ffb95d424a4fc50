// otn console: plain JavaScript, no framework. Data comes from /v1/console/* and one
// EventSource on /v1/events; every value is written with textContent, never as HTML.
"use strict";

const STATES = ["queued", "sending", "sent", "delivered", "read", "unconfirmed", "failed", "cancelled"];
const EVENT_TYPES = ["QUEUED", "SENT", "DELIVERED", "READ", "FAILED", "RETRY_SCHEDULED", "CANCELLED",
  "GRANT_CONSUMED", "OPT_IN_RECORDED", "ENGAGED", "GRANT_REVOKED", "RECIPIENT_FORGOTTEN",
  "GRANT_STOPPED", "GRANT_RESUMED", "GRANT_ASSIGNED", "UNCONFIRMED", "OPT_IN_REQUESTED", "CLICKED",
  "GRANT_EXPIRED"];
// The funnel's chain (key in counts, label, key of the rate that leads to it) and its side counts.
const FUNNEL = [["optInRequests", "opt-in requests", null], ["optIns", "opt-ins", "optInRate"],
  ["grantsUsed", "grants used", "useRate"], ["sent", "sent", "sendRate"], ["delivered", "delivered", "deliveryRate"],
  ["read", "read", "readRate"], ["engaged", "engaged", "engagementRate"]];
const FUNNEL_SIDE = [["engagedMessage", "replied"], ["engagedPostback", "tapped a postback"],
  ["clicked", "clicked a link", "clickRate"], ["failed", "failed"], ["unconfirmed", "unconfirmed"],
  ["grantsExpired", "grants expired unused"], ["grantsStopped", "grants stopped"], ["grantsRevoked", "grants revoked"]];
const FUNNEL_DAYS = [["sent", "#2f6fd0"], ["read", "#1e7a3c"], ["engaged", "#c2410c"]];
const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#be123c", "#0e7490"];
const CHART_SECONDS = 300;
const TAIL_MAX = 200;

const $ = (id) => document.getElementById(id);
const state = {
  overview: null, scopes: [], source: null, cursor: null,
  ranges: [], repeats: 0, received: 0,
  tail: [], tailDirty: false,
  sends: new Map(), sendsThrough: 0,
  detailId: null, timers: new Map(),
  funnel: null, // what the funnel view shows: { page, topic } or { notification }
};

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") n.className = v;
    else if (k.startsWith("data-")) n.setAttribute(k, v);
    else if (k === "text") n.textContent = v;
    else if (k === "style") Object.assign(n.style, v); // CSSOM: allowed by the page's CSP
    else n.setAttribute(k, v);
  }
  for (const k of kids) n.append(k);
  return n;
}
const short = (name, prefix) => String(name || "").replace(prefix, "");
const num = (v) => Number(v || 0);
const when = (t) => (t ? new Date(t).toLocaleTimeString() : "");

// Runs `fn` at most once per `ms`, the last call winning.
function throttle(key, ms, fn) {
  if (state.timers.has(key)) return;
  state.timers.set(key, setTimeout(() => { state.timers.delete(key); fn(); }, ms));
}

async function api(path, options = {}) {
  // Changes carry the session's CSRF token (the server refuses them without it).
  const method = (options.method || "GET").toUpperCase();
  const headers = { ...(options.headers || {}) };
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const r = await fetch(path, { credentials: "same-origin", ...options, headers });
  const body = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (r.status === 401 || (r.status === 403 && path.endsWith("/overview"))) showSignIn(body);
  if (!r.ok) throw Object.assign(new Error(body.error ? body.error.message : r.statusText), { status: r.status });
  return body;
}

function showSignIn(body) {
  if (state.source) { state.source.close(); state.source = null; }
  $("app").hidden = true; $("sections").hidden = true; $("sign-out").hidden = true;
  $("sign-in").hidden = false; $("who").textContent = "";
  setStream("not connected", "");
  if (body && body.error && body.error.reason !== "API_KEY_MISSING") $("sign-in-error").textContent = body.error.message;
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $("api-key").value.trim();
  $("sign-in-error").textContent = "";
  try {
    await api("/v1/session", { method: "POST", headers: { Authorization: "Bearer " + key } });
    $("api-key").value = "";
    await start();
  } catch (e) { $("sign-in-error").textContent = e.message; }
}

async function signOut() {
  await fetch("/v1/session", { method: "DELETE", credentials: "same-origin" });
  showSignIn(null);
}

async function start() {
  const o = await api("/v1/console/overview");
  state.overview = o; state.scopes = o.caller.scopes; state.csrf = o.csrfToken || null;
  $("sign-in").hidden = true; $("app").hidden = false; $("sections").hidden = false;
  $("sign-out").hidden = o.sandbox && o.caller.actor === "sandbox";
  $("who").textContent = `${o.caller.actor} · ${o.caller.scopes.join(", ")}${o.sandbox ? " · sandbox" : ""}`;
  for (const id of ["topics-page", "s-page", "funnel-page"]) {
    $(id).replaceChildren(...o.pages.map((p) => el("option", { value: p, text: p })));
  }
  $("shopper").hidden = !o.sandbox; $("nav-shopper").hidden = !o.sandbox;
  if (!state.source) openStream(Math.max(0, num(o.lastSequence) - 200));
  // One view that cannot load leaves the others (and the stream) working.
  await Promise.allSettled([loadNotifications(), loadPages(), loadTopics(), loadSends()]);
}

// ---- the event stream -------------------------------------------------------------------

function setStream(text, cls) {
  $("stream-state").textContent = text;
  $("stream-dot").className = "dot " + cls;
}

function openStream(after) {
  state.cursor = after;
  const es = new EventSource("/v1/events?after=" + after);
  state.source = es;
  es.onopen = () => setStream("live", "live");
  es.onmessage = (m) => onEvent(JSON.parse(m.data));
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // Refused (401, or a proxy's error page): reopen after our own cursor, or sign in.
      setStream("disconnected; retrying", "down");
      es.close();
      if (state.source === es) state.source = null;
      setTimeout(() => { if (!state.source && !$("app").hidden) openStream(state.cursor); }, 2000);
    } else {
      setStream("reconnecting", "down"); // EventSource retries by itself, with Last-Event-ID.
    }
  };
}

// Sequences seen, as ranges: one range and no repeat is "no gap, no repeat".
function noteSequence(seq) {
  const last = state.ranges.length ? state.ranges[state.ranges.length - 1] : null;
  state.received += 1;
  if (last && seq <= last[1]) { state.repeats += 1; return false; }
  if (last && seq === last[1] + 1) last[1] = seq; else state.ranges.push([seq, seq]);
  state.cursor = seq;
  return true;
}

function onEvent(e) {
  const seq = num(e.sequence);
  if (!noteSequence(seq)) return;
  const type = short(e.type, "DELIVERY_EVENT_TYPE_");
  state.tail.push({ seq, type, e });
  if (state.tail.length > TAIL_MAX * 5) state.tail.splice(0, state.tail.length - TAIL_MAX * 5);
  state.tailDirty = true;
  if (type === "SENT" && seq > state.sendsThrough) {
    const second = Math.floor(Date.parse(e.eventTime) / 1000);
    bump(e.pageId, second, 1);
  }
  if (e.notificationId) {
    throttle("notifications", 400, loadNotifications);
    if (e.notificationId === state.detailId) throttle("detail", 600, loadDetail);
  }
  if (e.failure && e.failure.code === 613) throttle("pages", 1000, loadPages);
  if (type === "OPT_IN_RECORDED" || type === "GRANT_CONSUMED") throttle("topics", 1500, loadTopics);
  const f = state.funnel;
  if (f && ((f.notification && e.notificationId === f.notification) || (f.topic && e.topicKey === f.topic && e.pageId === f.page))) {
    throttle("funnel", 800, () => loadFunnel().catch(() => {}));
  }
  throttle("render-tail", 150, renderTail);
}

// ---- the tail ---------------------------------------------------------------------------

function tailMatches(t) {
  const page = $("f-page").value.trim(), topic = $("f-topic").value.trim();
  const note = $("f-notification").value.trim(), type = $("f-type").value;
  return (!page || t.e.pageId === page) && (!topic || t.e.topicKey === topic)
    && (!note || t.e.notificationId === note) && (!type || t.type === type);
}

function renderTail() {
  const log = $("seq-log");
  log.dataset.ranges = state.ranges.map((r) => r[0] + "-" + r[1]).join(",");
  log.dataset.repeats = String(state.repeats);
  log.dataset.count = String(state.received);
  log.textContent = `${state.received} events, ${state.ranges.length} ranges, ${state.repeats} repeats`;
  const rows = state.tail.filter(tailMatches).slice(-TAIL_MAX).reverse().map((t) => {
    const e = t.e;
    const parts = [e.pageId, e.topicKey, e.psid && "psid " + e.psid,
      e.notificationId && "notification " + e.notificationId.slice(-8)];
    if (e.failure) parts.push(`${e.failure.reason} (code ${e.failure.code}/${e.failure.subcode})`);
    return el("li", { "data-seq": t.seq, "data-type": t.type, "data-notification-id": e.notificationId || null },
      el("span", { class: "seq", text: "#" + t.seq }),
      el("span", { class: "kind " + t.type, text: t.type }),
      el("span", { class: "what", text: parts.filter(Boolean).join(" · ") }));
  });
  $("tail-list").replaceChildren(...rows);
}

// ---- notifications ----------------------------------------------------------------------

function progress(counts) {
  const total = STATES.reduce((s, k) => s + num(counts[k]), 0);
  const bar = el("div", { class: "progress", role: "img",
    "aria-label": STATES.map((k) => `${num(counts[k])} ${k}`).join(", ") });
  for (const k of STATES) {
    const n = num(counts[k]);
    if (n > 0) bar.append(el("span", { class: "s-" + k, style: { width: `${(100 * n) / total}%` } }));
  }
  const text = STATES.filter((k) => num(counts[k]) > 0).map((k) => `${k} ${num(counts[k])}`).join(" · ");
  return [bar, el("div", { class: "counts", text: text || "no deliveries" })];
}

async function loadNotifications() {
  const { notifications } = await api("/v1/console/notifications?limit=30");
  const rows = notifications.map((n) => {
    const st = short(n.state, "NOTIFICATION_STATE_");
    return el("tr", { "data-notification-id": n.notificationId, "data-state": n.state },
      el("td", { text: when(n.createTime) }),
      el("td", {}, el("div", { text: n.topicKey }), el("div", { class: "counts", text: n.pageId })),
      el("td", {}, el("span", { class: "state " + st, text: st })),
      el("td", {}, ...progress(n.counts || {})),
      el("td", {}, detailButton(n)));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { class: "empty", colspan: "5", text: "No notifications yet." })));
  $("notification-rows").replaceChildren(...rows);
}

function detailButton(n) {
  const b = el("button", { type: "button", class: "secondary", text: "Details",
    "aria-label": "Details of " + n.topicKey + " " + n.notificationId });
  b.addEventListener("click", () => { state.detailId = n.notificationId; loadDetail(true); });
  return b;
}

async function loadDetail(focus) {
  if (!state.detailId) return;
  const { notification: n, failures } = await api("/v1/console/notifications/" + encodeURIComponent(state.detailId));
  const st = short(n.state, "NOTIFICATION_STATE_");
  $("detail").hidden = false;
  $("detail-title").textContent = `Notification ${n.topicKey}`;
  $("detail-summary").replaceChildren(el("span", { class: "state " + st, text: st }),
    ` on ${n.pageId} by ${n.createdBy || "?"}, created ${when(n.createTime)} · `,
    el("code", { text: n.notificationId }));
  const plan = n.plan || {};
  $("detail-plan").replaceChildren(...[["grant sends", plan.grantSends], ["window sends", plan.windowSends],
    ["tag sends", plan.tagSends]].flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(num(v)) })]));
  const ex = (plan.exclusions || []).map((x) => el("tr", {},
    el("td", { text: short(x.reason, "EXCLUSION_REASON_") }), el("td", { class: "num", text: String(num(x.count)) })));
  $("detail-exclusions").replaceChildren(...(ex.length ? ex : [el("tr", {}, el("td", { class: "empty", colspan: "2", text: "none" }))]));
  const fl = failures.map((f) => el("tr", { title: f.message },
    el("td", { text: f.reason }), el("td", { class: "num", text: String(f.code) }),
    el("td", { class: "num", text: String(f.subcode) }), el("td", { class: "num", text: String(num(f.count)) })));
  $("detail-failures").replaceChildren(...(fl.length ? fl : [el("tr", {}, el("td", { class: "empty", colspan: "4", text: "none" }))]));
  const exportUrl = (format) => `/v1/console/notifications/${encodeURIComponent(n.notificationId)}/deliveries?format=${format}`;
  $("export-csv").href = exportUrl("csv"); $("export-json").href = exportUrl("json");
  const open = st === "SCHEDULED" || st === "DISPATCHING";
  const maySend = state.scopes.includes("send");
  $("cancel").hidden = !open; $("cancel").disabled = !maySend;
  $("cancel-note").textContent = open && !maySend ? "Cancelling needs a key with the send scope." : "";
  if (focus) { $("detail").scrollIntoView(); $("detail-title").setAttribute("tabindex", "-1"); $("detail-title").focus(); }
}

async function cancelDetail() {
  if (!state.detailId || !window.confirm("Cancel every delivery of this notification that is still queued?")) return;
  try {
    const r = await api(`/v1/console/notifications/${encodeURIComponent(state.detailId)}/cancel`, { method: "POST" });
    $("detail-status").textContent = `Cancelled ${num(r.cancelledDeliveries)} deliveries.`;
  } catch (e) { $("detail-status").textContent = "Not cancelled: " + e.message; }
  loadDetail(false); loadNotifications();
}

// ---- pages, topics ----------------------------------------------------------------------

async function loadPages() {
  const { pages, recentMinutes } = await api("/v1/console/pages");
  $("recent-minutes").textContent = String(recentMinutes);
  $("page-rows").replaceChildren(...pages.map((p) => el("tr", { "data-page-id": p.pageId },
    el("td", { text: p.pageId + (p.region ? ` (${p.region})` : "") }),
    el("td", { class: "num", text: String(p.rateLimitPerSec) }),
    p.paused && p.pauseReason === "negative_feedback"
      ? el("td", { class: "paused", text: `paused by the circuit breaker (${p.negativeSignals} STOPs, blocks and policy ` +
          `enforcements in ${p.breakerWindowSecs / 60} min; threshold ${p.breakerThreshold}) until an operator resumes it (ResumePage)` })
      : p.paused
      ? el("td", { class: "paused", text: `paused until ${when(p.pausedUntil)}: ${p.pauseReason || ""}` })
      : el("td", { text: `running (${p.negativeSignals} negative signals in ${p.breakerWindowSecs / 60} min)` }),
    el("td", { class: "num", text: String(p.recentRateLimited) }))));
}

async function loadTopics() {
  const page = $("topics-page").value;
  if (!page) return;
  const { topics } = await api("/v1/console/topics?page_id=" + encodeURIComponent(page));
  const rows = topics.map((t) => {
    const b = el("button", { type: "button", class: "secondary", text: "Funnel", "aria-label": "Funnel of " + t.topicKey });
    b.addEventListener("click", () => showFunnel({ page, topic: t.topicKey }));
    return el("tr", { "data-topic": t.topicKey }, el("td", { text: t.topicKey }),
      el("td", { class: "num", text: String(num(t.eligible)) }), el("td", {}, b));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { class: "empty", colspan: "3", text: "No topics yet." })));
  $("topic-rows").replaceChildren(...rows);
  $("funnel-topics").replaceChildren(...topics.map((t) => el("option", { value: t.topicKey })));
}

// ---- the chart --------------------------------------------------------------------------

function bump(page, second, n) {
  if (!state.sends.has(page)) state.sends.set(page, new Map());
  const m = state.sends.get(page);
  m.set(second, (m.get(second) || 0) + n);
}

async function loadSends() {
  const r = await api("/v1/console/sends?minutes=5");
  state.sends = new Map();
  for (const p of r.points) bump(p.pageId, p.second, p.count);
  state.sendsThrough = num(r.throughSequence);
  renderChart();
}

function renderChart() {
  const svg = $("chart-svg"), ns = "http://www.w3.org/2000/svg";
  const W = 600, H = 220, L = 36, B = 20, now = Math.floor(Date.now() / 1000);
  const from = now - CHART_SECONDS;
  let max = 1;
  for (const m of state.sends.values()) {
    for (const [s, n] of m) { if (s < from - 5) m.delete(s); else max = Math.max(max, n); }
  }
  const x = (s) => L + ((s - from) / CHART_SECONDS) * (W - L - 4);
  const y = (n) => H - B - (n / max) * (H - B - 10);
  const desc = document.createElementNS(ns, "desc");
  desc.id = "chart-desc";
  const kids = [desc];
  const line = (x1, y1, x2, y2, cls) => { const l = document.createElementNS(ns, "line");
    Object.entries({ x1, y1, x2, y2, class: cls }).forEach(([k, v]) => l.setAttribute(k, v)); return l; };
  const text = (tx, ty, s, anchor) => { const t = document.createElementNS(ns, "text");
    t.setAttribute("x", tx); t.setAttribute("y", ty); t.setAttribute("text-anchor", anchor); t.textContent = s; return t; };
  for (const f of [0, 0.5, 1]) {
    kids.push(line(L, y(max * f), W - 4, y(max * f), "grid-line"), text(L - 4, y(max * f) + 4, String(Math.round(max * f)), "end"));
  }
  for (const m of [5, 4, 3, 2, 1, 0]) kids.push(text(x(now - m * 60), H - 5, m ? `-${m} min` : "now", m ? "middle" : "end"));
  const legend = [], summary = [];
  [...state.sends.keys()].sort().forEach((page, i) => {
    const m = state.sends.get(page), color = PALETTE[i % PALETTE.length];
    const pts = [];
    let total = 0, peak = 0;
    for (let s = from; s <= now; s++) { const n = m.get(s) || 0; total += n; peak = Math.max(peak, n); pts.push(`${x(s).toFixed(1)},${y(n).toFixed(1)}`); }
    const pl = document.createElementNS(ns, "polyline");
    pl.setAttribute("points", pts.join(" ")); pl.setAttribute("fill", "none");
    pl.setAttribute("stroke", color); pl.setAttribute("stroke-width", "2");
    kids.push(pl);
    legend.push(el("li", {}, el("span", { class: "swatch", style: { background: color } }), `${page}: ${total} sent, peak ${peak}/s`));
    summary.push(`${page}: ${total} sends in the last 5 minutes, peak ${peak} per second`);
  });
  desc.textContent = summary.length ? summary.join("; ") : "No sends in the last 5 minutes.";
  svg.replaceChildren(...kids);
  $("chart-legend").replaceChildren(...legend);
}

// ---- the funnel -------------------------------------------------------------------------

const pct = (r) => (r === null || r === undefined ? "" : `${(100 * Number(r)).toFixed(1)}%`);

function showFunnel(what) {
  state.funnel = what;
  if (what.page) { $("funnel-page").value = what.page; $("funnel-topic").value = what.topic; }
  loadFunnel().then(() => { $("funnel").scrollIntoView(); }).catch((e) => { $("funnel-whose").textContent = "No funnel: " + e.message; });
}

async function loadFunnel() {
  const f = state.funnel;
  if (!f) return;
  const q = new URLSearchParams();
  if (f.notification) q.set("notification_id", f.notification);
  else { q.set("page_id", f.page); q.set("topic_key", f.topic); }
  if ($("funnel-from").value) q.set("start_date", $("funnel-from").value);
  if ($("funnel-to").value) q.set("end_date", $("funnel-to").value);
  renderFunnel(await api("/v1/console/funnel?" + q.toString()));
}

function submitFunnel(ev) {
  ev.preventDefault();
  const page = $("funnel-page").value, topic = $("funnel-topic").value.trim();
  if (page && topic) showFunnel({ page, topic });
}

function renderFunnel(f) {
  const c = f.counts, r = f.rates;
  const whose = f.notificationId ? `Notification ${f.notificationId} (${f.topicKey} on ${f.pageId})` : `${f.topicKey} on ${f.pageId}`;
  $("funnel-whose").textContent = `${whose}, ${f.startDate} to ${f.endDate} (UTC)`;
  $("funnel").dataset.funnel = f.notificationId || `${f.pageId}/${f.topicKey}`;
  // The bars: one per step, as wide as its count over the largest.
  const svg = $("funnel-svg"), ns = "http://www.w3.org/2000/svg";
  const max = Math.max(1, ...FUNNEL.map(([k]) => num(c[k])));
  const desc = document.createElementNS(ns, "desc");
  desc.id = "funnel-desc";
  const kids = [desc];
  const L = 130, W = 600, rowH = 34;
  const svgEl = (tag, attrs, text) => { const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); if (text !== undefined) n.textContent = text; return n; };
  FUNNEL.forEach(([k, label, rate], i) => {
    const y = 6 + i * rowH, w = Math.max(2, ((W - L - 120) * num(c[k])) / max);
    kids.push(svgEl("text", { x: L - 8, y: y + 19, "text-anchor": "end" }, label));
    kids.push(svgEl("rect", { x: L, y, width: w, height: rowH - 10, rx: 3, fill: "#2f6fd0", "data-step": k }));
    kids.push(svgEl("text", { x: L + w + 6, y: y + 19 }, String(num(c[k]))));
    if (rate) kids.push(svgEl("text", { x: W - 4, y: y + 19, "text-anchor": "end", class: "rate" }, pct(r[rate])));
  });
  desc.textContent = FUNNEL.map(([k, label, rate]) => `${label} ${num(c[k])}${rate ? ` (${pct(r[rate])})` : ""}`).join(", ");
  svg.replaceChildren(...kids);
  const row = (k, label, rate, side) => el("tr", { "data-step": k, class: side ? "side" : null },
    el("td", { text: label }), el("td", { class: "num", text: String(num(c[k])) }),
    el("td", { class: "num", text: rate ? pct(r[rate]) : "" }));
  $("funnel-rows").replaceChildren(...FUNNEL.map(([k, l, rt]) => row(k, l, rt, false)),
    ...FUNNEL_SIDE.map(([k, l, rt]) => row(k, l, rt, true)));
  renderFunnelDays(f.days);
}

function renderFunnelDays(days) {
  const svg = $("funnel-days-svg"), ns = "http://www.w3.org/2000/svg";
  const W = 600, H = 160, L = 30, B = 18, n = Math.max(1, days.length);
  let max = 1;
  for (const d of days) for (const [k] of FUNNEL_DAYS) max = Math.max(max, num(d.counts[k]));
  const x = (i) => L + ((i + 0.5) / n) * (W - L - 4);
  const y = (v) => H - B - (v / max) * (H - B - 8);
  const desc = document.createElementNS(ns, "desc");
  desc.id = "funnel-days-desc";
  const kids = [desc];
  const text = (tx, ty, s, anchor) => { const t = document.createElementNS(ns, "text");
    t.setAttribute("x", tx); t.setAttribute("y", ty); t.setAttribute("text-anchor", anchor); t.textContent = s; return t; };
  kids.push(text(L - 4, y(max) + 4, String(max), "end"), text(L - 4, y(0) + 4, "0", "end"));
  if (days.length) {
    kids.push(text(x(0), H - 4, days[0].date, "start"), text(x(days.length - 1), H - 4, days[days.length - 1].date, "end"));
  }
  const legend = [];
  for (const [k, color] of FUNNEL_DAYS) {
    const pl = document.createElementNS(ns, "polyline");
    pl.setAttribute("points", days.map((d, i) => `${x(i).toFixed(1)},${y(num(d.counts[k])).toFixed(1)}`).join(" "));
    pl.setAttribute("fill", "none"); pl.setAttribute("stroke", color); pl.setAttribute("stroke-width", "2");
    kids.push(pl);
    legend.push(el("li", {}, el("span", { class: "swatch", style: { background: color } }), k));
  }
  const busy = days.filter((d) => num(d.counts.sent) || num(d.counts.optIns) || num(d.counts.read));
  desc.textContent = busy.length
    ? busy.map((d) => `${d.date}: sent ${num(d.counts.sent)}, read ${num(d.counts.read)}, engaged ${num(d.counts.engaged)}`).join("; ")
    : `Nothing counted from ${days.length ? days[0].date : "?"} to ${days.length ? days[days.length - 1].date : "?"}.`;
  svg.replaceChildren(...kids);
  $("funnel-days-legend").replaceChildren(...legend);
}

// ---- the sandbox shopper ----------------------------------------------------------------

async function playShopper(action) {
  const page_id = $("s-page").value, psid = $("s-psid").value.trim();
  const body = { page_id, psid, text: $("s-text").value, payload: $("s-topic").value.trim() };
  const out = $("shopper-status");
  try {
    const r = await fetch("/_sim/" + action, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "same-origin" });
    const said = { message: "sent a message", notify_me: "tapped “Notify me”", read: "read the chat" }[action];
    out.textContent = r.ok ? `${psid} ${said}.` : `The simulator refused (${r.status}).`;
  } catch (e) { out.textContent = "The simulator did not answer: " + e.message; }
}

// ---- wiring -----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("f-type").append(...EVENT_TYPES.map((t) => el("option", { value: t, text: t })));
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("cancel").addEventListener("click", cancelDetail);
  $("detail-close").addEventListener("click", () => { state.detailId = null; $("detail").hidden = true; });
  $("topics-page").addEventListener("change", loadTopics);
  $("funnel-form").addEventListener("submit", submitFunnel);
  $("detail-funnel").addEventListener("click", () => { if (state.detailId) showFunnel({ notification: state.detailId }); });
  $("tail-filters").addEventListener("input", renderTail);
  $("tail-filters").addEventListener("submit", (e) => e.preventDefault());
  document.querySelectorAll("[data-sim]").forEach((b) => b.addEventListener("click", () => playShopper(b.dataset.sim)));
  setInterval(() => { if (!$("app").hidden) renderChart(); }, 1000);
  setInterval(() => { if (!$("app").hidden) { loadPages().catch(() => {}); loadNotifications().catch(() => {}); } }, 10000);
  start().catch(() => {});
});
