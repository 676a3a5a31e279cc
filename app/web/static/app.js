/* IMS Chart page script. Small on purpose: pages work without it (plain forms), and with it they
 * talk to the API through one wrapper, `api(method, url, body, options)`, which
 *   - sends the session's CSRF token (X-CSRF-Token) with every request, and If-Match when asked;
 *   - on 401 (the session timed out) opens the sign-in dialog, signs in again, and resends — the page and
 *     everything typed in it stay as they are;
 *   - on a lost network (or a 502/503/504) keeps the request, says so in the status line, and retries with
 *     backoff until it goes through (sooner when the browser reports it is online again); a POST carries one
 *     Idempotency-Key for all its attempts, so a create whose answer was lost is replayed, not run twice;
 *   - on a 403 for a stale CSRF token fetches the session's current token once and resends.
 * It resolves to {status, data, etag, headers} for a 2xx/304 answer and rejects with an ApiError otherwise.
 */
(function () {
  "use strict";

  function meta(name) { return document.querySelector('meta[name="' + name + '"]'); }

  function csrfToken() { const m = meta("csrf-token"); return m ? m.content : ""; }

  /** After a new sign-in: the meta tag and every form's hidden csrf_token field carry the new token. */
  function setCsrfToken(token) {
    const m = meta("csrf-token");
    if (m) m.content = token;
    document.querySelectorAll('form:not([action="/app/login"]) input[name="csrf_token"]')
      .forEach(function (input) { input.value = token; });
  }

  function showStatus(text) {
    const el = document.getElementById("status");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  class ApiError extends Error {
    constructor(status, data, headers) {
      super((data && (data.detail || data.title)) || ("HTTP " + status));
      this.name = "ApiError";
      this.status = status;
      this.data = data;      // the problem+json body (type, title, detail, errors[])
      this.headers = headers;
    }
  }


  function untilOnlineOr(ms) {
    return new Promise(function (resolve) {
      const done = function () { window.removeEventListener("online", done); clearTimeout(timer); resolve(); };
      const timer = setTimeout(done, ms);
      window.addEventListener("online", done);
    });
  }

  async function readBody(response) {
    const type = response.headers.get("content-type") || "";
    if (response.status === 204 || response.status === 304) return null;
    if (type.includes("json")) { try { return await response.json(); } catch (e) { return null; } }
    return await response.text();
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  let reauthPending = null;

  /** Show the sign-in dialog and resolve once signed in again (one dialog for any number of callers). */
  function reauthenticate() {
    if (reauthPending) return reauthPending;
    const dialog = document.getElementById("reauth");
    if (!dialog) {  // a page without the dialog: go to the sign-in page and come back
      window.location.assign("/app/login?next=" + encodeURIComponent(location.pathname + location.search));
      return new Promise(function () {});
    }
    const form = document.getElementById("reauth-form");
    const error = document.getElementById("reauth-error");
    reauthPending = new Promise(function (resolve) {
      async function submit(event) {
        event.preventDefault();
        error.hidden = true;
        try {
          const start = await fetch("/app/login", { headers: { Accept: "application/json" }, credentials: "same-origin" });
          const { login_csrf } = await start.json();
          const fields = new URLSearchParams({
            email: form.elements.email.value, password: form.elements.password.value, csrf_token: login_csrf,
          });
          const answer = await fetch("/app/login", {
            method: "POST", body: fields, credentials: "same-origin", headers: { Accept: "application/json" },
          });
          const data = await readBody(answer);
          if (!answer.ok) {
            error.textContent = (data && data.detail) || "Sign-in failed";
            error.hidden = false;
            return;
          }
          setCsrfToken(data.csrf_token);
          form.elements.password.value = "";
          form.removeEventListener("submit", submit);
          dialog.close();
          reauthPending = null;
          resolve();
        } catch (e) {
          error.textContent = "No connection to the server; try again in a moment.";
          error.hidden = false;
        }
      }
      form.addEventListener("submit", submit);
      dialog.addEventListener("cancel", function (e) { e.preventDefault(); });  // Esc must not drop the retry
      dialog.showModal();
      form.elements.password.focus();
    });
    return reauthPending;
  }

  async function refreshCsrf() {
    const r = await fetch("/app/session", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (r.ok) setCsrfToken((await r.json()).csrf_token);
    return r.ok;
  }

  const RETRY_STATUSES = [502, 503, 504];
  const OFFLINE = "Connection lost: what you entered is kept on this page and will be sent when the connection returns.";

  /**
   * api("PATCH", "/api/v1/assessments/" + id, {...}, {ifMatch: etag}) -> {status, data, etag, headers}
   * options: ifMatch (an ETag or a version number), headers (extra), retries (network retries, default
   * unlimited), signal (an AbortController's, to give up).
   */
  async function api(method, url, body, options) {
    const opts = options || {};
    const limit = opts.retries === undefined ? Infinity : opts.retries;
    let attempt = 0;
    let csrfRefreshed = false;
    // A POST resent after a lost answer must not run twice: one Idempotency-Key for all its attempts.
    const key = method.toUpperCase() === "POST" ? newKey() : null;
    for (;;) {
      const headers = Object.assign({ Accept: "application/json", "X-CSRF-Token": csrfToken() }, opts.headers || {});
      if (key && !("Idempotency-Key" in headers)) headers["Idempotency-Key"] = key;
      let payload;
      if (body instanceof FormData || body instanceof URLSearchParams) payload = body;
      else if (body !== undefined && body !== null) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
      if (opts.ifMatch !== undefined && opts.ifMatch !== null) {
        headers["If-Match"] = /^(W\/)?"/.test(String(opts.ifMatch)) ? String(opts.ifMatch) : 'W/"' + opts.ifMatch + '"';
      }
      let response;
      try {
        response = await fetch(url, { method: method, headers: headers, body: payload, credentials: "same-origin",
                                      cache: "no-store", signal: opts.signal });
      } catch (e) {
        if (e.name === "AbortError" || attempt >= limit) throw e;
        attempt += 1;
        showStatus(OFFLINE);
        document.dispatchEvent(new CustomEvent("api:offline", { detail: { url: url, attempt: attempt } }));
        await untilOnlineOr(Math.min(15000, 500 * 2 ** attempt));
        continue;
      }
      if (RETRY_STATUSES.includes(response.status) && attempt < limit) {
        attempt += 1;
        showStatus(OFFLINE);
        const after = Number(response.headers.get("Retry-After")) * 1000;
        await untilOnlineOr(after > 0 ? Math.min(after, 15000) : Math.min(15000, 500 * 2 ** attempt));
        continue;
      }
      if (attempt > 0) { showStatus(""); document.dispatchEvent(new CustomEvent("api:online")); attempt = 0; }
      const data = await readBody(response);
      if (response.status === 401) { await reauthenticate(); continue; }
      if (response.status === 403 && !csrfRefreshed && data && String(data.type || "").endsWith("/csrf-refused")) {
        csrfRefreshed = true;
        if (await refreshCsrf()) continue;
      }
      if (!response.ok && response.status !== 304) throw new ApiError(response.status, data, response.headers);
      return { status: response.status, data: data, etag: response.headers.get("ETag"), headers: response.headers };
    }
  }

  window.IMS = { api: api, ApiError: ApiError, csrfToken: csrfToken, setCsrfToken: setCsrfToken,
                 showStatus: showStatus, reauthenticate: reauthenticate };
  window.api = api;
})();
