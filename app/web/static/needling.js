/* The needling log: rows prefilled from the exam's suggested targets (the server's), needle / insertions /
 * depth / responses / e-stim per row, the in/out needle counter, adverse events, pain before/after,
 * tolerance and today's verbal consent. Autosaves through the treatments API (If-Match); after each save it
 * asks the server's signing checkpoint (GET /app/treatments/{id}/sign-check) what signing would refuse.
 */
(function () {
  "use strict";
  const root = document.getElementById("visit");
  if (!root || !document.getElementById("needle-rows")) return;
  const IMS = window.IMS;
  const api = IMS.api;
  const init = JSON.parse(root.dataset.state);
  let readOnly = root.dataset.signed === "true";
  const $ = function (id) { return document.getElementById(id); };
  const RESPONSES = [["local_twitch", "Twitch"], ["grasp", "Grasp"], ["cramping", "Cramping"], ["referred_sensation", "Referred"], ["none", "None"]];
  const AE_KINDS = ["bleeding", "bruising", "vasovagal", "suspected_pneumothorax", "excessive_soreness", "needle_breakage", "retained_needle", "other"];
  const E_STIM = { frequency_hz: 2, pulse_width_us: 250, intensity_ma: 4, duration_min: 10 };
  const names = {};
  let needles = [];
  let events = [];
  let insertedTouched = false;
  let extra = {};  // fields of a loaded record this page does not edit are sent back unchanged (none today)

  function fromTargets(targets) {
    return targets.map(function (t) {
      names[t.muscle] = t.name;
      return { muscle: t.muscle, level: t.level, side: t.side, kind: t.kind, gauge_mm: 0.25, length_mm: t.kind === "paraspinal" ? 50 : 40,
               insertions: 1, depth_mm: null, responses: [], e_stim: null };
    });
  }

  function load(record) {
    needles = record ? record.needles.map(function (n) { return Object.assign({}, n); }) : fromTargets(init.targets || []);
    (record ? record.e_stim_leads : []).forEach(function (lead) {  // the page pairs each e-stim needle with one other
      const a = lead.needles[0], b = lead.needles[1];
      if (needles[a] && needles[b]) { needles[a]._pair = b; needles[b]._pair = a; }
    });
    events = record ? record.adverse_events.map(function (a) { return Object.assign({}, a); }) : [];
    insertedTouched = !!record && record.needles_inserted !== null && record.needles_inserted !== record.needles.length;
    $("needles-in").value = record && record.needles_inserted !== null ? record.needles_inserted : needles.length;
    $("needles-out").value = record && record.needles_removed !== null ? record.needles_removed : "";
    $("sharps").checked = !!(record && record.sharps_disposed);
    $("pain-before").value = record && record.pre_pain_nprs !== null ? record.pre_pain_nprs : "";
    $("pain-after").value = record && record.post_pain_nprs !== null ? record.post_pain_nprs : "";
    $("tolerance").value = record && record.tolerance ? record.tolerance : "";
    $("verbal-consent").checked = !!(record && record.verbal_consent_today);
    $("tx-plan").value = record && record.plan ? record.plan : "";
    renderRows();
    renderEvents();
    renderCount();
  }

  function num(id) { const v = $(id).value.trim(); return v === "" ? null : Number(v); }

  function body() {
    return {
      e_stim_leads: leads(),
      needles: needles.map(function (n) {
        const out = Object.assign({}, n);
        delete out._pair;
        ["gauge_mm", "length_mm", "depth_mm"].forEach(function (f) { if (out[f] === "" || out[f] === undefined) out[f] = null; });
        return out;
      }),
      needles_inserted: insertedTouched ? num("needles-in") : null,
      needles_removed: num("needles-out"),
      sharps_disposed: $("sharps").checked,
      pre_pain_nprs: num("pain-before"), post_pain_nprs: num("pain-after"),
      tolerance: $("tolerance").value || null,
      verbal_consent_today: $("verbal-consent").checked,
      adverse_events: events,
      plan: $("tx-plan").value.trim() || null,
    };
  }

  function leads() {
    const out = [];
    needles.forEach(function (n, i) {
      const j = n._pair;
      if (n.e_stim && j !== undefined && j !== null && i < j && needles[j] && needles[j].e_stim) out.push({ needles: [i, j] });
    });
    return out;
  }

  function removeNeedle(i) {
    needles.splice(i, 1);
    needles.forEach(function (n) {
      if (n._pair === i) n._pair = null; else if (n._pair > i) n._pair -= 1;
    });
  }

  function describe(x) {
    const lines = (x.needles || []).map(function (n, i) {
      return "#" + (i + 1) + " " + (names[n.muscle] || n.muscle) + " " + n.level + " " + n.side + " ×" + n.insertions +
        (n.depth_mm ? " " + n.depth_mm + " mm" : "") + (n.e_stim ? " e-stim" : "");
    });
    lines.push("Needles in " + (x.needles_inserted == null ? (x.needles || []).length : x.needles_inserted) + ", out " + (x.needles_removed == null ? "—" : x.needles_removed));
    lines.push("Pain " + (x.pre_pain_nprs == null ? "—" : x.pre_pain_nprs) + " → " + (x.post_pain_nprs == null ? "—" : x.post_pain_nprs) + ", tolerance " + (x.tolerance || "—"));
    lines.push("Verbal consent today: " + (x.verbal_consent_today ? "yes" : "no") + "; adverse events: " + ((x.adverse_events || []).map(function (a) { return a.kind; }).join(", ") || "none"));
    return lines.join("\n");
  }

  function field(label, input) {
    const wrap = document.createElement("div");
    const l = document.createElement("label");
    l.htmlFor = input.id;
    l.textContent = label;
    wrap.append(l, input);
    return wrap;
  }

  function numberInput(id, value, min, max, step, onchange) {
    const i = document.createElement("input");
    i.type = "number"; i.id = id; i.min = min; i.max = max; i.step = step;
    i.value = value === null || value === undefined ? "" : value;
    i.disabled = readOnly;
    i.addEventListener("input", function () { onchange(i.value === "" ? null : Number(i.value)); edited(); });
    return i;
  }

  function renderRows() {
    const box = $("needle-rows");
    box.replaceChildren();
    needles.forEach(function (n, i) {
      const row = document.createElement("fieldset");
      row.className = "needle-row";
      row.dataset.muscle = n.muscle;
      const legend = document.createElement("legend");
      legend.textContent = "Needle " + (i + 1) + ": " + (names[n.muscle] || n.muscle) + " · " + n.level + " " + n.side;
      row.append(legend);
      const grid = document.createElement("div");
      grid.className = "row";
      grid.append(
        field("Gauge (mm)", numberInput("n" + i + "-gauge", n.gauge_mm, 0.12, 0.5, 0.01, function (v) { n.gauge_mm = v; })),
        field("Length (mm)", numberInput("n" + i + "-length", n.length_mm, 5, 150, 1, function (v) { n.length_mm = v; })),
        field("Insertions", numberInput("n" + i + "-insertions", n.insertions, 1, 200, 1, function (v) { n.insertions = v || 1; })),
        field("Depth (mm)", numberInput("n" + i + "-depth", n.depth_mm, 1, 150, 1, function (v) { n.depth_mm = v; })));
      row.append(grid);
      const resp = document.createElement("fieldset");
      resp.className = "checks inline-checks";
      const rl = document.createElement("legend");
      rl.textContent = "Responses";
      resp.append(rl);
      RESPONSES.forEach(function (r) {
        const label = document.createElement("label");
        const c = document.createElement("input");
        c.type = "checkbox";
        c.checked = (n.responses || []).includes(r[0]);
        c.disabled = readOnly;
        c.addEventListener("change", function () {
          n.responses = RESPONSES.map(function (x) { return x[0]; }).filter(function (code) {
            return code === r[0] ? c.checked : (n.responses || []).includes(code);
          });
          edited();
        });
        label.append(c, " " + r[1]);
        resp.append(label);
      });
      row.append(resp);
      const es = document.createElement("label");
      es.className = "check";
      const esBox = document.createElement("input");
      esBox.type = "checkbox";
      esBox.id = "n" + i + "-estim";
      esBox.checked = !!n.e_stim;
      esBox.disabled = readOnly;
      esBox.addEventListener("change", function () {
        n.e_stim = esBox.checked ? Object.assign({}, E_STIM) : null;
        if (!esBox.checked && n._pair !== undefined && n._pair !== null && needles[n._pair]) needles[n._pair]._pair = null;
        if (!esBox.checked) n._pair = null;
        renderRows(); edited(); $("n" + i + "-estim").focus();
      });
      es.append(esBox, " E-stim");
      row.append(es);
      if (n.e_stim) {
        const p = document.createElement("div");
        p.className = "row";
        const pair = document.createElement("select");
        pair.id = "n" + i + "-pair";
        const none = document.createElement("option");
        none.value = ""; none.textContent = "— choose —";
        pair.append(none);
        needles.forEach(function (m, j) {
          if (j === i) return;
          const o = document.createElement("option");
          o.value = String(j);
          o.textContent = "Needle " + (j + 1) + ": " + (names[m.muscle] || m.muscle);
          pair.append(o);
        });
        pair.value = n._pair === undefined || n._pair === null ? "" : String(n._pair);
        pair.disabled = readOnly;
        pair.addEventListener("change", function () {
          if (n._pair !== undefined && n._pair !== null && needles[n._pair]) needles[n._pair]._pair = null;
          const j = pair.value === "" ? null : Number(pair.value);
          n._pair = j;
          if (j !== null) {
            needles[j]._pair = i;
            if (!needles[j].e_stim) needles[j].e_stim = Object.assign({}, E_STIM);
          }
          renderRows();
          edited();
          $("n" + i + "-pair").focus();
        });
        p.append(field("Lead paired with", pair),
          field("Frequency (Hz)", numberInput("n" + i + "-hz", n.e_stim.frequency_hz, 0.1, 10000, 0.1, function (v) { n.e_stim.frequency_hz = v; })),
          field("Pulse width (µs)", numberInput("n" + i + "-us", n.e_stim.pulse_width_us, 1, 5000, 1, function (v) { n.e_stim.pulse_width_us = v; })),
          field("Intensity (mA)", numberInput("n" + i + "-ma", n.e_stim.intensity_ma, 0.1, 100, 0.1, function (v) { n.e_stim.intensity_ma = v; })),
          field("Duration (min)", numberInput("n" + i + "-min", n.e_stim.duration_min, 1, 120, 1, function (v) { n.e_stim.duration_min = v; })));
        row.append(p);
      }
      const rm = document.createElement("button");
      rm.type = "button";
      rm.textContent = "Remove needle " + (i + 1);
      rm.disabled = readOnly;
      rm.addEventListener("click", function () { removeNeedle(i); renderRows(); renderCount(); edited(); });
      row.append(rm);
      box.append(row);
    });
  }

  function renderEvents() {
    const box = $("ae-rows");
    box.replaceChildren();
    events.forEach(function (a, i) {
      const row = document.createElement("fieldset");
      row.className = "ae-row";
      const legend = document.createElement("legend");
      legend.textContent = "Adverse event " + (i + 1);
      const kind = document.createElement("select");
      kind.id = "ae" + i + "-kind";
      AE_KINDS.forEach(function (k) { const o = document.createElement("option"); o.value = k; o.textContent = k.replace(/_/g, " "); kind.append(o); });
      kind.value = a.kind;
      kind.addEventListener("change", function () { a.kind = kind.value; edited(); });
      const sev = document.createElement("select");
      sev.id = "ae" + i + "-severity";
      ["mild", "moderate", "severe"].forEach(function (k) { const o = document.createElement("option"); o.value = k; o.textContent = k; sev.append(o); });
      sev.value = a.severity;
      sev.addEventListener("change", function () { a.severity = sev.value; edited(); });
      const h = document.createElement("input");
      h.id = "ae" + i + "-haemostasis";
      h.value = a.haemostasis || "";
      h.addEventListener("input", function () { a.haemostasis = h.value.trim() || null; edited(); });
      [kind, sev, h].forEach(function (x) { x.disabled = readOnly; });
      const rm = document.createElement("button");
      rm.type = "button";
      rm.textContent = "Remove adverse event " + (i + 1);
      rm.disabled = readOnly;
      rm.addEventListener("click", function () { events.splice(i, 1); renderEvents(); edited(); });
      const grid = document.createElement("div");
      grid.className = "row";
      grid.append(field("Kind", kind), field("Severity", sev), field("Haemostasis / action", h));
      row.append(legend, grid, rm);
      box.append(row);
    });
  }

  function renderCount() {
    if (!insertedTouched) $("needles-in").value = needles.length;
    const inn = num("needles-in"), out = num("needles-out");
    $("count-state").textContent = out === null ? "Count the needles out at the end." :
      (inn === out ? "In = out: every needle accounted for." : "In " + inn + " ≠ out " + out + ": recount before signing.");
    $("count-state").className = out === null || inn === out ? "muted" : "warning";
  }

  function edited() {
    renderCount();
    draft.changed();
  }

  async function signCheck(record) {
    const list = $("sign-check");
    if (!record || record.status !== "draft") return;
    IMS.showProblems("sign-problems", "", []);  // an earlier refusal is answered by this save; ask again
    try {
      const check = (await api("GET", "/app/treatments/" + record.id + "/sign-check")).data;
      list.replaceChildren();
      if (check.ready) {
        const li = document.createElement("li");
        li.className = "ok";
        li.textContent = "✓ Ready to sign: every check passes.";
        list.append(li);
      }
      check.problems.forEach(function (p) {
        const li = document.createElement("li");
        li.className = "error";
        li.dataset.field = p.field;
        li.textContent = "✗ " + p.field + ": " + p.message;
        list.append(li);
      });
      const warnings = record.warnings || [];
      warnings.forEach(function (w) {
        const li = document.createElement("li");
        li.className = "warning";
        li.textContent = "! " + w.field + ": " + w.message;
        list.append(li);
      });
    } catch (e) { /* the save line already says what went wrong */ }
  }

  // --- wiring -----------------------------------------------------------------------------------------------
  ["needles-out", "pain-before", "pain-after", "tx-plan"].forEach(function (id) { $(id).addEventListener("input", edited); });
  $("needles-in").addEventListener("input", function () { insertedTouched = true; edited(); });
  ["sharps", "verbal-consent", "tolerance"].forEach(function (id) { $(id).addEventListener("change", edited); });
  document.querySelectorAll(".counter button").forEach(function (b) {
    b.addEventListener("click", function () {
      const input = $(b.dataset.for);
      const v = Math.max(0, (Number(input.value) || 0) + (b.classList.contains("inc") ? 1 : -1));
      input.value = v;
      if (b.dataset.for === "needles-in") insertedTouched = true;
      edited();
    });
  });
  document.querySelectorAll(".counter input").forEach(function (input) {
    input.addEventListener("keydown", function (e) {
      if (e.key !== "+" && e.key !== "-") return;
      e.preventDefault();
      input.value = Math.max(0, (Number(input.value) || 0) + (e.key === "+" ? 1 : -1));
      if (input.id === "needles-in") insertedTouched = true;
      edited();
    });
  });
  function addNeedle() {
    const choice = $("add-muscle").value;
    if (!choice) return;
    const t = JSON.parse(choice);
    needles.push({ muscle: t.muscle, level: t.level, side: t.side, kind: t.kind, gauge_mm: 0.25, length_mm: 40, insertions: 1, depth_mm: null, responses: [], e_stim: null });
    renderRows();
    edited();
    $("n" + (needles.length - 1) + "-gauge").focus();
  }
  function addEvent() {
    events.push({ kind: "bleeding", severity: "mild", haemostasis: null });
    renderEvents();
    edited();
    $("ae" + (events.length - 1) + "-kind").focus();
  }
  $("add-needle").addEventListener("click", addNeedle);
  $("add-ae").addEventListener("click", addEvent);
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") { e.preventDefault(); draft.flush().catch(function () {}); }
    else if (e.altKey && e.key.toLowerCase() === "n" && !readOnly) { e.preventDefault(); addNeedle(); }
    else if (e.altKey && e.key.toLowerCase() === "a" && !readOnly) { e.preventDefault(); addEvent(); }
    else if (e.altKey && e.code === "KeyC") { e.preventDefault(); $("needles-out").focus(); }  // the count, as needles come out
  });

  function fillMuscleChoices() {
    const select = $("add-muscle");
    select.replaceChildren();
    const seen = {};
    (init.targets || []).concat(needles).forEach(function (t) {
      const v = JSON.stringify({ muscle: t.muscle, level: t.level, side: t.side, kind: t.kind || null });
      if (seen[v]) return;
      seen[v] = true;
      const o = document.createElement("option");
      o.value = v;
      o.textContent = (names[t.muscle] || t.muscle) + " · " + t.level + " " + t.side;
      select.append(o);
    });
  }

  const draft = IMS.draft({
    kind: "treatments",
    record: init.record,
    createUrl: "/api/v1/patients/" + init.patient.id + "/treatments",
    createExtra: function () {
      const x = { episode_id: init.episode_id };
      if (init.assessment_id) x.assessment_id = init.assessment_id;
      if (init.appointment_id) x.appointment_id = init.appointment_id;
      return x;
    },
    body: body, load: load, describe: describe,
    pageUrl: function (id) { return "/app/treatments/" + id; },
    onSaved: signCheck,
  });

  IMS.wireSign(draft, "Not signed — the server refused:", async function () {
    if (draft.record) await signCheck(draft.record);
  });

  $("pdf-link").addEventListener("click", async function (e) {
    e.preventDefault();
    const r = await fetch(this.href, { headers: { "X-CSRF-Token": IMS.csrfToken() }, credentials: "same-origin" });
    if (!r.ok) { IMS.showStatus("The PDF could not be made (" + r.status + ")."); return; }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await r.blob());
    a.download = "chart-" + init.patient.chart_number + ".pdf";
    document.body.append(a);
    a.click();
    a.remove();
  });

  if (readOnly) {
    $("form-body").disabled = true;
    IMS.wireSigned(draft, function () { readOnly = false; $("form-body").disabled = false; renderRows(); renderEvents(); });
    IMS.showHistory(draft);
  }

  api("GET", "/api/v1/reference/muscles").then(function (r) {
    r.data.forEach(function (m) { names[m.code] = m.name; });
    document.querySelectorAll(".needle-row > legend").forEach(function (legend, i) {  // names only: keep focus
      const n = needles[i];
      if (n) legend.textContent = "Needle " + (i + 1) + ": " + (names[n.muscle] || n.muscle) + " · " + n.level + " " + n.side;
    });
    fillMuscleChoices();
  }).catch(function () {});
  load(init.record);
  fillMuscleChoices();
  if (init.record) signCheck(init.record);
})();
