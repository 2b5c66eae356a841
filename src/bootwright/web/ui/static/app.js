// bootwright web UI: fills the server-rendered pages through the REST API (docs/ui.md, docs/api.md).
// Rules: data reaches the page through textContent only (never innerHTML); every write sends the
// session's CSRF token (X-CSRF-Token, from <meta name="csrf-token">) with the session cookie.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const CSRF = csrfMeta ? csrfMeta.content : null;

  // ------------------------------------------------------------------ helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function toast(text, bad) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.className = bad ? "bad" : "good";
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, bad ? 10000 : 4000);
  }

  class ApiError extends Error {
    constructor(status, body) {
      const problems = (body && body.problems) || [];
      const detail = problems.map((p) => (p.path ? p.path + ": " : "") + p.message).join("; ");
      super(((body && body.error) || "HTTP " + status) + (detail ? " — " + detail : ""));
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") {
      if (CSRF) headers["X-CSRF-Token"] = CSRF;
      if (body !== undefined) headers["Content-Type"] = "application/json";
    }
    const response = await fetch("/api" + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401) toast("Your session ended: log in again.", true);
      throw new ApiError(response.status, data);
    }
    return data;
  }

  async function act(what, fn) {
    try {
      const result = await fn();
      toast(what + ": done");
      return result;
    } catch (err) {
      toast(what + " failed: " + err.message, true);
      return undefined;
    }
  }

  function pad(n, width) { return String(n).padStart(width || 2, "0"); }

  function absolute(at) {
    const d = new Date(at * 1000);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function clock(at) {
    const d = new Date(at * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
      pad(d.getMilliseconds(), 3);
  }

  function relative(at) {
    const seconds = Math.round(at - Date.now() / 1000);
    const size = Math.abs(seconds);
    let text;
    if (size < 60) text = size + " s";
    else if (size < 3600) text = Math.round(size / 60) + " min";
    else if (size < 86400) text = (size / 3600).toFixed(1) + " h";
    else text = (size / 86400).toFixed(1) + " d";
    return seconds >= 0 ? "in " + text : text + " ago";
  }

  async function fillTargets() {
    const selects = document.querySelectorAll("select.targets");
    if (!selects.length) return;
    const data = await api("GET", "/targets");
    for (const select of selects) {
      clear(select);
      if (select.dataset.empty) select.append(el("option", { value: "" }, select.dataset.empty));
      for (const t of data.targets) {
        select.append(el("option", { value: t.name }, t.name + (t.label ? " — " + t.label : "") +
          (t.type === "menu" ? " (menu)" : "")));
      }
    }
  }

  // ------------------------------------------------------------------ hosts

  function hostText(h) {
    const boot = h.boot ? [h.boot.target, h.boot.state] : [];
    return [h.name, ...(h.mac || []), h.ipv4, h.ipv6, ...(h.groups || []), h.target, ...boot]
      .filter(Boolean).join(" ").toLowerCase();
  }

  async function hostsPage() {
    const body = document.querySelector("#hosts tbody");
    const search = document.getElementById("host-search");
    const count = document.getElementById("host-count");
    let hosts = [];

    function show() {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      const shown = hosts.filter((h) => words.every((w) => hostText(h).includes(w)));
      clear(body);
      for (const h of shown) {
        body.append(el("tr", { dataset: { host: h.name } },
          el("td", {}, el("a", { href: "/ui/hosts/" + encodeURIComponent(h.name) }, h.name)),
          el("td", { class: "mono" }, (h.mac || []).join(", ")),
          el("td", { class: "mono" }, h.ipv4 || ""),
          el("td", { class: "mono" }, h.ipv6 || ""),
          el("td", {}, (h.groups || []).join(", ")),
          el("td", {}, h.target || ""),
          el("td", {}, h.boot ? h.boot.target + ": " + h.boot.state : ""),
          el("td", {}, h.bmc ? h.bmc.driver : ""),
          el("td", { class: "muted" }, h.source)));
      }
      count.textContent = shown.length + " of " + hosts.length;
    }

    async function load() {
      hosts = (await api("GET", "/hosts")).hosts;
      show();
    }

    search.addEventListener("input", show);
    const form = document.getElementById("add-host");
    if (form) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = new FormData(form);
        const record = { name: f.get("name").trim() };
        if (f.get("mac").trim()) record.mac = [f.get("mac").trim()];
        if (f.get("ipv4").trim()) record.ipv4 = f.get("ipv4").trim();
        const groups = f.get("groups").split(",").map((g) => g.trim()).filter(Boolean);
        if (groups.length) record.groups = groups;
        if (f.get("target")) record.target = f.get("target");
        const added = await act("Add " + record.name, () => api("POST", "/hosts", record));
        if (added) {
          form.reset();
          await load();
        }
      });
    }
    await Promise.all([load(), fillTargets()]);
  }

  // ------------------------------------------------------------------ one host and its timeline

  function renderTimeline(box, data) {
    clear(box);
    if (!data.attempts.length) {
      box.append(el("p", { class: "muted" }, "No boot seen yet. Steps appear here as the machine boots."));
      return;
    }
    for (const attempt of data.attempts.slice().reverse()) {
      box.append(el("section", { class: "attempt " + attempt.status.replace(" ", "-") },
        el("h3", {}, absolute(attempt.started) + " · " + (attempt.mac || "?") + " · ",
          el("span", { class: "status" }, attempt.status)),
        el("p", { class: "stop" }, attempt.stop),
        el("ol", { class: "steps" }, attempt.steps.map((s) =>
          el("li", { class: s.problem ? "problem" : "" },
            el("time", {}, clock(s.at)), " ", el("span", { class: "text" }, s.text))))));
    }
  }

  async function hostPage() {
    const name = document.body.dataset.host;
    const macs = (document.body.dataset.macs || "").split(" ").filter(Boolean);
    const path = "/hosts/" + encodeURIComponent(name);
    const box = document.getElementById("timeline");
    const live = document.getElementById("live");
    const lastStep = document.getElementById("last-step");
    let pending = null;

    async function refresh() {
      pending = null;
      try {
        renderTimeline(box, await api("GET", path + "/timeline"));
      } catch (err) {
        clear(box);
        box.append(el("p", { class: "problem" }, err.message));
      }
    }

    function soon() {
      if (!pending) pending = setTimeout(refresh, 250);
    }

    async function refreshBoot() {
      const data = await api("GET", path + "/boot");
      const b = data.boot;
      document.getElementById("host-boot").textContent = b ? b.target + ": " + b.state : "—";
    }

    const query = new URLSearchParams();
    query.append("host", name);
    for (const mac of macs) query.append("mac", mac);
    const stream = new EventSource("/api/events/stream?" + query.toString());
    stream.addEventListener("open", () => { live.textContent = "live"; live.className = "badge on"; soon(); });
    stream.addEventListener("error", () => { live.textContent = "reconnecting…"; live.className = "badge off"; });
    stream.addEventListener("step", (ev) => {
      const step = JSON.parse(ev.data);
      lastStep.textContent = clock(step.at) + " " + step.text;
      soon();
      if (step.kind.startsWith("oneshot.")) refreshBoot();
    });
    stream.addEventListener("dropped", soon);

    const choice = document.getElementById("target-choice");
    const on = (id, fn) => { const b = document.getElementById(id); if (b) b.addEventListener("click", fn); };
    on("set-target", async () => {
      const host = await act("Target " + choice.value, () =>
        api("PUT", path + "/boot", { target: choice.value, once: false }));
      if (host) document.getElementById("host-target").textContent = host.target || "(rules / default)";
    });
    on("boot-once", async () => {
      await act("Boot " + choice.value + " once", () => api("PUT", path + "/boot", { target: choice.value, once: true }));
      await refreshBoot();
    });
    on("cancel-boot", async () => {
      await act("Cancel the one-shot boot", () => api("DELETE", path + "/boot"));
      await refreshBoot();
    });
    for (const button of document.querySelectorAll("button.power")) {
      button.addEventListener("click", () => {
        const action = button.dataset.action;
        if (action !== "on" && !confirm("Power " + action + " " + name + "?")) return;
        act("Power " + action, () => api("POST", path + "/power", { action }));
      });
    }
    on("reprovision", async () => {
      if (!confirm("Reprovision " + name + " with " + choice.value + "? It is power-cycled.")) return;
      await act("Reprovision", () => api("POST", path + "/reprovision", { target: choice.value }));
      await refreshBoot();
    });
    await Promise.all([refresh(), fillTargets()]);
  }

  // ------------------------------------------------------------------ leases

  async function leasesPage() {
    const updated = document.getElementById("leases-updated");
    async function load() {
      const [v4, v6, hosts] = await Promise.all([
        api("GET", "/leases?family=4"), api("GET", "/leases?family=6"), api("GET", "/hosts")]);
      const byMac = new Map();
      for (const h of hosts.hosts) for (const mac of h.mac || []) byMac.set(mac, h.name);
      for (const [id, data] of [["leases4", v4], ["leases6", v6]]) {
        const body = document.querySelector("#" + id + " tbody");
        clear(body);
        const leases = data.leases.slice().sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
        for (const l of leases) {
          const host = l.mac ? byMac.get(l.mac) : undefined;
          body.append(el("tr", {},
            el("td", { class: "mono" }, l.address),
            el("td", { class: "mono" }, id === "leases4" ? (l.mac || "") : l.client),
            el("td", {}, host ? el("a", { href: "/ui/hosts/" + encodeURIComponent(host) }, host) : ""),
            el("td", {}, l.hostname || ""),
            el("td", {}, l.state),
            el("td", { title: absolute(l.expires) }, relative(l.expires)),
            el("td", { class: "mono" }, absolute(l.expires))));
        }
        if (!leases.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "no leases")));
      }
      updated.textContent = "Last: " + absolute(Date.now() / 1000) + ".";
    }
    await load();
    setInterval(() => load().catch((err) => toast(err.message, true)), 10000);
  }

  // ------------------------------------------------------------------ events

  async function eventsPage() {
    const LIMIT = 200;
    const form = document.getElementById("event-filters");
    const body = document.querySelector("#events tbody");
    const count = document.getElementById("event-count");
    document.getElementById("event-limit").textContent = LIMIT;
    let lastId = 0;
    let shown = 0;
    let filters = {};

    function query(after) {
      const q = new URLSearchParams({ limit: String(LIMIT) });
      if (filters.host) q.append("host", filters.host);
      if (filters.mac) q.append("mac", filters.mac);
      if (after) q.append("after", String(after));
      return "/events?" + q.toString();
    }

    function row(e) {
      const detail = Object.entries(e.detail || {}).filter(([, v]) => v !== null)
        .map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ");
      return el("tr", {},
        el("td", { class: "muted" }, e.id),
        el("td", { class: "mono", title: absolute(e.at) }, absolute(e.at)),
        el("td", { class: "mono" }, e.kind),
        el("td", { class: "mono" }, e.mac || ""),
        el("td", {}, e.host ? el("a", { href: "/ui/hosts/" + encodeURIComponent(e.host) }, e.host) : ""),
        el("td", { class: "detail" }, detail));
    }

    async function load(more) {
      const data = await api("GET", query(more ? lastId : 0));
      if (!more) { clear(body); shown = 0; }
      const kind = filters.kind || "";
      const fresh = data.events.filter((e) => e.kind.startsWith(kind)).reverse();  // newest first
      const rows = fresh.map(row);
      body.prepend(...rows);
      shown += rows.length;
      if (data.events.length) lastId = data.last_id;
      count.textContent = (more ? fresh.length + " newer; " : "") + shown + " shown";
    }

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      filters = { host: f.get("host").trim(), mac: f.get("mac").trim().toLowerCase(), kind: f.get("kind").trim() };
      lastId = 0;
      load(false).catch((err) => toast(err.message, true));
    });
    document.getElementById("more-events").addEventListener("click", () =>
      load(true).catch((err) => toast(err.message, true)));
    await load(false);
  }

  // ------------------------------------------------------------------ config

  async function configPage() {
    const facts = document.getElementById("status-facts");
    const summary = document.getElementById("check-summary");
    const list = document.getElementById("check-problems");

    async function load() {
      const s = await api("GET", "/status");
      clear(facts);
      const rows = [["Version", s.version], ["Config file", s.config],
        ["Started", s.started ? absolute(s.started) + " (" + relative(s.started) + ")" : "—"],
        ["Reloads", String(s.reloads)],
        ["Last reload", s.last_reload_error ? "refused: " + s.last_reload_error : "ok"]];
      for (const [service, detail] of Object.entries(s.services)) rows.push([service, detail]);
      for (const [k, v] of rows) facts.append(el("dt", {}, k), el("dd", {}, v));
      clear(list);
      const c = s.check;
      const skipped = Object.entries(c.skipped);
      summary.textContent = (c.ok ? "Valid" : "Errors") + ": " + c.errors.length + " errors, " +
        c.warnings.length + " warnings, " + skipped.length + " hosts skipped.";
      summary.className = c.ok ? "good" : "problem";
      for (const p of c.errors) list.append(el("li", { class: "problem" }, "error: " + p.text));
      for (const p of c.warnings) list.append(el("li", { class: "warning" }, "warning: " + p.text));
      for (const [name, problems] of skipped) {
        list.append(el("li", { class: "warning" }, "host " + name + " skipped: " +
          problems.map((p) => p.message).join("; ")));
      }
    }

    const button = document.getElementById("reload");
    if (button) {
      button.addEventListener("click", async () => {
        const out = document.getElementById("reload-result");
        clear(out);
        button.disabled = true;
        try {
          const r = await api("POST", "/reload");
          out.append(el("p", { class: "good", id: "reload-ok" }, "Reloaded."));
          for (const w of r.warnings) out.append(el("p", { class: "warning" }, w));
        } catch (err) {
          out.append(el("p", { class: "problem", id: "reload-refused" }, "Refused: " + err.message));
        } finally {
          button.disabled = false;
        }
        await load();
      });
    }
    await load();
  }

  const pages = { hosts: hostsPage, leases: leasesPage, events: eventsPage, config: configPage };
  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    const run = document.body.dataset.host ? hostPage : pages[page];
    if (run) run().catch((err) => toast(err.message, true));
  });
})();
