// Tandem dashboard: plain JS, no build step. Data is only ever inserted with textContent (never as HTML).
"use strict";
(function () {
  const KEY = "tandem.token";
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(KEY);
  let me = null;
  let stream = null;
  let cursor = null;
  const seen = new Set();

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c));
    return tr;
  }
  function td(text, cls) { return el("td", text, cls); }
  function dash(v) { return v === undefined || v === null || v === "" ? "—" : v; }

  async function api(path, opts) {
    const o = Object.assign({ headers: {} }, opts || {});
    o.headers["Authorization"] = "Bearer " + token;
    const r = await fetch(path, o);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401) { signOut("Your token was refused (" + (body && body.error || "401") + ")."); }
    return { status: r.status, body: body };
  }

  function showLogin(msg) {
    $("login").hidden = false;
    $("app").hidden = true;
    $("session").hidden = true;
    $("login-error").textContent = msg || "";
  }

  function signOut(msg) {
    sessionStorage.removeItem(KEY);
    token = null;
    me = null;
    if (stream) { stream.close(); stream = null; }
    showLogin(msg);
  }

  async function start() {
    if (!token) { showLogin(""); return; }
    const r = await api("/api/v1/whoami");
    if (r.status !== 200) { if (r.status !== 401) showLogin("Cannot sign in: " + (r.body && r.body.error || r.status)); return; }
    me = r.body;
    $("login").hidden = true;
    $("app").hidden = false;
    $("session").hidden = false;
    $("whoami").textContent = me.name + " (" + me.role + ")";
    $("title-node").textContent = me.node;
    document.title = "Tandem " + me.node;
    $("actions").hidden = me.role !== "admin";
    $("events").textContent = "";
    seen.clear();
    await loadEvents(null);
    connect();
  }

  function connect() {
    if (stream) stream.close();
    stream = new EventSource("/api/v1/stream?access_token=" + encodeURIComponent(token));
    stream.addEventListener("open", () => live(true));
    stream.addEventListener("status", (m) => { live(true); renderStatus(JSON.parse(m.data)); });
    stream.addEventListener("event", (m) => addEvent(JSON.parse(m.data), true));
    stream.addEventListener("error", () => {
      live(false);
      if (stream && stream.readyState === EventSource.CLOSED) {
        // refused (e.g. token revoked or too many clients): check the token, then retry
        stream = null;
        setTimeout(async () => { if (!token) return; const r = await api("/api/v1/whoami"); if (r.status === 200) connect(); }, 3000);
      }
    });
  }

  function live(on) {
    const l = $("live");
    l.className = "live " + (on ? "on" : "off");
    l.textContent = on ? "live" : "reconnecting…";
  }

  function renderStatus(s) {
    $("node-name").textContent = s.node;
    const st = $("state");
    st.textContent = s.state;
    st.className = "state state-" + s.state;
    $("role").textContent = dash(s.role);
    $("priority").textContent = dash(s.priority);
    $("effective-priority").textContent = dash(s.effective_priority);
    $("version").textContent = dash(s.version);
    $("intervals").textContent = s.intervals ? Object.entries(s.intervals).map(([k, v]) => k + " " + v).join(", ") : "—";
    const cs = s.config_sync;
    $("config-sync").textContent = cs === undefined ? "not reported yet"
      : typeof cs !== "object" ? String(cs)
      : cs.state === "OFF" ? "OFF"
      : cs.state + ", version " + cs.version + (cs.reason ? " (" + cs.reason + ")" : "");
    $("session-sync").textContent = s.session_sync !== undefined
      ? (typeof s.session_sync === "object" ? JSON.stringify(s.session_sync) : String(s.session_sync)) : "not reported yet";
    $("suspended-by").textContent = dash(s.suspended_by);
    $("flap-count").textContent = dash(s.flap_count);

    const mons = $("monitors");
    mons.textContent = "";
    for (const m of s.monitors || []) {
      mons.appendChild(row([td(m.monitor || m.name), td(m.effect), td(m.up ? "up" : "DOWN", m.up ? "up" : "down"), td(m.detail)]));
    }
    $("monitors-empty").hidden = (s.monitors || []).length > 0;

    const inst = $("instances");
    inst.textContent = "";
    for (const x of s.instances || []) {
      inst.appendChild(row([td(x.instance), td(x.vrid), td(x.role),
        td(x.master + (x.master_priority >= 0 ? " (" + x.master_priority + ")" : "")),
        td(x.adverts_sent + " / " + x.adverts_received), td(x.rejected)]));
    }

    const links = $("links");
    links.textContent = "";
    const peers = [];
    let notes = [];
    for (const line of s.channel || []) {
      let m = /^(\S+) link to (\S+) \(([^)]*)\): (.*)$/.exec(line);
      if (m) {
        const up = m[4].startsWith("connected");
        links.appendChild(row([td(m[1]), td(m[2] + " (" + m[3] + ")"), td(m[4], up ? "up" : "down")]));
        continue;
      }
      m = /^last hello from (\S+) at (\S+) on (\S+): (.*)$/.exec(line);
      if (m) {
        const p = { node: m[1], at: m[2], on: m[3] };
        for (const part of m[4].split(", ")) {
          const i = part.indexOf(" ");
          if (i > 0) p[part.slice(0, i)] = part.slice(i + 1);
        }
        peers.push(p);
        continue;
      }
      notes.push(line);
    }
    $("links-empty").hidden = notes.length === 0;
    $("links-empty").textContent = notes.join(" ");
    renderPeers(peers);
  }

  function renderPeers(peers) {
    const box = $("peers");
    box.textContent = "";
    for (const p of peers) {
      const card = el("article", null, "card node peer");
      const head = el("div", null, "node-head");
      head.appendChild(el("h2", p.node));
      head.appendChild(el("div", p.state || "?", "state state-" + (p.state || "")));
      card.appendChild(head);
      const dl = el("dl", null, "facts");
      const add = (k, v) => { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", dash(v))); };
      add("Role", p.role);
      add("Priority", p.priority);
      add("Version", p.version);
      add("Config", p.config);
      add("Sessions", p.sessions);
      add("Health", p.health);
      add("Last hello", p.at + " on " + p.on);
      card.appendChild(dl);
      box.appendChild(card);
    }
  }

  function addEvent(e, live) {
    // live events may not carry the store's id yet (0): recognise them by what they say
    const key = e.time_ms + "|" + e.node + "|" + e.kind + "|" + e.text;
    if (seen.has(key)) return;
    seen.add(key);
    const tr = row([td(new Date(e.time_ms).toLocaleString()), td(e.node), td(e.kind, "kind-" + e.kind), td(e.text), td(dash(e.actor))]);
    const body = $("events");
    if (live) body.insertBefore(tr, body.firstChild); else body.appendChild(tr);
    while (body.children.length > 1000) body.removeChild(body.lastChild);
  }

  async function loadEvents(c) {
    const r = await api("/api/v1/events?limit=50" + (c ? "&cursor=" + encodeURIComponent(c) : ""));
    if (r.status !== 200) return;
    for (const e of r.body.events) addEvent(e, false);
    cursor = r.body.next_cursor;
    $("older").hidden = !cursor;
  }

  async function act(button) {
    const action = button.dataset.action;
    const node = $("node-name").textContent;
    if (!window.confirm(button.textContent + " " + node + "? It will " + button.dataset.what + ".")) return;
    const reason = $("reason").value.trim();
    const out = $("action-result");
    out.className = "";
    out.textContent = button.textContent + "…";
    const r = await api("/api/v1/actions/" + action, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(reason ? { reason: reason } : {})
    });
    if (r.status === 200) {
      out.textContent = r.body.result;
      $("reason").value = "";
    } else {
      out.className = "error";
      out.textContent = button.textContent + " refused: " + (r.body && r.body.error || ("HTTP " + r.status));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      token = $("token").value.trim();
      $("token").value = "";
      if (!token) return;
      sessionStorage.setItem(KEY, token);
      start();
    });
    $("logout").addEventListener("click", () => signOut(""));
    $("older").addEventListener("click", () => loadEvents(cursor));
    for (const b of document.querySelectorAll("#actions button")) b.addEventListener("click", () => act(b));
    start();
  });
})();
