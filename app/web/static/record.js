/* A clinical record's draft on a page: debounced autosave through the API's If-Match rules, the conflict
 * dialog (theirs vs yours, the therapist chooses), sign, amend with a reason, and the revision history.
 * The page supplies what the record holds (body()), how to show one (load(record)) and how to describe one
 * in words for the conflict dialog (describe(recordOrBody)); every rule is the API's own.
 *
 *   const draft = IMS.draft({kind: "assessments", createUrl, createExtra(), body(), load(record),
 *                            describe(x), pageUrl(id), onSaved(record)});
 *   draft.changed();   // after any edit: saves ~0.7 s after the last one
 *   await draft.flush(); // now (Ctrl+S, and before signing)
 */
(function () {
  "use strict";
  const api = window.IMS.api;
  const DEBOUNCE_MS = 700;

  function el(id) { return document.getElementById(id); }

  function problemText(err) {
    const data = err && err.data;
    if (data && Array.isArray(data.errors) && data.errors.length) {
      return data.errors.map(function (e) { return (e.field ? e.field + ": " : "") + e.message; });
    }
    return [(data && (data.detail || data.title)) || String(err && err.message || err)];
  }

  function showProblems(target, title, lines) {
    const box = el(target);
    if (!box) return;
    box.replaceChildren();
    if (!lines || !lines.length) { box.hidden = true; return; }
    const h = document.createElement("p");
    h.className = "error";
    h.textContent = title;
    const ul = document.createElement("ul");
    lines.forEach(function (line) { const li = document.createElement("li"); li.textContent = line; ul.append(li); });
    box.append(h, ul);
    box.hidden = false;
  }

  function draft(spec) {
    let record = spec.record || null;
    let timer = null;
    let saving = null;
    let dirty = false;
    let paused = false;  // amending: no autosave, the amendment is sent once with its reason
    const stateEl = el("save-state");

    function say(text, kind) {
      if (!stateEl) return;
      stateEl.textContent = text;
      stateEl.dataset.state = kind;
    }

    function changed() {
      dirty = true;
      if (paused) { say("Amendment not yet saved", "dirty"); return; }
      say("Unsaved changes", "dirty");
      clearTimeout(timer);
      timer = setTimeout(function () { flush().catch(function () {}); }, DEBOUNCE_MS);
    }

    async function saveOnce() {
      dirty = false;
      say("Saving…", "saving");
      let answer;
      if (!record) {
        answer = await api("POST", spec.createUrl, Object.assign({}, spec.createExtra(), spec.body()));
        window.history.replaceState(null, "", spec.pageUrl(answer.data.id));
      } else {
        answer = await api("PATCH", "/api/v1/" + spec.kind + "/" + record.id, spec.body(), { ifMatch: record.version });
      }
      record = answer.data;
      showProblems("save-problems", "", []);
      say("All changes saved", "saved");
      if (spec.onSaved) spec.onSaved(record);
      return record;
    }

    async function flush() {
      clearTimeout(timer);
      if (paused) return record;
      while (saving) { await saving.catch(function () {}); }
      if (!dirty && record) return record;
      saving = saveOnce();
      try {
        return await saving;
      } catch (err) {
        dirty = true;
        saving = null;
        if (err.status === 412) return await conflict();
        say("Not saved", "error");
        showProblems("save-problems", "Not saved — the server refused this change (what you entered is kept):",
                     problemText(err));
        throw err;
      } finally {
        saving = null;
      }
    }

    /** 412: another device saved first. Show both versions; the therapist keeps theirs or re-saves theirs. */
    async function conflict() {
      const theirs = (await api("GET", "/api/v1/" + spec.kind + "/" + record.id)).data;
      const dialog = el("conflict");
      el("conflict-theirs").textContent = spec.describe(theirs);
      el("conflict-yours").textContent = spec.describe(spec.body());
      say("Conflict: choose a version", "error");
      dialog.showModal();
      const choice = await new Promise(function (resolve) {
        el("conflict-mine").onclick = function () { resolve("mine"); };
        el("conflict-take").onclick = function () { resolve("theirs"); };
        dialog.oncancel = function (e) { e.preventDefault(); };
      });
      dialog.close();
      record = theirs;
      if (choice === "theirs") {
        dirty = false;
        spec.load(theirs);
        say("Their version loaded", "saved");
        if (spec.onSaved) spec.onSaved(theirs);
        return theirs;
      }
      dirty = true;  // keep mine: save it over their version, knowingly (their version is the new If-Match)
      return await flush();
    }

    async function sign() {
      await flush();
      const answer = await api("POST", "/api/v1/" + spec.kind + "/" + record.id + "/sign", null, { ifMatch: record.version });
      record = answer.data;
      return record;
    }

    function startAmending() { paused = true; }

    async function amend(reason) {
      const answer = await api("POST", "/api/v1/" + spec.kind + "/" + record.id + "/amendments",
                               { reason: reason, changes: spec.body() }, { ifMatch: record.version });
      record = answer.data;
      paused = false;
      dirty = false;
      return record;
    }

    async function history() {
      if (!record) return [];
      return (await api("GET", "/api/v1/" + spec.kind + "/" + record.id + "/history")).data;
    }

    window.addEventListener("beforeunload", function (e) {
      if (dirty || saving) { e.preventDefault(); e.returnValue = ""; }
    });

    return { changed: changed, flush: flush, sign: sign, amend: amend, startAmending: startAmending,
             history: history, pageUrl: spec.pageUrl, get record() { return record; }, get dirty() { return dirty; } };
  }

  /** The draft's Sign button (#sign): sign, then open the signed note; a refusal is listed under the button
   *  (#sign-problems) after `beforeShowing` (e.g. refreshing the sign checkpoint) has run. */
  function wireSign(d, title, beforeShowing) {
    const button = el("sign");
    if (!button) return;
    button.addEventListener("click", async function () {
      showProblems("sign-problems", "", []);
      try {
        const record = await d.sign();
        location.assign(d.pageUrl(record.id));
      } catch (err) {
        if (beforeShowing) await beforeShowing();
        showProblems("sign-problems", title, problemText(err));
      }
    });
  }

  /** The revision list of a signed record, into <ol id="history-list">. */
  async function showHistory(d) {
    const list = el("history-list");
    if (!list) return;
    const rows = await d.history();
    list.replaceChildren();
    rows.forEach(function (r) {
      const li = document.createElement("li");
      li.textContent = "Revision " + r.revision + " · " + r.kind + " · " + r.created_at.replace("T", " ").slice(0, 16) +
        (r.reason ? " · reason: " + r.reason : "") + (r.changed && r.changed.length ? " · changed: " + r.changed.join(", ") : "");
      list.append(li);
    });
  }

  /** The signed view: controls read-only, the amend form wired (reason first, then edit, then save). */
  function wireSigned(d, onEditable) {
    const start = el("amend-start");
    const save = el("amend-save");
    const reason = el("amend-reason");
    if (!start) return;
    start.addEventListener("click", function () {
      el("amend-form").hidden = false;
      start.hidden = true;
      d.startAmending();
      onEditable();
      reason.focus();
    });
    save.addEventListener("click", async function () {
      if (reason.value.trim().length < 3) {
        showProblems("save-problems", "Give the reason for the amendment (at least 3 characters).", [" "]);
        reason.focus();
        return;
      }
      try {
        await d.amend(reason.value.trim());
        location.reload();
      } catch (err) {
        showProblems("save-problems", "The amendment was not saved:", problemText(err));
      }
    });
  }

  /** Alt+G, anywhere on a record's page: to the finish — the Sign button while a draft, once signed the
   * next step (needle the targets, print the record) — so a keyboard user never Tabs through the whole form. */
  function finishControl() {
    const ids = ["sign", "to-needling", "pdf-link", "amend-start"];
    for (let i = 0; i < ids.length; i++) {
      const c = el(ids[i]);
      if (c && !c.hidden && !c.disabled && c.getAttribute("aria-disabled") !== "true" && c.offsetParent !== null) return c;
    }
    return null;
  }
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.code !== "KeyG") return;
    const target = finishControl();
    if (!target) return;
    e.preventDefault();
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  });

  window.IMS.draft = draft;
  window.IMS.problemText = problemText;
  window.IMS.showProblems = showProblems;
  window.IMS.showHistory = showHistory;
  window.IMS.wireSigned = wireSigned;
  window.IMS.wireSign = wireSign;
})();
