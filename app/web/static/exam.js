/* The Gunn exam grid: C1-S5 x left/right, one keyboard stop, keys and clicks cycle each finding kind.
 * What it holds is exactly the assessments API's LevelFinding (muscle_shortening, tender_points with a 1-3
 * severity, skin_changes flags, paraspinal_tenderness/shortening), the impression (segments) and the plan.
 * The segmental summary and the suggested targets are the server's (GET .../segmental-summary after each
 * save): no clinical rule is computed here.
 */
(function () {
  "use strict";
  const root = document.getElementById("visit");
  if (!root || !document.getElementById("grid")) return;
  const IMS = window.IMS;
  const api = IMS.api;
  const init = JSON.parse(root.dataset.state);
  let signed = root.dataset.signed === "true";
  let readOnly = signed;
  const SKIN = ["trophedema", "pilomotor", "vasomotor", "sudomotor", "hair_loss", "dermatomal_hyperalgesia"];
  const SKIN_LABEL = { trophedema: "Trophedema", pilomotor: "Pilomotor", vasomotor: "Vasomotor", sudomotor: "Sudomotor",
                       hair_loss: "Hair loss", dermatomal_hyperalgesia: "Dermatomal hyperalgesia" };
  const names = {};          // muscle code -> name (reference data)
  const byLevel = {};        // level -> [muscle] (GET /api/v1/reference/muscles?level=)
  let cells = {};            // "L5|left" -> cell
  let impression = new Set();
  let extraImpression = [];  // bilateral segments charted elsewhere: kept as they are
  let current = { level: init.levels[0], side: "left" };
  let pending = null;        // "sh" | "tp": the kind to set on the muscle picked next
  const grid = document.getElementById("grid");
  const $ = function (id) { return document.getElementById(id); };

  function key(level, side) { return level + "|" + side; }
  function cell(level, side) {
    const k = key(level, side);
    if (!cells[k]) cells[k] = { muscles: [], skin: {}, skinNotes: null, paraTender: false, paraBand: false, orig: null };
    return cells[k];
  }
  function hasContent(c) {
    return c.muscles.length || SKIN.some(function (s) { return c.skin[s]; }) || c.paraTender || c.paraBand || c.orig;
  }

  // --- load a record (or nothing) into the page -----------------------------------------------------------
  function load(record) {
    cells = {};
    impression = new Set();
    extraImpression = [];
    (record ? record.findings : []).forEach(function (f) {
      (f.side === "bilateral" ? ["left", "right"] : [f.side]).forEach(function (side) {
        const c = cell(f.level, side);
        c.orig = f;
        const m = {};
        f.muscle_shortening.forEach(function (e) { m[e.muscle] = m[e.muscle] || { code: e.muscle }; m[e.muscle].sh = e.severity; m[e.muscle].shEntry = e; });
        f.tender_points.forEach(function (e) { m[e.muscle] = m[e.muscle] || { code: e.muscle }; m[e.muscle].tp = e.severity; m[e.muscle].tpEntry = e; });
        c.muscles = Object.values(m);
        SKIN.forEach(function (s) { c.skin[s] = !!f.skin_changes[s]; });
        c.skinNotes = f.skin_changes.notes || null;
        c.paraTender = !!f.paraspinal_tenderness;
        c.paraBand = !!f.paraspinal_shortening;
      });
    });
    (record ? record.impression : []).forEach(function (s) {
      if (s.side === "bilateral") { impression.add(key(s.level, "left")); impression.add(key(s.level, "right")); }
      else impression.add(key(s.level, s.side));
    });
    $("plan").value = record && record.plan ? record.plan : "";
    renderAll();
  }

  // --- what is sent: AssessmentUpdate's findings, impression and plan ---------------------------------------
  function body() {
    const findings = [];
    init.levels.forEach(function (level) {
      ["left", "right"].forEach(function (side) {
        const c = cells[key(level, side)];
        if (!c || !hasContent(c)) return;
        const base = c.orig ? Object.assign({}, c.orig) : {};
        const skin = Object.assign({}, base.skin_changes || {});
        SKIN.forEach(function (s) { skin[s] = !!c.skin[s]; });
        if (c.skinNotes) skin.notes = c.skinNotes;
        findings.push(Object.assign(base, {
          level: level, side: side,
          muscle_shortening: c.muscles.filter(function (m) { return m.sh !== undefined; })
            .map(function (m) { return Object.assign({}, m.shEntry || {}, { muscle: m.code, severity: m.sh }); }),
          tender_points: c.muscles.filter(function (m) { return m.tp !== undefined; })
            .map(function (m) { return Object.assign({}, m.tpEntry || {}, { muscle: m.code, severity: m.tp }); }),
          skin_changes: skin, paraspinal_tenderness: c.paraTender, paraspinal_shortening: c.paraBand,
        }));
      });
    });
    const segs = [];
    init.levels.forEach(function (level) {
      ["left", "right"].forEach(function (side) { if (impression.has(key(level, side))) segs.push({ level: level, side: side }); });
    });
    return { findings: findings, impression: segs.concat(extraImpression), plan: $("plan").value.trim() || null };
  }

  function describe(x) {
    const lines = [];
    (x.findings || []).forEach(function (f) {
      const parts = [];
      if (f.muscle_shortening.length) parts.push("shortening " + f.muscle_shortening.map(function (m) { return (names[m.muscle] || m.muscle) + " " + (m.severity == null ? "+" : m.severity); }).join(", "));
      if (f.tender_points.length) parts.push("tender " + f.tender_points.map(function (m) { return (names[m.muscle] || m.muscle) + " " + (m.severity == null ? "+" : m.severity); }).join(", "));
      const skin = SKIN.filter(function (s) { return f.skin_changes && f.skin_changes[s]; });
      if (skin.length) parts.push("skin " + skin.join(", "));
      if (f.paraspinal_tenderness) parts.push("paraspinal tender");
      if (f.paraspinal_shortening) parts.push("paraspinal band");
      lines.push(f.level + " " + f.side + ": " + (parts.join("; ") || "examined"));
    });
    lines.push("Impression: " + ((x.impression || []).map(function (s) { return s.level + " " + s.side; }).join(", ") || "none"));
    lines.push("Plan: " + (x.plan || "—"));
    return lines.join("\n");
  }

  // --- drawing --------------------------------------------------------------------------------------------
  function maxOf(c, kind) {
    let best;
    c.muscles.forEach(function (m) {
      const v = m[kind];
      if (v === undefined) return;
      const n = v === null ? 1 : v;
      best = best === undefined ? n : Math.max(best, n);
    });
    return best;
  }

  function chip(kind, label, text, on, title) {
    const b = document.createElement("button");
    b.type = "button";
    b.tabIndex = -1;
    b.className = "chip" + (on ? " on" : "");
    b.dataset.kind = kind;
    // The letter is drawn by CSS (.chip::before), not a text node: the cell's spoken name says the same in
    // words, and a visible "S2 T K P B" in the DOM would not be part of that name (axe: label-content-name-mismatch).
    b.dataset.text = text;
    b.setAttribute("aria-label", title);
    b.title = title;
    b.disabled = readOnly;
    return b;
  }

  function cellLabel(level, side, c) {
    const parts = [level + " " + side];
    const sh = maxOf(c, "sh"), tp = maxOf(c, "tp");
    parts.push("shortening " + (sh === undefined ? "none" : sh));
    parts.push("tender points " + (tp === undefined ? "none" : tp));
    const skin = SKIN.filter(function (s) { return c.skin[s]; });
    parts.push("skin " + (skin.length ? skin.join(" ") : "none"));
    if (c.paraTender) parts.push("paraspinal tender");
    if (c.paraBand) parts.push("paraspinal band");
    if (c.muscles.length) parts.push("muscles " + c.muscles.map(function (m) { return names[m.code] || m.code; }).join(", "));
    if (impression.has(key(level, side))) parts.push("in impression");
    return parts.join(", ");
  }

  function renderCell(td) {
    const level = td.dataset.level, side = td.dataset.side;
    const c = cells[key(level, side)] || { muscles: [], skin: {} };
    const sh = maxOf(c, "sh"), tp = maxOf(c, "tp");
    const skinOn = SKIN.some(function (s) { return c.skin[s]; });
    td.replaceChildren(
      chip("sh", "S", "S" + (sh === undefined ? "" : sh), sh !== undefined, "Shortening"),
      chip("tp", "T", "T" + (tp === undefined ? "" : tp), tp !== undefined, "Tender points"),
      chip("k", "K", "K", skinOn, "Skin changes"),
      chip("p", "P", "P", !!c.paraTender, "Paraspinal tenderness"),
      chip("b", "B", "B", !!c.paraBand, "Paraspinal band"),
      chip("i", "●", impression.has(key(level, side)) ? "●" : "○", impression.has(key(level, side)), "In impression"));
    td.setAttribute("aria-label", cellLabel(level, side, c));
    td.classList.toggle("charted", !!(sh !== undefined || tp !== undefined || skinOn || c.paraTender || c.paraBand));
    td.classList.toggle("involved", impression.has(key(level, side)));
    td.setAttribute("aria-selected", String(level === current.level && side === current.side));
  }

  function tdFor(level, side) { return grid.querySelector('td[data-level="' + level + '"][data-side="' + side + '"]'); }

  function renderAll() {
    grid.querySelectorAll("td.cell").forEach(renderCell);
    renderPanel();
    renderImpression();
  }

  function renderImpression() {
    const segs = body().impression;
    $("impression-text").textContent = segs.length ? segs.map(function (s) { return s.level + " " + s.side; }).join(", ") : "none yet — press I on a cell";
  }

  function renderPanel() {
    const c = cell(current.level, current.side);
    $("cell-name").textContent = current.level + " " + current.side;
    $("search-level").textContent = current.level;
    const tbody = $("cell-muscles").querySelector("tbody");
    tbody.replaceChildren();
    c.muscles.forEach(function (m, i) {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = names[m.code] || m.code;
      tr.append(name, sevSelect(m, "sh", "Shortening", i), sevSelect(m, "tp", "Tender", i));
      const rm = document.createElement("td");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Remove";
      b.setAttribute("aria-label", "Remove " + (names[m.code] || m.code));
      b.disabled = readOnly;
      b.addEventListener("click", function () { c.muscles.splice(i, 1); edited(); });
      rm.append(b);
      tr.append(rm);
      tbody.append(tr);
    });
    const box = $("skin-box");
    box.querySelectorAll("label").forEach(function (l) { l.remove(); });
    SKIN.forEach(function (s) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.checked = !!c.skin[s];
      input.disabled = readOnly;
      input.addEventListener("change", function () { c.skin[s] = input.checked; edited(); });
      label.append(input, " " + SKIN_LABEL[s]);
      box.append(label);
    });
    $("para-tender").checked = c.paraTender;
    $("para-band").checked = c.paraBand;
    $("in-impression").checked = impression.has(key(current.level, current.side));
    ["para-tender", "para-band", "in-impression", "muscle-search", "plan"].forEach(function (id) { $(id).disabled = readOnly; });
    renderResults();
  }

  function sevSelect(m, kind, label, i) {
    const td = document.createElement("td");
    const s = document.createElement("select");
    s.setAttribute("aria-label", label + " of " + (names[m.code] || m.code));
    [["", "—"], ["null", "+"], ["0", "0"], ["1", "1"], ["2", "2"], ["3", "3"]].forEach(function (o) {
      const opt = document.createElement("option");
      opt.value = o[0]; opt.textContent = o[1];
      s.append(opt);
    });
    s.value = m[kind] === undefined ? "" : String(m[kind]);
    s.disabled = readOnly;
    s.addEventListener("change", function () {
      m[kind] = s.value === "" ? undefined : (s.value === "null" ? null : Number(s.value));
      edited();
    });
    td.append(s);
    return td;
  }

  // --- the muscle picker: the level's muscles from the reference data API, filtered by the search ----------
  async function musclesFor(level) {
    if (!byLevel[level]) {
      byLevel[level] = (await api("GET", "/api/v1/reference/muscles?level=" + encodeURIComponent(level))).data;
      byLevel[level].forEach(function (m) { names[m.code] = m.name; });
    }
    return byLevel[level];
  }

  function matches() {
    const q = $("muscle-search").value.trim().toLowerCase();
    const list = byLevel[current.level] || [];
    const c = cell(current.level, current.side);
    return list.filter(function (m) {
      return !c.muscles.some(function (x) { return x.code === m.code; }) &&
        (!q || m.name.toLowerCase().includes(q) || m.code.includes(q.replace(/\s+/g, "_")));
    });
  }

  async function renderResults() {
    const level = current.level;
    await musclesFor(level);
    if (level !== current.level) return;
    const ul = $("muscle-results");
    ul.replaceChildren();
    if (readOnly) return;
    matches().slice(0, 12).forEach(function (m) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "result";
      b.textContent = m.name + (m.kind === "paraspinal" ? " (paraspinal)" : "");
      b.setAttribute("aria-label", "Add " + m.name);
      b.addEventListener("click", function () { addMuscle(m); });
      li.append(b);
      ul.append(li);
    });
  }

  function addMuscle(m) {
    const c = cell(current.level, current.side);
    const entry = { code: m.code };
    entry[pending === "tp" ? "tp" : "sh"] = 1;
    c.muscles.push(entry);
    pending = null;
    $("muscle-search").value = "";
    edited();
    IMS.showStatus("");
  }

  // --- editing ----------------------------------------------------------------------------------------------
  function cycleValue(v) { return v === undefined ? 1 : (v === null || v < 3 ? (v === null ? 2 : v + 1) : undefined); }

  function act(kind) {
    if (readOnly) return;
    const c = cell(current.level, current.side);
    if (kind === "sh" || kind === "tp") {
      if (!c.muscles.length) {
        pending = kind;
        openPicker();
        return;
      }
      const next = cycleValue(maxOf(c, kind));
      c.muscles.forEach(function (m) { m[kind] = next; });
    } else if (kind === "k") {
      c.skin.trophedema = !c.skin.trophedema;
    } else if (kind === "p") {
      c.paraTender = !c.paraTender;
    } else if (kind === "b") {
      c.paraBand = !c.paraBand;
    } else if (kind === "i") {
      const k = key(current.level, current.side);
      if (impression.has(k)) impression.delete(k); else impression.add(k);
    }
    edited();
  }

  function edited() {
    renderCell(tdFor(current.level, current.side));
    renderPanel();
    renderImpression();
    draft.changed();
  }

  function openPicker() {
    const input = $("muscle-search");
    input.focus();
    if (pending) IMS.showStatus("Pick a muscle supplied by " + current.level + " for " + (pending === "sh" ? "shortening" : "tender points"));
  }

  function select(level, side, focus) {
    const old = tdFor(current.level, current.side);
    old.tabIndex = -1;
    old.setAttribute("aria-selected", "false");
    current = { level: level, side: side };
    const td = tdFor(level, side);
    td.tabIndex = 0;
    td.setAttribute("aria-selected", "true");
    if (focus) td.focus();
    pending = null;
    renderPanel();
  }

  grid.addEventListener("click", function (e) {
    const td = e.target.closest("td.cell");
    if (!td) return;
    select(td.dataset.level, td.dataset.side, true);
    const b = e.target.closest("button.chip");
    if (b) act(b.dataset.kind);
  });

  grid.addEventListener("focusin", function (e) {  // Tab or a tap into the grid selects the cell it lands on
    const td = e.target.closest("td.cell");
    if (td && (td.dataset.level !== current.level || td.dataset.side !== current.side)) select(td.dataset.level, td.dataset.side, false);
  });

  grid.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const i = init.levels.indexOf(current.level);
    const move = { ArrowUp: [-1, null], ArrowDown: [1, null], PageUp: [-5, null], PageDown: [5, null],
                   ArrowLeft: [0, "left"], ArrowRight: [0, "right"], Home: [-99, null], End: [99, null] }[e.key];
    if (move) {
      e.preventDefault();
      const j = Math.max(0, Math.min(init.levels.length - 1, i + move[0]));
      select(init.levels[j], move[1] || current.side, true);
      return;
    }
    const k = e.key.toLowerCase();
    const kinds = { s: "sh", t: "tp", k: "k", p: "p", b: "b", i: "i" };
    if (kinds[k]) { e.preventDefault(); act(kinds[k]); return; }
    if (k === "m" || e.key === "Enter") { e.preventDefault(); openPicker(); }
  });

  $("muscle-search").addEventListener("input", renderResults);
  $("muscle-search").addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      e.preventDefault();
      const first = matches()[0];
      if (first) addMuscle(first);
    } else if (e.key === "Escape") {
      e.preventDefault();
      pending = null;
      IMS.showStatus("");
      tdFor(current.level, current.side).focus();
    } else if (e.key === "ArrowDown") {
      const first = $("muscle-results").querySelector("button");
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
  $("muscle-results").addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const li = e.target.closest("li");
    const next = e.key === "ArrowDown" ? li && li.nextElementSibling : li && li.previousElementSibling;
    e.preventDefault();
    if (next) next.querySelector("button").focus(); else if (e.key === "ArrowUp") $("muscle-search").focus();
  });
  $("para-tender").addEventListener("change", function (e) { cell(current.level, current.side).paraTender = e.target.checked; edited(); });
  $("para-band").addEventListener("change", function (e) { cell(current.level, current.side).paraBand = e.target.checked; edited(); });
  $("in-impression").addEventListener("change", function () { act("i"); });
  $("plan").addEventListener("input", function () { draft.changed(); });

  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") { e.preventDefault(); draft.flush().catch(function () {}); return; }
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement && document.activeElement.tagName);
    if (e.key === "?" && !typing) { e.preventDefault(); $("shortcuts").open = !$("shortcuts").open; }
  });

  // --- the server's summary ---------------------------------------------------------------------------------
  function showSummary(s) {
    if (!s) return;
    $("involved").textContent = s.involved.length ? s.involved.map(function (x) { return x.level + " " + x.side; }).join(", ") : "none";
    const levels = $("summary-levels");
    levels.replaceChildren();
    s.levels.forEach(function (r) {
      const li = document.createElement("li");
      const bits = [];
      if (r.muscle_shortening.count) bits.push(r.muscle_shortening.count + " shortened" + (r.muscle_shortening.max_severity ? " (max " + r.muscle_shortening.max_severity + ")" : ""));
      if (r.tender_points.count) bits.push(r.tender_points.count + " tender");
      if (r.skin_changes.length) bits.push("skin: " + r.skin_changes.join(", "));
      if (r.paraspinal_tenderness) bits.push("paraspinal tender");
      if (r.paraspinal_shortening) bits.push("paraspinal band");
      li.textContent = r.level + " " + r.side + (r.in_impression ? " (involved)" : "") + ": " + (bits.join("; ") || "—");
      levels.append(li);
    });
    const targets = $("targets");
    targets.replaceChildren();
    s.suggested_targets.forEach(function (t) {
      const li = document.createElement("li");
      li.textContent = t.name + " · " + t.level + " " + t.side + (t.kind === "paraspinal" ? " · paraspinal" : "") + (t.thoracic ? " · over the pleura" : "");
      targets.append(li);
    });
    if (!s.suggested_targets.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "None yet: mark the involved segments (I).";
      targets.append(li);
    }
  }

  async function refreshSummary(record) {
    const link = $("to-needling");
    link.href = "/app/assessments/" + record.id + "/needling";
    link.removeAttribute("aria-disabled");
    try { showSummary((await api("GET", "/api/v1/assessments/" + record.id + "/segmental-summary")).data); }
    catch (e) { $("summary-note").textContent = "The summary could not be loaded: " + e.message; }
  }

  const draft = IMS.draft({
    kind: "assessments",
    record: init.record,
    createUrl: "/api/v1/patients/" + init.patient.id + "/assessments",
    createExtra: function () { return init.appointment_id ? { episode_id: init.episode_id, appointment_id: init.appointment_id } : { episode_id: init.episode_id }; },
    body: body, load: load, describe: describe,
    pageUrl: function (id) { return "/app/assessments/" + id; },
    onSaved: refreshSummary,
  });

  IMS.wireSign(draft, "Not signed:");
  $("to-needling").addEventListener("click", async function (e) {
    if (this.getAttribute("aria-disabled") === "true") { e.preventDefault(); IMS.showStatus("Chart and save the exam first."); return; }
    if (!signed && draft.dirty) { e.preventDefault(); await draft.flush(); location.assign(this.href); }
  });

  if (signed) {
    IMS.wireSigned(draft, function () { readOnly = false; renderAll(); });
    IMS.showHistory(draft);
  }

  // names for a loaded record's muscles, then draw
  api("GET", "/api/v1/reference/muscles").then(function (r) {
    r.data.forEach(function (m) { names[m.code] = m.name; });
    renderAll();
  }).catch(function () {});
  load(init.record);
  if (init.record) { showSummary(init.summary); refreshSummaryLink(init.record); }

  function refreshSummaryLink(record) {
    const link = $("to-needling");
    link.href = "/app/assessments/" + record.id + "/needling";
    link.removeAttribute("aria-disabled");
  }
})();
