// Responder Copilot: the Insights and follow-ups page (/insights). Plain JavaScript, no build
// step; it uses the helpers `warroom.js` shares as `window.Copilot` (loaded first, both deferred).
// Text is written with textContent; every figure comes from this server's /v1 API.
"use strict";

(() => {
  const { $, el, api, say, fmtTime, fmtDuration, safeHref, fetchText, onSubmit } = window.Copilot;

  const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);

  function insightsQuery() {
    const { since, severity } = document.body.dataset;
    const query = new URLSearchParams({ since: since || "90d" });
    if (severity) query.append("severity", severity);
    return query;
  }

  function figureRows(r) {
    const rows = [["Incidents", String(r.incidents.count), r.incidents.count]];
    const names = { time_to_detect: "Time to detect", time_to_declare: "Time to declare",
      time_to_mitigate: "Time to mitigate", time_to_resolve: "Time to resolve" };
    for (const [key, label] of Object.entries(names)) {
      const d = r.durations[key];
      const target = d.within_target === null || d.within_target === undefined ? "" : ` · ${pct(d.within_target)} within target`;
      rows.push([label, d.n ? `median ${fmtDuration(d.median_s)} · p90 ${fmtDuration(d.p90_s)}${target}` : "–", d.n]);
    }
    rows.push(["Status updates on time", pct(r.cadence.share_on_time), r.cadence.intervals]);
    const f = r.follow_ups;
    rows.push(["Follow-ups open / in progress / overdue", `${f.open} / ${f.in_progress} / ${f.overdue}`, f.n]);
    rows.push(["Follow-ups completion rate", pct(f.completion_rate), f.n - f.wont_do]);
    const gaps = r.knowledge.steps_no_runbook_has;
    const cited = r.knowledge.cited_not_mitigating;
    if (gaps) rows.push(["Steps no runbook has", `${gaps.gaps} (${pct(gaps.share)})`, gaps.n]);
    if (cited) rows.push(["Runbooks cited, not mitigating", `${cited.not_mitigating} (${pct(cited.share)})`, cited.n]);
    return rows;
  }

  function chartCard(c) {
    const img = el("img", {
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(c.svg)}`,
      alt: `${c.title}: chart; the table below holds its numbers.`,
    });
    const table = el("table", {},
      el("thead", {}, el("tr", {}, ...c.columns.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...c.rows.map((row) => el("tr", {}, ...row.map((v, i) => (i
        ? el("td", {}, v === null ? "–" : String(v)) : el("th", { scope: "row" }, v === null ? "–" : String(v))))))));
    return el("section", { class: "card chart", id: `chart-${c.key}`, "aria-labelledby": `chart-${c.key}-h` },
      el("h3", { id: `chart-${c.key}-h` }, c.title),
      el("div", { class: "chart-img" }, img),
      el("details", {}, el("summary", {}, `Table: ${c.title}`), el("div", { class: "table-wrap" }, table)));
  }

  const incidentLink = (id) => el("a", { href: `/incidents/${encodeURIComponent(id)}` }, id);

  function renderKnowledge(k) {
    const cited = k.cited_not_mitigating;
    const gaps = k.steps_no_runbook_has;
    if (!cited || !gaps) {
      say("#kb-state", "No knowledge base is loaded on this server: these two figures need its runbooks.");
      $("#kb-cited").replaceChildren();
      $("#kb-gaps").replaceChildren();
      return;
    }
    say("#kb-state", `${cited.note} ${gaps.note}`);
    say("#kb-cited-n", `${cited.not_mitigating} of n = ${cited.n} (incident, runbook) pairs over ${cited.incidents} ended incidents.`);
    $("#kb-cited").replaceChildren(...cited.runbooks.map((b) => el("li", {},
      el("a", { href: `/runbooks/${b.source.split("/").map(encodeURIComponent).join("/")}` }, b.source),
      ` cited in ${b.cited_in}, no help in ${b.not_mitigating}: `,
      ...b.incidents.flatMap((i, n) => [n ? ", " : "", incidentLink(i)]))));
    if (!cited.runbooks.length) $("#kb-cited").append(el("li", { class: "hint" }, "None in the period."));
    say("#kb-gaps-n", `${gaps.gaps} of n = ${gaps.n} steps checked (${gaps.entries} action and mitigation entries in the period).`);
    $("#kb-gaps").replaceChildren(...gaps.steps.map((g) => el("li", {},
      incidentLink(g.incident_id), ": ", g.text,
      g.closest ? el("span", { class: "hint" }, ` (closest: ${g.closest}, similarity ${Number(g.similarity).toFixed(2)})`) : null)));
    if (!gaps.steps.length) $("#kb-gaps").append(el("li", { class: "hint" }, "None in the period."));
  }

  async function loadInsights() {
    try {
      const data = await api("GET", `/v1/insights/page?${insightsQuery()}`);
      const r = data.insights;
      $("#figures tbody").replaceChildren(...figureRows(r).map(([name, value, n]) =>
        el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, value), el("td", {}, `n = ${n}`))));
      say("#figures-note", r.durations.note);
      $("#charts").replaceChildren(...data.charts.map(chartCard));
      $("#clusters").replaceChildren(...r.clusters.map((c) => el("li", {},
        el("strong", {}, c.label), ` (${c.size}): `,
        ...c.incidents.flatMap((i, k) => [k ? ", " : "", el("a", { href: `/incidents/${encodeURIComponent(i.id)}` }, i.id), ` ${i.title}`]))));
      if (!r.clusters.length) $("#clusters").append(el("li", { class: "hint" }, "No recurring failure mode in the period."));
      $("#offenders").replaceChildren(...r.repeat_offenders.map((o) =>
        el("li", {}, el("strong", {}, o.service), ` in ${o.count} incidents`)));
      if (!r.repeat_offenders.length) $("#offenders").append(el("li", { class: "hint" }, "None."));
      renderKnowledge(r.knowledge);
      say("#insights-state", `${r.incidents.count} incident${r.incidents.count === 1 ? "" : "s"} from ${fmtTime(r.period.since).slice(0, 10)} to ${fmtTime(r.period.until).slice(0, 10)}.`);
    } catch (error) {
      say("#insights-state", error.message, "error");
    }
  }

  function followUpRow(f, statuses, reload) {
    const id = `fu-${f.id}`;
    const select = el("select", { id: `${id}-status`, "aria-label": `Status of ${f.title}` },
      ...statuses.map((s) => el("option", { value: s, selected: s === f.status }, s.replace(/_/g, " "))));
    select.addEventListener("change", async () => {
      select.disabled = true;
      try {
        await api("PATCH", `/v1/follow-ups/${encodeURIComponent(f.id)}`, { status: select.value });
        say("#fu-state", `“${f.title}” is now ${select.value.replace(/_/g, " ")}.`);
        await reload();
      } catch (error) {
        say("#fu-state", error.message, "error");
        select.value = f.status;
      } finally {
        select.disabled = false;
      }
    });
    const link = safeHref(f.external_url);
    return el("tr", { class: f.overdue ? "overdue" : "", id },
      el("th", { scope: "row" }, f.title,
        link ? [" ", el("a", { href: link, target: "_blank", rel: "noopener noreferrer" }, "tracker")] : null),
      el("td", {}, f.incident_id ? el("a", { href: `/incidents/${encodeURIComponent(f.incident_id)}` }, f.incident_id) : "–"),
      el("td", {}, [f.owner, f.team].filter(Boolean).join(" · ") || "–"),
      el("td", { class: f.overdue ? "overdue" : "" }, f.due_on || "–",
        f.overdue ? el("strong", { class: "badge danger" }, "overdue") : null),
      el("td", {}, f.priority),
      el("td", {}, select),
      el("td", {}, el("button", { type: "button", "aria-label": `Edit ${f.title}`, onclick: () => editFollowUp(f) }, "Edit")));
  }

  // -- the follow-up form: add one, or change the one being edited ----------------------------

  const FORM_FIELDS = ["title", "incident_id", "owner", "team", "due_on", "priority", "external_url"];

  function formValues() {
    const form = $("#fu-form");
    const out = {};
    for (const name of FORM_FIELDS) {
      const value = form.elements[name].value.trim();
      out[name] = value === "" ? null : value;
    }
    return out;
  }

  function editFollowUp(f) {
    const form = $("#fu-form");
    form.dataset.editing = f.id;
    for (const name of FORM_FIELDS) form.elements[name].value = f[name] || "";
    say("#fu-form-h", `Edit ${f.id}`);
    say("#fu-submit", "Save changes");
    $("#fu-cancel").hidden = false;
    say("#fu-form-state", "");
    form.scrollIntoView({ block: "nearest" });
    form.elements.title.focus();
  }

  function resetFollowUpForm() {
    const form = $("#fu-form");
    form.reset();
    delete form.dataset.editing;
    say("#fu-form-h", "Add a follow-up");
    say("#fu-submit", "Add follow-up");
    $("#fu-cancel").hidden = true;
  }

  function initFollowUpForm() {
    const form = $("#fu-form");
    $("#fu-cancel").addEventListener("click", () => { resetFollowUpForm(); say("#fu-form-state", ""); });
    // The server checks every field (the form has novalidate): its 4xx says what was wrong.
    onSubmit(form, $("#fu-form-state"), async () => {
      const values = formValues();
      const editing = form.dataset.editing;
      let saved;
      if (editing) {
        saved = await api("PATCH", `/v1/follow-ups/${encodeURIComponent(editing)}`, values);
      } else {
        const body = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
        saved = await api("POST", "/v1/follow-ups", body);
      }
      resetFollowUpForm();
      say("#fu-form-state", `${saved.id} “${saved.title}” ${editing ? "saved" : "added"}.`);
      await loadFollowUps();
    });
  }

  async function loadFollowUps() {
    const table = $("#followups");
    const statuses = table.dataset.statuses.split(" ");
    const query = new URLSearchParams({ limit: "200" });
    if ($("#fu-status").value) query.set("status", $("#fu-status").value);
    if ($("#fu-overdue").checked) query.set("overdue", "true");
    try {
      const data = await api("GET", `/v1/follow-ups?${query}`);
      const body = table.querySelector("tbody");
      body.replaceChildren(...data.follow_ups.map((f) => followUpRow(f, statuses, loadFollowUps)));
      say("#fu-state", data.follow_ups.length
        ? `${data.count} follow-up${data.count === 1 ? "" : "s"}, ${data.overdue} overdue (listed first).`
        : "No follow-ups match.");
    } catch (error) {
      say("#fu-state", error.message, "error");
    }
  }

  function initInsights() {
    loadInsights();
    loadFollowUps();
    initFollowUpForm();
    document.addEventListener("copilot:key", () => { loadInsights(); loadFollowUps(); });
    for (const input of ["#fu-status", "#fu-overdue"]) $(input).addEventListener("change", loadFollowUps);
    $("#fu-filter").addEventListener("submit", (event) => { event.preventDefault(); loadFollowUps(); });
    $("#i-csv").addEventListener("click", async () => {
      const button = $("#i-csv");
      button.disabled = true;
      try {
        const csv = await fetchText(`/v1/insights.csv?${insightsQuery()}`, "text/csv");
        const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
        const link = el("a", { href: url, download: "insights.csv" });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      } catch (error) {
        say("#insights-state", error.message, "error");
      } finally {
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (document.body.dataset.page === "insights") initInsights();
  });
})();
