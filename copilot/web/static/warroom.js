// Responder Copilot war-room page. Plain JavaScript, no build step.
//
// Every piece of data comes from this server's /v1 API, sent with the API key saved in this
// browser (Authorization: Bearer). Text is written with textContent. The one exception is
// markdown, which the server renders and sanitises (markdown-it-py, then nh3) and sends in
// `html` fields: only `sanitizedHtml` below turns those into nodes, so a runbook or a timeline
// note cannot inject a script or an event handler (and the page's CSP would refuse them).
"use strict";

(() => {
  const KEY = "copilot.apiKey";
  const NAME = "copilot.name";
  const SHOW_COPILOT = "copilot.showCopilotEntries";
  const REFRESH_MS = 20000;
  let serverOffsetMs = 0; // server clock minus browser clock, from the Date header

  // -- small helpers ---------------------------------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const now = () => Date.now() + serverOffsetMs;

  // Nodes from HTML the server rendered from markdown and sanitised (an `html` field of
  // /v1/documents, /v1/passages, /v1/incidents/{id}/timeline or /v1/render). DOMParser builds
  // an inert document: nothing in it runs, and the nodes are moved over as they are.
  function sanitizedHtml(node, html) {
    const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    node.replaceChildren(...parsed.body.childNodes);
    return node;
  }

  function fmtTime(iso, withDate = true) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const text = d.toISOString();
    return withDate ? `${text.slice(0, 10)} ${text.slice(11, 16)}` : text.slice(11, 16);
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.round(Math.abs(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
    if (m) return `${m} min ${String(sec).padStart(2, "0")} s`;
    return `${sec} s`;
  }

  function fmtClock(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }

  function say(target, text, kind = "") {
    const node = typeof target === "string" ? $(target) : target;
    if (!node) return;
    node.textContent = text;
    node.dataset.kind = kind;
  }

  function showError(message) {
    const box = $("#alert");
    box.replaceChildren(el("span", {}, message), " ",
      el("button", { type: "button", class: "link", onclick: () => { box.hidden = true; } }, "Dismiss"));
    box.hidden = false;
  }

  function clearError() {
    $("#alert").hidden = true;
  }

  // A step's citation: the runbook section it comes from, and its lines.
  function citationLink(c) {
    return sourceLink(c.source, c.lines, `${c.title} › ${c.section} (lines ${c.lines[0]}–${c.lines[1]})`);
  }

  // "Source: " and each of a step's citations, or null when it has none.
  function stepSources(step) {
    if (!step.citations || !step.citations.length) return null;
    const cites = el("p", { class: "cites" }, "Source: ");
    step.citations.forEach((c, i) => {
      if (i) cites.append("; ");
      cites.append(citationLink(c));
    });
    return cites;
  }

  function fact(dl, term, value) {
    dl.append(el("dt", {}, term), el("dd", {}, value === null || value === undefined || value === "" ? "–" : value));
  }

  function sourceLink(source, lines, label) {
    const range = lines ? `?lines=${lines[0]}-${lines[1]}` : "";
    return el("a", {
      href: `/runbooks/${source.split("/").map(encodeURIComponent).join("/")}${range}`,
      target: "_blank",
      rel: "noopener",
    }, label);
  }

  // -- the API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function describe(data) {
    if (!data || data.detail === undefined) return "";
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) {
      return data.detail.map((d) => `${d.field ? `${d.field}: ` : ""}${d.message || d.msg || ""}`).join("; ");
    }
    return JSON.stringify(data.detail);
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const key = localStorage.getItem(KEY);
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (error) {
      throw new ApiError(0, `The copilot server cannot be reached (${error.message}).`);
    }
    noteKeyAnswer(response.status, Boolean(key));
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) serverOffsetMs = date - Date.now();
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!response.ok) {
      const message = describe(data) || `${response.status} ${response.statusText}`;
      if (response.status === 401) askForKey(message);
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // -- API key and name ------------------------------------------------------------------------

  // What the API last said about keys: "open" (answered with no key), "accepted" (answered
  // with the saved key), "refused" (401), or "" before any answer. The pop-over says the same.
  let keyAnswer = "";

  function noteKeyAnswer(status, sentKey) {
    const before = keyAnswer;
    if (status === 401) keyAnswer = "refused";
    else if (status < 400 || [403, 404, 409, 422].includes(status)) {
      keyAnswer = sentKey ? "accepted" : "open";
    }
    if (keyAnswer !== before) document.dispatchEvent(new Event("copilot:keystate"));
  }

  function askForKey(message) {
    const details = $("#settings");
    details.open = true;
    showError(`This server needs an API key: ${message}. Paste your key under "API key" and press Save.`);
    $("#api-key").focus();
  }

  function initSettings() {
    const form = $("#key-form");
    const state = $("#key-state");
    const keyInput = $("#api-key");
    const nameInput = $("#my-name");
    nameInput.value = localStorage.getItem(NAME) || "";
    const describeKey = () => {
      const saved = Boolean(localStorage.getItem(KEY));
      if (keyAnswer === "refused") {
        say(state, saved ? "The saved key was refused: save another one."
          : "This server needs an API key: none is saved in this browser.", "error");
      } else if (keyAnswer === "open" && !saved) {
        say(state, "No key needed: this server's API answered without one.");
      } else if (keyAnswer === "accepted" || (keyAnswer === "open" && saved)) {
        say(state, "A key is saved in this browser and the server accepts it.");
      } else {
        say(state, saved ? "A key is saved in this browser." : "No key saved in this browser.");
      }
    };
    describeKey();
    document.addEventListener("copilot:keystate", describeKey);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = keyInput.value.trim();
      if (key) localStorage.setItem(KEY, key);
      const name = nameInput.value.trim();
      if (name) localStorage.setItem(NAME, name); else localStorage.removeItem(NAME);
      keyInput.value = "";
      keyAnswer = "";
      describeKey();
      clearError();
      document.dispatchEvent(new Event("copilot:key"));
    });
    $("#forget-key").addEventListener("click", () => {
      localStorage.removeItem(KEY);
      keyAnswer = "";
      describeKey();
    });
  }

  const author = () => localStorage.getItem(NAME) || undefined;

  // Run `fn` on submit with the button disabled meanwhile; errors go to `stateNode`.
  function onSubmit(form, stateNode, fn) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const buttons = form.querySelectorAll("button");
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await fn(event);
      } catch (error) {
        say(stateNode, error.message, "error");
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  // Ctrl+Enter (or Cmd+Enter) in a textarea submits its form.
  function submitOnCtrlEnter(textarea) {
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        textarea.form.requestSubmit();
      }
    });
  }

  // -- answers (ask) ---------------------------------------------------------------------------

  // The most steps an answer lists on request (AskRequest.max_steps).
  const MAX_STEPS = 50;

  // `showAll(n)`, when given, asks again for up to n steps: the answer lists the cap's worth.
  function renderAnswer(container, data, showAll) {
    container.replaceChildren();
    if (data.abstained) {
      container.append(el("p", { class: "notice" }, data.answer));
      return;
    }
    // Shown as text at once; the server then renders their markdown (inline code, bold, links).
    const lines = [[el("p", { class: "answer-text" }, data.answer), data.answer]];
    container.append(lines[0][0]);
    const actions = (data.steps || []).filter((step) => !step.caution);
    const cautions = (data.steps || []).filter((step) => step.caution);
    if (actions.length) {
      const list = el("ol", { class: "steps" });
      for (const step of actions) {
        const item = el("li", { class: step.requires_approval ? "step approval" : "step" });
        if (step.requires_approval) {
          item.append(el("strong", { class: "badge danger" }, "Requires approval"), " ");
        }
        const text = el("span", {}, step.text);
        // Its links resolve against the runbook it cites ("[pod debug](helpers/podDebug.md)").
        const cited = step.citations && step.citations.length ? step.citations[0].source : null;
        lines.push([text, step.text, cited]);
        item.append(text);
        if (step.command) item.append(el("pre", { class: "command" }, el("code", {}, step.command)));
        const sources = stepSources(step);
        if (sources) item.append(sources);
        list.append(item);
      }
      container.append(el("h3", {}, "Next steps"), list);
      if (data.more_steps && showAll) {
        const wanted = Math.min(MAX_STEPS, actions.length + data.more_steps);
        const more = el("button", { type: "button", class: "more-steps" },
          `Show all ${wanted} steps (${data.more_steps} more)`);
        more.addEventListener("click", async () => {
          more.disabled = true;
          more.textContent = "Asking…";
          try {
            await showAll(wanted);
          } catch (error) {
            more.disabled = false;
            more.textContent = `Show all ${wanted} steps: ${error.message}`;
          }
        });
        container.append(el("p", {}, more));
      }
    }
    // What the runbook says not to do: read beside the steps, never a step to take.
    if (cautions.length) {
      const list = el("ul", { class: "cautions" });
      for (const step of cautions) {
        const text = el("span", {}, step.text);
        const cited = step.citations && step.citations.length ? step.citations[0].source : null;
        lines.push([text, step.text, cited]);
        const item = el("li", { class: "caution" }, el("strong", { class: "badge caution" }, "Caution"), " ", text);
        const sources = stepSources(step);
        if (sources) item.append(sources);
        list.append(item);
      }
      container.append(el("h3", {}, "Caution: the runbook says not to"), list);
    }
    // Each step left out, with the timeline entry that did it: a responder can see why.
    if (data.done && data.done.length) {
      const list = el("ul", { class: "done-steps" });
      for (const d of data.done) {
        const text = el("span", {}, d.text);
        lines.push([text, d.text]);
        list.append(el("li", {}, text, d.done_by ? el("span", { class: "hint" }, ` — done: ${d.done_by}`) : ""));
      }
      container.append(el("h3", {}, "Already done (left out)"), list);
    }
    if (data.similar_incidents && data.similar_incidents.length) {
      const list = el("ul", { class: "similar" });
      for (const s of data.similar_incidents) {
        // Sentences from the postmortem: their markdown (`code`, **bold**) is rendered too.
        const happened = el("span", {}, s.what_happened);
        const fixed = el("span", {}, s.what_fixed_it);
        lines.push([happened, s.what_happened, s.source], [fixed, s.what_fixed_it, s.source]);
        list.append(el("li", {},
          sourceLink(s.source, s.lines, s.title),
          el("p", {}, el("strong", {}, "What happened: "), happened),
          el("p", {}, el("strong", {}, "What fixed it: "), fixed)));
      }
      container.append(el("h3", {}, "Similar past incidents"), list);
    }
    const g = data.guardrails || {};
    const notes = [`confidence ${Number(data.confidence || 0).toFixed(2)}`, `composer: ${data.provider || "extractive"}`];
    if (g.redactions) notes.push(`${g.redactions} redacted from the question`);
    if (g.injection_suspected && g.injection_suspected.length) {
      notes.push(`instructions aimed at an AI ignored in ${g.injection_suspected.join(", ")}`);
    }
    if (g.blocked && g.blocked.length) notes.push(`${g.blocked.length} unsupported item(s) removed`);
    if (data.fallback) notes.push(`fallback: ${data.fallback}`);
    container.append(el("p", { class: "hint" }, notes.join(" · ")));
    renderInline(lines);
  }

  // [node, markdown] pairs: each node gets its line as sanitised HTML from /v1/render, or keeps
  // its plain text when that cannot be had (a key without the `respond` scope).
  async function renderInline(lines) {
    try {
      const shown = await api("POST", "/v1/render", {
        inline: lines.map(([, text]) => text),
        inline_sources: lines.map(([, , source]) => source || null),
      });
      lines.forEach(([node], i) => {
        if (typeof shown.inline[i] === "string") sanitizedHtml(node, shown.inline[i]);
      });
    } catch {
      // The plain text stays: still readable.
    }
  }

  function initAsk(incidentId) {
    const form = $("#ask-form");
    if (!form) return;
    const result = $("#ask-result");
    const question = $("#ask-question");
    submitOnCtrlEnter(question);
    onSubmit(form, result, async () => {
      result.replaceChildren(el("p", { class: "state" }, "Asking…"));
      const body = { question: question.value };
      if (incidentId) body.incident_id = incidentId;
      // Each ask is on the incident's timeline: the page shows it, the second one too.
      const asked = () => { if (incidentId) document.dispatchEvent(new Event("copilot:changed")); };
      const showAll = async (wanted) => {
        renderAnswer(result, await api("POST", "/v1/ask", { ...body, max_steps: wanted }));
        asked();
      };
      renderAnswer(result, await api("POST", "/v1/ask", body), showAll);
      asked();
    });
  }

  // A status draft's checks: what they took out, and why a model's draft was not used.
  function renderFindings(listNode, guardrails) {
    listNode.replaceChildren();
    const g = guardrails || {};
    const finding = (f) => `${f.action} ${f.kind} “${f.text}”${f.replacement ? ` → ${f.replacement}` : ""} (${f.check} check)`;
    for (const f of g.removed || []) listNode.append(el("li", {}, finding(f)));
    if (g.fallback) listNode.append(el("li", {}, `Template draft shown: ${g.fallback}`));
    for (const f of g.model_rejected || []) listNode.append(el("li", {}, `model draft: ${finding(f)}`));
    if (g.checks && g.checks.length) {
      listNode.append(el("li", { class: "hint" }, `Checked for: ${g.checks.join(", ")}`));
    }
  }

  function renderGuardrails(listNode, guardrails) {
    listNode.replaceChildren();
    for (const [name, value] of Object.entries(guardrails || {})) {
      if (value === null || value === undefined || value === 0 || value === false) continue;
      if (Array.isArray(value) && !value.length) continue;
      if (typeof value === "object" && !Array.isArray(value) && !Object.keys(value).length) continue;
      const shown = Array.isArray(value)
        ? value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join("; ")
        : (typeof value === "object" ? JSON.stringify(value) : String(value));
      listNode.append(el("li", {}, el("strong", {}, `${name.replace(/_/g, " ")}: `), shown));
    }
  }

  // -- incident list ---------------------------------------------------------------------------

  function incidentRow(inc) {
    let next = "–";
    let nextClass = "";
    if (inc.next_update_due) {
      next = fmtTime(inc.next_update_due);
      if (inc.update_overdue) { next = `overdue since ${fmtTime(inc.next_update_due, false)}`; nextClass = "overdue"; }
    }
    return el("tr", {},
      el("th", { scope: "row" }, el("a", { href: `/incidents/${encodeURIComponent(inc.id)}` }, inc.id)),
      el("td", {}, el("span", { class: `badge sev sev-${inc.severity.toLowerCase()}` }, inc.severity)),
      el("td", {}, el("span", { class: `badge status st-${inc.status}` }, inc.status)),
      el("td", {}, inc.title),
      el("td", {}, fmtTime(inc.declared_at)),
      el("td", { class: nextClass }, next));
  }

  async function loadIncidents() {
    const params = new URLSearchParams(location.search);
    const query = new URLSearchParams();
    for (const name of ["status", "severity"]) {
      const value = params.get(name);
      if (value) query.set(name, value);
    }
    const state = $("#list-state");
    try {
      const data = await api("GET", `/v1/incidents${query.toString() ? `?${query}` : ""}`);
      const body = $("#incidents tbody");
      body.replaceChildren(...data.incidents.map(incidentRow));
      const filtered = query.toString() ? " matching the filter" : "";
      say(state, data.incidents.length
        ? `${data.incidents.length} incident${data.incidents.length === 1 ? "" : "s"}${filtered}, newest first.`
        : `No incidents${filtered}.`);
    } catch (error) {
      say(state, error.message, "error");
    }
  }

  function initIncidents() {
    loadIncidents();
    setInterval(() => { if (!document.hidden) loadIncidents(); }, REFRESH_MS);
    document.addEventListener("copilot:key", loadIncidents);
    const severity = $("#d-severity");
    const explain = () => {
      const option = severity.selectedOptions[0];
      say("#d-severity-def", option
        ? `${option.dataset.definition} Status updates every ${option.dataset.cadence} min.` : "");
    };
    severity.addEventListener("change", explain);
    explain();
    const form = $("#declare-form");
    onSubmit(form, $("#declare-state"), async () => {
      const services = $("#d-services").value.split(",").map((s) => s.trim()).filter(Boolean);
      const body = {
        title: $("#d-title").value,
        severity: severity.value,
        services,
        customer_impact: $("#d-impact").value,
        author: author(),
      };
      const commander = $("#d-commander").value.trim();
      if (commander) body.roles = { incident_commander: commander };
      const incident = await api("POST", "/v1/incidents", body);
      say("#declare-state", `Declared ${incident.id}.`);
      location.assign(`/incidents/${encodeURIComponent(incident.id)}`);
    });
  }

  // -- one incident ----------------------------------------------------------------------------

  const ROLE_NAMES = {
    incident_commander: "Incident commander",
    escalation_lead: "Escalation lead",
    scribe: "Scribe",
    customer_liaison: "Customer liaison",
  };

  function renderIncident(inc) {
    document.title = `${inc.id} ${inc.title} · Responder Copilot`;
    say("#inc-title", inc.title);
    const sev = $("#inc-severity");
    sev.className = `badge sev sev-${inc.severity.toLowerCase()}`;
    say(sev, `${inc.severity} · ${inc.severity_name}`);
    const st = $("#inc-status");
    st.className = `badge status st-${inc.status}`;
    say(st, inc.status);
    say("#inc-services", inc.services.length ? `Services: ${inc.services.join(", ")}` : "");
    // Services the catalog does not know were kept as declared; say so, with close matches.
    const warnings = inc.warnings || [];
    const warned = $("#inc-warnings");
    warned.hidden = !warnings.length;
    say(warned, warnings.map((w) => w.message).join(" "));

    const statusSelect = $("#c-status");
    const chosen = statusSelect.value;
    statusSelect.replaceChildren(...inc.allowed_transitions.map((s) => el("option", { value: s }, s)));
    if (inc.allowed_transitions.includes(chosen)) statusSelect.value = chosen;
    statusSelect.disabled = !inc.allowed_transitions.length;
    if (!$("#severity-form").contains(document.activeElement)) $("#c-severity").value = inc.severity;

    const roles = $("#roles");
    roles.replaceChildren();
    for (const [key, label] of Object.entries(ROLE_NAMES)) fact(roles, label, inc.roles[key]);
    fact(roles, "Responders", inc.roles.responders.join(", "));

    const summary = $("#summary");
    summary.replaceChildren();
    fact(summary, "Customer impact", inc.customer_impact);
    fact(summary, "Summary", inc.summary);
    fact(summary, "Impact started", fmtTime(inc.started_at));
    fact(summary, "Detected", fmtTime(inc.detected_at));
    fact(summary, "Declared", fmtTime(inc.declared_at));
    if (inc.mitigated_at) fact(summary, "Mitigated", fmtTime(inc.mitigated_at));
    if (inc.resolved_at) fact(summary, "Resolved", fmtTime(inc.resolved_at));
    fact(summary, "Last status update", fmtTime(inc.last_status_update_at));

    for (const [input, value] of [["#t-started", inc.started_at], ["#t-detected", inc.detected_at]]) {
      const node = $(input);
      if (!$("#times-form").contains(document.activeElement)) node.value = toUtcInput(value);
    }
  }

  // <input type="datetime-local"> holds no zone: on this page it is always UTC.
  function utcInput(input) {
    return input && input.value ? `${input.value.length === 16 ? `${input.value}:00` : input.value}Z` : undefined;
  }

  function toUtcInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 16);
  }

  // The copilot's own audit notes list their sources at length: fold that part away. What
  // people wrote (notes, published updates) is markdown, rendered by the server.
  function eventText(e, audit) {
    if (!audit && typeof e.html === "string") {
      return sanitizedHtml(el("div", { class: "text md" }), e.html);
    }
    const cut = audit ? e.text.indexOf(" — sources: ") : -1;
    if (cut < 0) return el("span", { class: "text" }, e.text);
    return el("span", { class: "text" }, e.text.slice(0, cut), " ",
      el("details", { class: "sources" }, el("summary", {}, "sources"), e.text.slice(cut + 12)));
  }

  function renderTimeline(events) {
    const list = $("#timeline");
    const asked = events.filter((e) => e.data && e.data.audit).length;
    const toggle = $("#show-copilot");
    $("#copilot-count").textContent = String(asked);
    toggle.closest(".toggle").hidden = !asked;
    list.classList.toggle("hide-copilot", !toggle.checked);
    let day = "";
    list.replaceChildren(...events.map((e) => {
      const audit = e.data && e.data.audit;
      const classes = ["event", `k-${e.kind}`];
      if (audit) classes.push("copilot");
      if (e.corrected_by && e.corrected_by.length) classes.push("corrected");
      const kind = audit ? "copilot" : e.kind.replace(/_/g, " ");
      // The date only where it changes: most incidents fit in a day.
      const stamp = fmtTime(e.at);
      const shown = stamp.slice(0, 10) === day ? stamp.slice(11) : stamp;
      day = stamp.slice(0, 10);
      const body = el("div", { class: "body" },
        e.data && e.data.audience ? el("span", { class: "badge" }, e.data.audience) : null,
        e.data && e.data.audience ? " " : null,
        eventText(e, audit),
        e.author && !audit ? el("span", { class: "author" }, `— ${e.author}`) : null);
      if (e.corrected_by && e.corrected_by.length) {
        body.append(el("span", { class: "hint" }, ` (corrected by event ${e.corrected_by.join(", ")})`));
      }
      return el("li", { class: classes.join(" "), id: `event-${e.id}` },
        el("time", { datetime: e.at, title: `${stamp} UTC` }, shown),
        el("span", { class: "kind" }, kind),
        body);
    }));
  }

  function renderMetrics(m) {
    const dl = $("#metrics");
    dl.replaceChildren();
    fact(dl, "Time to detect", fmtDuration(m.time_to_detect_s));
    fact(dl, "Time to declare", fmtDuration(m.time_to_declare_s));
    fact(dl, "Time to mitigate", fmtDuration(m.time_to_mitigate_s));
    fact(dl, "Time to resolve", fmtDuration(m.time_to_resolve_s));
    const impact = m.impact || {};
    fact(dl, "Customer impact", impact.duration_s === null || impact.duration_s === undefined
      ? "–" : `${fmtDuration(impact.duration_s)}${impact.ongoing ? " and counting" : ""}`);
    const c = m.update_cadence || {};
    fact(dl, "Status updates", `${c.updates_published || 0} published, every ${c.cadence_minutes} min due`);
    fact(dl, "Cadence compliance", c.compliance === null || c.compliance === undefined
      ? "–" : `${Math.round(c.compliance * 100)}% (${c.breaches} missed)`);
    for (const [name, t] of Object.entries(m.targets || {})) {
      const value = t.met === null
        ? `target ${fmtDuration(t.target_s)} · running`
        : `${fmtDuration(t.actual_s)} (target ${fmtDuration(t.target_s)}) · ${t.met ? "met" : "missed"}`;
      fact(dl, `Target: ${name.replace(/_/g, " ")}`, value);
    }
  }

  function startClock(getIncident) {
    const value = $("#clock-value");
    const detail = $("#clock-detail");
    const box = $("#clock");
    let wasOverdue = null;
    const tick = () => {
      const inc = getIncident();
      if (!inc) return;
      if (!inc.next_update_due) {
        box.classList.remove("overdue");
        say(value, "none due");
        say(detail, `The incident is ${inc.status}.`);
        return;
      }
      const left = Date.parse(inc.next_update_due) - now();
      const overdue = left < 0;
      box.classList.toggle("overdue", overdue);
      say(value, overdue ? `overdue ${fmtClock(left)}` : `due in ${fmtClock(left)}`);
      say(detail, `Next update by ${fmtTime(inc.next_update_due, false)} UTC · every ${inc.update_cadence_minutes} min`);
      if (wasOverdue === false && overdue) showError(`${inc.id}: a status update is overdue.`);
      wasOverdue = overdue;
    };
    tick();
    setInterval(tick, 1000);
    return tick;
  }

  function initIncident() {
    const id = document.body.dataset.incident;
    const base = `/v1/incidents/${encodeURIComponent(id)}`;
    let incident = null;
    let tick = () => {};
    const showBlast = initBlastRadius(base);

    async function refresh() {
      try {
        const [inc, events, metrics] = await Promise.all([
          api("GET", base), api("GET", `${base}/timeline`), api("GET", `${base}/metrics`)]);
        incident = inc;
        renderIncident(inc);
        showAlerts(inc);
        showBlast(inc.services);
        renderTimeline(events.events);
        showFound(true);
        renderMetrics(metrics);
        tick();
      } catch (error) {
        if (error.status === 404) {
          showFound(false);
          return;
        }
        showError(error.message);
      }
    }

    // The alerts declared as or attached to this incident; when every one has resolved, say so
    // (the copilot never resolves the incident for it: people validate recovery and decide).
    async function showAlerts(inc) {
      const node = $("#inc-alerts");
      try {
        const linked = await api("GET", `${base}/alerts`);
        node.hidden = !linked.alerts;
        node.className = linked.all_resolved ? "notice" : "hint";
        if (!linked.alerts) {
          say(node, "");
        } else if (linked.all_resolved) {
          const open = OPEN_STATUSES.includes(inc.status);
          say(node, `Every alert of this incident has resolved (${linked.alerts} of ${linked.alerts}` +
            `${linked.last_resolved_at ? `, the last at ${fmtTime(linked.last_resolved_at)} UTC` : ""}).` +
            (open ? " The incident stays open until someone resolves it: validate recovery first." : ""));
        } else {
          say(node, `Linked alerts: ${linked.firing} firing, ${linked.resolved} resolved.`);
        }
      } catch {
        node.hidden = true; // an aid: the rest of the page stands without it
      }
    }

    // A missing incident: say so, and offer none of the forms that would act on it.
    function showFound(found) {
      for (const node of document.querySelectorAll(".incident-head .badges, #clock, .jump, .layout")) {
        node.hidden = !found;
      }
      $("#not-found").hidden = found;
      if (!found) {
        say("#inc-title", "not found");
        incident = null;
      }
    }

    const showCopilot = $("#show-copilot");
    showCopilot.checked = localStorage.getItem(SHOW_COPILOT) === "yes";
    showCopilot.addEventListener("change", () => {
      localStorage.setItem(SHOW_COPILOT, showCopilot.checked ? "yes" : "no");
      $("#timeline").classList.toggle("hide-copilot", !showCopilot.checked);
    });

    tick = startClock(() => incident);
    refresh();
    setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
    document.addEventListener("copilot:key", refresh);
    document.addEventListener("copilot:changed", refresh);

    const eventText = $("#e-text");
    onSubmit($("#event-form"), $("#event-state"), async () => {
      const event = await api("POST", `${base}/events`, {
        kind: $("#e-kind").value, text: eventText.value, author: author(),
      });
      eventText.value = "";
      say("#event-state", `Added ${event.kind} at ${fmtTime(event.at, false)} UTC.`);
      await refresh();
      eventText.focus();
    });

    const patch = async (body, done) => {
      await api("PATCH", base, { ...body, author: author() });
      say("#change-state", done);
      await refresh();
    };
    onSubmit($("#status-form"), $("#change-state"), async () => {
      const reason = $("#c-status-reason").value.trim();
      const status = $("#c-status").value;
      const at = utcInput($("#c-status-at"));
      const when = at ? ` (at ${fmtTime(at)} UTC)` : "";
      await patch({ status, reason: reason || undefined, at }, `Status is now ${status}${when}.`);
      $("#c-status-reason").value = "";
      $("#c-status-at").value = "";
    });
    onSubmit($("#times-form"), $("#times-state"), async () => {
      const body = {};
      for (const [field, input] of [["started_at", "#t-started"], ["detected_at", "#t-detected"]]) {
        const value = utcInput($(input));
        if (value) body[field] = value;
      }
      if (!Object.keys(body).length) {
        say("#times-state", "Enter a time first.", "error");
        return;
      }
      const reason = $("#t-reason").value.trim();
      await api("PATCH", base, { ...body, reason: reason || undefined, author: author() });
      $("#t-reason").value = "";
      say("#times-state", "Times saved.");
      await refresh();
    });
    onSubmit($("#severity-form"), $("#change-state"), async () => {
      const reason = $("#c-severity-reason").value.trim();
      const severity = $("#c-severity").value;
      await patch({ severity, reason: reason || undefined }, `Severity is now ${severity}.`);
      $("#c-severity-reason").value = "";
    });
    onSubmit($("#role-form"), $("#role-state"), async () => {
      const role = $("#r-role").value;
      const person = $("#r-person").value.trim();
      const roles = role === "add_responders" ? { add_responders: [person] } : { [role]: person };
      await api("PATCH", base, { roles, author: author() });
      $("#r-person").value = "";
      say("#role-state", `${person} assigned.`);
      await refresh();
    });

    initAsk(id);
    initStatusUpdates(base);
    initPostmortem(base, id);
  }

  // -- status page component picker (public updates) ---------------------------------------------

  const STATUS_LABEL = (s) => s.replace(/_/g, " ");

  // The picker's components come from the public Statuspage-style API (no key needed): groups
  // as fieldsets, each component a select of "unchanged" or a status.
  async function loadPagePicker() {
    const box = $("#u-components");
    const statuses = (document.body.dataset.componentStatuses || "").split(" ").filter(Boolean);
    say("#u-components-state", "Loading the status page's components…");
    let data;
    try {
      // no-cache: the public answer may be cached for 30 s, and the picker shows what is current.
      const response = await fetch("/status/api/v2/components.json", { headers: { Accept: "application/json" }, cache: "no-cache" });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      data = await response.json();
    } catch (error) {
      box.replaceChildren();
      say("#u-components-state", `The status page's components cannot be read (${error.message}): this update will change none.`, "error");
      return;
    }
    const byId = new Map(data.components.map((c) => [c.id, c]));
    const picker = (c) => {
      const id = `u-comp-${c.id}`;
      return el("div", { class: "field comp" },
        el("label", { for: id }, c.name, " ", el("span", { class: "hint" }, `(now ${STATUS_LABEL(c.status)})`)),
        el("select", { id, "data-component": c.id },
          el("option", { value: "" }, "unchanged"),
          ...statuses.map((s) => el("option", { value: s }, STATUS_LABEL(s)))));
    };
    const nodes = [];
    for (const c of data.components) {
      if (c.group) {
        const children = (c.components || []).map((cid) => byId.get(cid)).filter(Boolean);
        nodes.push(el("fieldset", { class: "comp-group" }, el("legend", {}, c.name), ...children.map(picker)));
      } else if (!c.group_id) {
        nodes.push(picker(c));
      }
    }
    box.replaceChildren(...nodes);
    say("#u-components-state", nodes.length ? "" : "The status page has no components.");
  }

  // What the picker sets: {components?: {id: status}, impact?}.
  function pageChoices() {
    const out = {};
    const components = {};
    for (const select of document.querySelectorAll("#u-components select")) {
      if (select.value) components[select.dataset.component] = select.value;
    }
    if (Object.keys(components).length) out.components = components;
    const impact = $("#u-impact");
    if (impact && impact.value) out.impact = impact.value;
    const status = $("#u-status");
    if (status && status.value) out.status = status.value;
    return out;
  }

  function initStatusUpdates(base) {
    const form = $("#draft-form");
    if (!form) return;
    const box = $("#draft");
    const title = $("#u-title");
    const body = $("#u-body");
    const publish = $("#u-publish");
    let draft = null;
    onSubmit(form, $("#draft-state"), async () => {
      say("#draft-state", "Drafting…");
      draft = await api("POST", `${base}/status-updates`, { audience: $("#u-audience").value });
      title.value = draft.title || "";
      body.value = draft.body || "";
      const meta = [`${draft.audience} update`, draft.status ? `status: ${draft.status}` : null,
        draft.next_update_by ? `next update by ${fmtTime(draft.next_update_by, false)} UTC` : null];
      say("#u-meta", meta.filter(Boolean).join(" · "));
      renderFindings($("#u-guardrails"), draft.guardrails);
      const pagePicker = $("#u-page");
      if (pagePicker) {
        pagePicker.hidden = draft.audience !== "public";
        if (draft.audience === "public") {
          say("#u-phase", `Follows the incident (${draft.status || "–"})`);
          $("#u-status").value = "";
          $("#u-impact").value = "";
          await loadPagePicker();
        }
      }
      box.hidden = false;
      if (publish) publish.disabled = false;
      say("#draft-state", "Draft ready: edit it, copy it, or publish it.");
      body.focus();
    });
    $("#u-copy").addEventListener("click", async () => {
      const text = title.value ? `${title.value}\n\n${body.value}` : body.value;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        body.select(); // no clipboard permission: leave it selected for Ctrl+C
        document.execCommand("copy");
      }
      say("#draft-state", "Copied to the clipboard.");
    });
    if (publish) {
      publish.addEventListener("click", async () => {
        if (!draft) return;
        publish.disabled = true;
        try {
          const sent = { title: title.value.trim() || undefined, body: body.value, author: author() };
          if (draft.audience === "public" && $("#u-page")) Object.assign(sent, pageChoices());
          const published = await api("POST", `${base}/status-updates/${encodeURIComponent(draft.id)}/publish`, sent);
          const onPage = sent.components ? ` and set ${Object.keys(sent.components).length} status page component(s)` : "";
          say("#draft-state", `Published ${published && published.audience ? published.audience : draft.audience} update${onPage}; it is on the timeline.`);
          document.dispatchEvent(new Event("copilot:changed"));
        } catch (error) {
          say("#draft-state", error.message, "error");
          if (error.status !== 409) publish.disabled = false;
        }
      });
    }
  }

  function initPostmortem(base, id) {
    const fill = $("#pm-fill");
    if (!fill) return;
    const download = $("#pm-download");
    const preview = $("#pm-preview");
    let markdown = "";
    fill.addEventListener("click", async () => {
      fill.disabled = true;
      say("#pm-state", "Pre-filling from the timeline and similar past incidents…");
      try {
        const data = await api("POST", `${base}/postmortem`, {});
        markdown = data.markdown || "";
        try {
          const shown = await api("POST", "/v1/render", { markdown });
          sanitizedHtml(preview, shown.html);
        } catch {
          preview.replaceChildren(el("pre", {}, markdown)); // as text, never as markup
        }
        renderGuardrails($("#pm-guardrails"), data.guardrails);
        preview.hidden = false;
        download.disabled = !markdown;
        say("#pm-state", "Draft ready: review it, then download the markdown.");
      } catch (error) {
        say("#pm-state", error.message, "error");
      } finally {
        fill.disabled = false;
      }
    });
    download.addEventListener("click", () => {
      const blob = new Blob([markdown], { type: "text/markdown" });
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: `${id}-postmortem.md` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
  }

  // -- firing: alert groups and candidates -------------------------------------------------------

  // Only http(s) links from alert text become links (a `javascript:` URL stays text).
  function safeHref(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      const parsed = new URL(url, location.href);
      return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
    } catch {
      return null;
    }
  }

  const FOUND_BY = {
    alert_name: "by the alert's name (the runbook lists it under alerts)",
    file_name: "by the file name in the alert's runbook_url",
    runbook_url: "by the alert's runbook_url",
    search: "by searching the alert's summary and description (check it fits)",
  };

  const OPEN_STATUSES = ["triage", "mobilized", "mitigating", "monitoring"];

  function alertRow(a) {
    const summary = a.annotations.summary || a.annotations.description || a.annotations.message || "";
    const href = safeHref(a.generator_url);
    return el("tr", { class: `alert-row st-${a.status}` },
      el("th", { scope: "row" }, a.name),
      el("td", {}, el("span", { class: `badge al-${a.status}` }, a.status),
        a.flaps ? el("span", { class: "hint" }, ` ${a.flaps} flap${a.flaps === 1 ? "" : "s"}`) : null),
      el("td", { class: "alert-summary" }, summary),
      el("td", {}, fmtTime(a.starts_at)),
      el("td", {}, href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, "source") : "–"));
  }

  function groupCard(g, incidents, reload) {
    const id = `group-${g.id}`;
    const state = el("p", { class: "state", role: "status", id: `${id}-state` });
    const card = el("article", { class: `card group gs-${g.status}`, id, "aria-labelledby": `${id}-h` });
    const sev = g.suggested_severity || "";
    card.append(
      el("h2", { id: `${id}-h` }, g.title),
      el("p", { class: "badges" },
        el("span", { class: `badge sev sev-${sev.toLowerCase()}`, title: `Suggested severity (${g.severity_from})` }, `suggested ${sev}`),
        el("span", { class: `badge gstatus gs-${g.status}` }, g.status),
        el("span", { class: "hint" }, `${g.firing} firing · ${g.resolved} resolved · first ${fmtTime(g.first_at)} · last ${fmtTime(g.last_at)} UTC`)),
      el("p", { class: "reason" }, el("strong", {}, "Grouped: "), g.reason),
      g.services.length ? el("p", { class: "hint" }, `Services: ${g.services.join(", ")}`) : null);
    if (g.incident_id) {
      card.append(el("p", {}, `${g.status === "declared" ? "Declared as" : "Attached to"} `,
        el("a", { href: `/incidents/${encodeURIComponent(g.incident_id)}` }, g.incident_id), "."));
    }
    if (g.dismissed_reason) card.append(el("p", { class: "hint" }, `Dismissed: ${g.dismissed_reason}`));
    if (g.policy) card.append(el("p", { class: "hint" }, `Declared automatically by the alert policy ${g.policy}.`));
    if (g.reopen) {
      const reopenState = el("p", { class: "state", role: "status" });
      const proposal = el("div", { class: "reopen-proposal", role: "note" },
        el("p", {}, el("strong", {}, "Reopen? "),
          el("a", { href: `/incidents/${encodeURIComponent(g.reopen.incident_id)}` }, g.reopen.incident_id),
          ` is ${g.reopen.incident_status}${g.reopen.resolved_at ? ` (resolved ${fmtTime(g.reopen.resolved_at)} UTC)` : ""}: `,
          g.reopen.reason));
      if (["open", "candidate"].includes(g.status)) {
        const reopenForm = el("form", { class: "row reopen", "aria-label": `Reopen ${g.reopen.incident_id} with ${g.title}` },
          el("button", { type: "submit", class: "primary" }, `Reopen ${g.reopen.incident_id} and attach`));
        onSubmit(reopenForm, reopenState, async () => {
          await api("POST", `/v1/alert-groups/${encodeURIComponent(g.id)}/reopen`, { author: author() });
          say(reopenState, `Reopened ${g.reopen.incident_id}.`);
          await reload();
        });
        proposal.append(reopenForm, reopenState);
      }
      card.append(proposal);
    }

    const table = el("table", { class: "alerts" },
      el("caption", { class: "visually-hidden" }, `Alerts of ${g.title}`),
      el("thead", {}, el("tr", {}, ...["Alert", "Status", "Summary", "Started (UTC)", "Link"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...g.alerts.map(alertRow)));
    card.append(el("h3", {}, `Alerts (${g.alerts.length})`), el("div", { class: "table-wrap" }, table));

    card.append(el("h3", {}, "Runbooks"));
    if (g.runbooks.length) {
      card.append(el("ul", { class: "runbooks" }, ...g.runbooks.map((r) => el("li", {},
        el("strong", {}, r.alertname), ": ",
        sourceLink(r.source, r.lines, `${r.title} › ${r.section}`),
        el("span", { class: "hint found-by", "data-found-by": r.found_by }, ` — found ${FOUND_BY[r.found_by] || r.found_by}`)))));
    } else {
      card.append(el("p", { class: "hint" }, "No runbook found for these alerts."));
    }
    // Looked up for candidates only: past postmortems close to these alerts and services.
    if (g.similar_incidents && g.similar_incidents.length) {
      card.append(el("h3", {}, "Similar past incidents"),
        el("ul", { class: "similar-incidents" }, ...g.similar_incidents.map((p) => el("li", {},
          sourceLink(p.source, p.lines, `${p.title} › ${p.section}`),
          el("span", { class: "hint" }, ` — score ${p.score.toFixed(2)}`)))));
    }

    const actionable = ["open", "candidate"].includes(g.status);
    if (actionable) {
      const base = `/v1/alert-groups/${encodeURIComponent(g.id)}`;
      const sevSelect = el("select", { id: `${id}-sev`, name: "severity" },
        ...[...document.querySelectorAll("#severity-levels option")].map((o) =>
          el("option", { value: o.value, selected: o.value === sev }, o.textContent)));
      const declareForm = el("form", { class: "row declare", "aria-label": `Declare an incident from ${g.title}` },
        el("div", { class: "field" }, el("label", { for: `${id}-sev` }, "Severity"), sevSelect),
        el("button", { type: "submit", class: "primary" }, "Declare incident"));
      onSubmit(declareForm, state, async () => {
        say(state, "Declaring…");
        const incident = await api("POST", `${base}/declare`, { severity: sevSelect.value, author: author() });
        say(state, `Declared ${incident.id}.`);
        location.assign(`/incidents/${encodeURIComponent(incident.id)}`);
      });

      const open = incidents.filter((i) => OPEN_STATUSES.includes(i.status));
      const incSelect = el("select", { id: `${id}-inc`, name: "incident_id", required: true, disabled: !open.length },
        ...(open.length ? open.map((i) => el("option", { value: i.id }, `${i.id} · ${i.severity} · ${i.title}`))
          : [el("option", { value: "" }, "No open incident")]));
      const attachForm = el("form", { class: "row attach", "aria-label": `Attach ${g.title} to an incident` },
        el("div", { class: "field grow" }, el("label", { for: `${id}-inc` }, "Open incident"), incSelect),
        el("button", { type: "submit", disabled: !open.length }, "Attach"));
      onSubmit(attachForm, state, async () => {
        await api("POST", `${base}/attach`, { incident_id: incSelect.value, author: author() });
        say(state, `Attached to ${incSelect.value}.`);
        await reload();
      });

      const reason = el("input", { id: `${id}-reason`, name: "reason", required: true, maxlength: 2000, autocomplete: "off" });
      const dismissForm = el("form", { class: "row dismiss", "aria-label": `Dismiss ${g.title}` },
        el("div", { class: "field grow" }, el("label", { for: `${id}-reason` }, "Reason to dismiss"), reason),
        el("button", { type: "submit" }, "Dismiss"));
      onSubmit(dismissForm, state, async () => {
        await api("POST", `${base}/dismiss`, { reason: reason.value, author: author() });
        say(state, "Dismissed.");
        await reload();
      });
      card.append(el("h3", {}, "Act"), declareForm, attachForm, dismissForm);
    }
    card.append(state);
    return card;
  }

  function initFiring() {
    const container = $("#groups");
    const status = container.dataset.status;
    // `force`: after an action here; otherwise a refresh leaves a card being typed in alone.
    const load = async (force = false) => {
      try {
        const query = new URLSearchParams({ limit: "100" });
        if (status) query.set("status", status);
        const [groups, incidents] = await Promise.all([
          api("GET", `/v1/alert-groups?${query}`),
          api("GET", "/v1/incidents").catch(() => ({ incidents: [] })),
        ]);
        if (!force && container.contains(document.activeElement)) return;
        container.replaceChildren(...groups.items.map((g) => groupCard(g, incidents.incidents || [], () => load(true))));
        const n = groups.items.length;
        say("#firing-state", n ? `${n} alert group${n === 1 ? "" : "s"}, newest activity first.`
          : (status === "candidate" ? "Nothing to act on: no alert group is a candidate." : "No alert groups."));
      } catch (error) {
        say("#firing-state", error.message, "error");
      }
    };
    load(true);
    setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
    document.addEventListener("copilot:key", () => load(true));
    $("#firing-refresh").addEventListener("click", () => load(true));
  }

  // -- blast radius (service catalog) ------------------------------------------------------------

  // A contact from the catalog: a link when it is a web or mail address, else text.
  function contactNode(text) {
    const href = /^mailto:/i.test(text) ? text : safeHref(text);
    if (href && (/^mailto:/i.test(href) || /^https?:\/\//i.test(text))) {
      return el("a", { href, rel: "noopener noreferrer", target: /^mailto:/i.test(href) ? null : "_blank" },
        text.replace(/^mailto:/i, ""));
    }
    return text;
  }

  const shortRef = (ref) => ref.replace(/^[a-z]+:default\//, "").replace(/^group:/, "");

  function affectedRow(a, owners) {
    const owner = owners.get(a.owner);
    return el("tr", { class: a.user_facing ? "user-facing" : "" },
      el("th", { scope: "row" }, a.title, " ", el("span", { class: "hint" }, `(${shortRef(a.ref)})`)),
      el("td", {}, a.user_facing
        ? el("span", { class: "badge public" }, `user-facing${a.public_name ? `: ${a.public_name}` : ""}`)
        : "–"),
      el("td", { class: "path" }, a.path.slice(0, -1).map(shortRef).join(" → ") || "–"),
      el("td", {}, owner ? owner.name : (a.owner ? shortRef(a.owner) : "–")));
  }

  // GET that returns the body as text (the SVG), with the saved key like `api`.
  async function fetchText(path, accept) {
    const headers = { Accept: accept };
    const key = localStorage.getItem(KEY);
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, { headers, credentials: "same-origin" });
    const text = await response.text();
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = describe(JSON.parse(text)) || message; } catch { /* not JSON */ }
      throw new ApiError(response.status, message);
    }
    return text;
  }

  function initBlastRadius(base) {
    if (!$("#blast")) return () => {};
    let shownFor = null;
    const render = (impact) => {
      const owners = new Map([...impact.owners, ...impact.upstream_owners].map((o) => [o.ref, o]));
      $("#blast-owners").replaceChildren(...impact.owners.map((o) => el("li", {},
        el("strong", {}, o.name), " ",
        el("span", { class: "hint" }, `owns ${o.owns.map(shortRef).join(", ") || "–"}`),
        o.contacts.length ? el("span", { class: "contacts" },
          ...o.contacts.flatMap((c, i) => (i ? [" · ", contactNode(c)] : [contactNode(c)]))) : null)));
      if (!impact.owners.length) $("#blast-owners").append(el("li", { class: "hint" }, "No owner recorded in the catalog."));
      for (const [table, rows, none] of [
        ["#blast-dependents", impact.dependents, "Nothing in the catalog depends on the failing services."],
        ["#blast-upstream", impact.upstream, "The failing services depend on nothing in the catalog."],
      ]) {
        const body = $(`${table} tbody`);
        body.replaceChildren(...rows.map((a) => affectedRow(a, owners)));
        if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 4, class: "hint" }, none)));
      }
      const failing = impact.failing.map((a) => a.title).join(", ");
      const users = impact.user_facing.map((u) => u.public_name).join(", ");
      say("#blast-rollup", [
        failing ? `Failing: ${failing}.` : "",
        users ? `User-facing services affected: ${users}.` : "No user-facing service affected.",
        impact.systems.length ? `Systems: ${impact.systems.map(shortRef).join(", ")}.` : "",
      ].filter(Boolean).join(" "));
      const unmapped = $("#blast-unmapped");
      unmapped.hidden = !impact.unmapped.length;
      say(unmapped, impact.unmapped.length ? `Not in the catalog: ${impact.unmapped.join(", ")}.` : "");
    };
    const loadSvg = async (impact) => {
      const figure = $("#blast-figure");
      const img = $("#blast-svg");
      try {
        const svg = await fetchText(`${base}/blast-radius.svg`, "image/svg+xml");
        // An <img> from a data: URL (the page's CSP allows data: images): nothing in an SVG
        // shown as an image can run or reach the page.
        img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
        img.alt = `Blast radius graph: ${impact.failing.length} failing, ${impact.dependents.length} affected dependents, ${impact.upstream.length} upstream, ${impact.owners.length} owners (the lists below name them).`;
        // The whole graph fits the card (the failing services are never scrolled out of
        // sight); a graph shrunk to fit can be read at its actual size, scrolling.
        figure.classList.remove("actual");
        figure.hidden = false;
        await img.decode().catch(() => {});
        const size = $("#blast-size");
        size.hidden = img.naturalWidth <= img.clientWidth;
        size.textContent = "Actual size";
        size.setAttribute("aria-pressed", "false");
        say("#blast-svg-state", "");
      } catch (error) {
        figure.hidden = true;
        say("#blast-svg-state", error.status === 503
          ? "The graph needs Graphviz's dot on the server; the lists below hold the same."
          : `The graph could not be drawn: ${error.message}`);
      }
    };
    $("#blast-size")?.addEventListener("click", (event) => {
      const actual = $("#blast-figure").classList.toggle("actual");
      event.currentTarget.textContent = actual ? "Fit to width" : "Actual size";
      event.currentTarget.setAttribute("aria-pressed", String(actual));
    });
    return async (services) => {
      const key = services.join("\n");
      if (key === shownFor) return;
      shownFor = key;
      if (!services.length) {
        $("#blast-body").hidden = true;
        say("#blast-state", "The incident names no service yet: add its services to see who else is hurt.");
        return;
      }
      try {
        const impact = await api("GET", `${base}/blast-radius`);
        if (!impact.failing.length) {
          $("#blast-body").hidden = true;
          say("#blast-state", `The service catalog knows none of this incident's services (${impact.unmapped.join(", ")}).`);
          return;
        }
        render(impact);
        $("#blast-body").hidden = false;
        say("#blast-state", `${impact.dependents.length} affected dependent${impact.dependents.length === 1 ? "" : "s"}, ${impact.user_facing.length} user-facing, ${impact.owners.length} owner${impact.owners.length === 1 ? "" : "s"} to call.`);
        await loadSvg(impact);
      } catch (error) {
        shownFor = null; // try again on the next refresh
        say("#blast-state", error.status === 404
          ? "This server has no service catalog." : error.message, "error");
      }
    };
  }

  // -- search and documents --------------------------------------------------------------------

  function initSearch() {
    const form = $("#search-form");
    const input = $("#s-query");
    const results = $("#results");
    const run = async () => {
      const query = input.value.trim();
      if (!query) return;
      say("#search-state", "Searching…");
      const body = { query, top_k: 8 };
      if ($("#s-kind").value) body.kind = $("#s-kind").value;
      const data = await api("POST", "/v1/search", body);
      history.replaceState(null, "", `/search?q=${encodeURIComponent(query)}`);
      const snippets = new Map();
      results.replaceChildren(...data.results.map((r) => {
        const ref = `${r.source}:${r.lines[0]}-${r.lines[1]}`;
        // Shown as text until the rendered passage arrives (or if it cannot).
        const snippet = el("div", { class: "snippet" }, r.text.length > 600 ? `${r.text.slice(0, 600)}…` : r.text);
        snippets.set(ref, snippet);
        return el("li", { class: "result" },
          el("h2", {}, sourceLink(r.source, r.lines, `${r.title} › ${r.section}`)),
          el("p", { class: "hint" }, `${r.kind} · ${r.source} lines ${r.lines[0]}–${r.lines[1]} · score ${r.score.toFixed(2)}`),
          snippet);
      }));
      say("#search-state", !data.results.length ? "Nothing matched."
        : data.no_match ? `${data.results.length} closest sections, none a close match.`
        : `${data.results.length} sections, best first.`);
      // What the response says about itself: nothing close, keyword search only, near twins.
      const notes = [];
      if (data.no_match && data.results.length) {
        notes.push("Nothing in the knowledge base matches this closely: these are only the closest sections. Check them before acting on them, or escalate to the owning team.");
      }
      if (data.degraded) notes.push(`${data.degraded[0].toUpperCase()}${data.degraded.slice(1)}.`);
      if (data.near_twins) notes.push(data.near_twins.note);
      const slips = Object.entries(data.corrected || {});
      if (slips.length) {
        notes.push(`Also searched ${slips.map(([typed, meant]) => `\u201c${typed}\u201d as \u201c${meant}\u201d`).join(", ")} (not in the knowledge base as typed).`);
      }
      const notice = $("#search-notice");
      notice.replaceChildren(...notes.map((text) => el("p", {}, text)));
      notice.hidden = !notes.length;
      if (snippets.size) {
        const query = new URLSearchParams();
        for (const ref of snippets.keys()) query.append("ref", ref);
        try {
          const shown = await api("GET", `/v1/passages?${query}`);
          for (const p of shown.passages) {
            const node = snippets.get(`${p.source}:${p.lines[0]}-${p.lines[1]}`);
            if (node) sanitizedHtml(node, p.html).classList.add("markdown", "rendered");
          }
        } catch {
          // The plain text stays: still readable.
        }
      }
    };
    onSubmit(form, $("#search-state"), run);
    if (input.value.trim()) run().catch((error) => say("#search-state", error.message, "error"));
    initAsk(null);
  }

  async function initDocument() {
    const { source, lineStart, lineEnd } = document.body.dataset;
    const container = $("#doc-sections");
    try {
      const path = source.split("/").map(encodeURIComponent).join("/");
      const doc = await api("GET", `/v1/documents/${path}`);
      say("#doc-title", doc.title);
      say("#doc-kind", doc.kind);
      document.title = `${doc.title} · Responder Copilot`;
      const start = Number(lineStart);
      const end = Number(lineEnd);
      let first = null;
      container.replaceChildren(...doc.sections.map((s) => {
        const cited = lineStart !== "" && s.lines[0] <= end && s.lines[1] >= start;
        const text = sanitizedHtml(el("div", { class: "markdown doc-text" }), s.html);
        const node = el("section", { class: cited ? "doc-section cited" : "doc-section", id: `L${s.lines[0]}`, tabindex: "-1" },
          el("h2", {}, s.section),
          el("p", { class: "hint" }, `lines ${s.lines[0]}–${s.lines[1]}`, cited ? " · cited" : ""),
          s.removed
            ? el("p", { class: "hint guardrail-cut", role: "note" },
              `The guardrails cut ${s.removed} part${s.removed === 1 ? "" : "s"} of this section ` +
              `(${s.reasons.join("; ")}): what is shown is what the copilot would quote.`)
            : null,
          text);
        if (cited && !first) first = node;
        return node;
      }));
      say("#doc-state", first ? "The cited section is highlighted." : "");
      if (first) {
        first.scrollIntoView({ block: "start" });
        first.focus({ preventScroll: true });
      }
    } catch (error) {
      say("#doc-state", error.message, "error");
    }
  }

  // -- shared with the page scripts beside this one (static/insights.js) --------------------

  window.Copilot = Object.freeze({ $, el, api, say, fmtTime, fmtDuration, safeHref, fetchText, onSubmit });

  // -- start -----------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    initSettings();
    const page = document.body.dataset.page;
    if (page === "incidents") initIncidents();
    else if (page === "incident") initIncident();
    else if (page === "firing") initFiring();
    else if (page === "search") initSearch();
    else if (page === "runbook") initDocument();
  });
})();
