/* A questionnaire on the tablet: the checked radios become the API's `responses` (one per item, null when
 * unanswered), sent to POST /api/v1/patients/{id}/outcomes through window.api (CSRF, re-auth, retry). The
 * server validates and scores; its score is shown, and each field error is shown beside the item it names
 * (`responses[3]`, `responses[7].minutes`); anything else (`responses`, `labels`) at the top of the form. */
(function () {
  "use strict";
  const form = document.getElementById("outcome-form");
  if (!form) return;
  const result = document.getElementById("result");
  const formError = document.getElementById("form-error");

  function checked(name) {
    const input = form.querySelector('input[name="' + name + '"]:checked');
    return input && input.value !== "" ? input.value : null;
  }

  function answer(item) {
    const i = item.dataset.item;
    const kind = item.dataset.kind;
    if (kind === "branch") {
      const branch = checked("item-" + i + "-branch");
      const minutes = checked("item-" + i + "-minutes");
      if (branch === null && minutes === null) return null;
      const out = {};
      if (branch !== null) out.branch = branch;
      if (minutes !== null) out.minutes = minutes;
      return out;
    }
    const value = checked("item-" + i);
    if (value === null) return null;
    if (kind === "yes_no") return value === "true";
    if (kind === "integer") return Number(value);
    return value;
  }

  function clearErrors() {
    formError.hidden = true;
    formError.textContent = "";
    form.querySelectorAll(".field-error").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("fieldset[aria-invalid]").forEach(function (f) { f.removeAttribute("aria-invalid"); });
  }

  function showErrors(problem) {
    const general = [];
    let first = null;
    ((problem && problem.errors) || []).forEach(function (e) {
      const m = /^responses\[(\d+)\](?:\.(\w+))?/.exec(e.field || "");
      const p = m && document.getElementById("item-" + m[1] + "-error");
      if (p) {  // "responses[7].minutes" -> "Minutes: one of nil, 1-10, ..." beside item 8
        const part = m[2] ? m[2].charAt(0).toUpperCase() + m[2].slice(1) + ": " : "";
        p.textContent = (p.textContent ? p.textContent + " " : "") + part + e.message;
        p.hidden = false;
        const fieldset = document.getElementById("item-" + m[1]);
        fieldset.setAttribute("aria-invalid", "true");
        first = first || fieldset;
      } else {
        general.push((e.field ? e.field + ": " : "") + e.message);
      }
    });
    if (general.length || !first) {
      formError.textContent = general.length ? general.join("; ") : ((problem && problem.detail) || "Not saved");
      formError.hidden = false;
      formError.scrollIntoView({ block: "center" });
    } else {
      first.scrollIntoView({ block: "center" });
      const input = first.querySelector("input");
      if (input) input.focus();
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    clearErrors();
    const psfs = form.dataset.instrument === "psfs";
    const responses = [];
    const labels = [];
    form.querySelectorAll("fieldset.item").forEach(function (item) {
      const value = answer(item);
      if (psfs) {  // PSFS: a row counts when the patient named an activity or scored it
        const label = item.querySelector("input[data-label]").value.trim();
        if (!label && value === null) return;
        labels.push(label);
      }
      responses.push(value);
    });
    const body = { instrument: form.dataset.instrument, responses: responses };
    if (psfs) body.labels = labels;
    const episode = form.elements.episode_id;
    if (episode && episode.value) body.episode_id = episode.value;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const answered = await window.api("POST", "/api/v1/patients/" + form.dataset.patient + "/outcomes", body);
      const data = answered.data;
      document.getElementById("result-score").textContent = String(data.score);
      const subs = data.subscores || {};
      document.getElementById("result-subscores").textContent = Object.keys(subs)
        .map(function (k) { return k + ": " + subs[k]; }).join(" · ");
      result.dataset.outcome = data.id;
      result.hidden = false;
      form.hidden = true;
      result.focus();
    } catch (e) {
      if (e && e.name === "ApiError") showErrors(e.data);
      else { formError.textContent = String(e); formError.hidden = false; }
    } finally {
      button.disabled = false;
    }
  });
})();
