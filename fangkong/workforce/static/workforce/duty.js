/* Check in and out at a post by scanning its code; keeps working offline.
 *
 * As the sampler's page does (fangkong/testing/static/testing/sampler.js): every scan
 * becomes an event with a client-made id, kept on the phone first (localStorage: a few
 * events a day) and uploaded in batches; an event leaves "pending" only when the server
 * has answered for it, and a replayed event is answered from what the server stored, so
 * a bad network neither loses a check-in nor makes two.
 */
"use strict";

(() => {
  const root = document.getElementById("duty");
  if (!root) return;
  const wf = window.fkWorkforce;
  const USER = root.dataset.user;
  const STORE = `fk-workforce-duty:${USER}`;
  const OPEN = `fk-workforce-open:${USER}`;
  const TICK_MS = 3000;
  const MAX_BACKOFF_MS = 60000;
  const $ = (id) => document.getElementById(id);
  let inflight = false;
  let backoff = 0;
  let nextAttempt = 0;
  let authProblem = false;

  const events = () => JSON.parse(localStorage.getItem(STORE) || "[]");
  const save = (list) => localStorage.setItem(STORE, JSON.stringify(list.slice(-500)));
  const openDuty = () => JSON.parse(localStorage.getItem(OPEN) || "null");
  const setOpen = (value) => localStorage.setItem(OPEN, JSON.stringify(value));

  function say(level, zh, en) {
    const box = $("duty-message");
    box.className = `wf-msg ${level}`;
    box.textContent = `${zh} / ${en}`;
    if (level === "error" && navigator.vibrate) navigator.vibrate(300);
  }

  function record(event, label) {
    // The one durable step before anything is shown as done.
    const list = events();
    list.push({ event, label, state: "pending", result: null });
    save(list);
  }

  async function scanned(text) {
    const read = await wf.readCode(text, "post", wf.keys());
    if (!read.ok) return say("error", read.zh, read.en);
    const now = openDuty();
    if (now && now.subject === read.subject) {
      return checkOut(`已在${read.name}签到，如需签退请点“签退”`, `already checked in at ${read.name}; press Check out to leave`);
    }
    const event = { client_id: wf.uuid(), type: "in", at: wf.isoNow(), code: read.text };
    record(event, { post: read.name });
    setOpen({ client_id: event.client_id, post: read.name, subject: read.subject, at: event.at });
    say("", `已签到：${read.name} ${new Date().toLocaleTimeString()}`, `checked in at ${read.name}`);
    render();
    upload();
  }

  function checkOut(zhNote, enNote) {
    const now = openDuty();
    if (!now) return say("warn", "当前没有签到", "not checked in");
    if (zhNote) return say("warn", zhNote, enNote);
    const event = { client_id: wf.uuid(), type: "out", at: wf.isoNow(), ref: now.client_id };
    record(event, { post: now.post });
    setOpen(null);
    say("", `已签退：${now.post}`, `checked out of ${now.post}`);
    render();
    upload();
  }

  async function upload() {
    if (inflight || Date.now() < nextAttempt) return;
    const pending = events().filter((r) => r.state === "pending");
    if (!pending.length) return render();
    inflight = true;
    try {
      const resp = await fetch(root.dataset.uploadUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": wf.csrfToken() },
        body: JSON.stringify({ device_time: wf.isoNow(), events: pending.slice(0, 100).map((r) => r.event) }),
      });
      if (resp.ok) {
        const body = await resp.json();
        const answers = new Map((body.results || []).map((r) => [r.client_id, r]));
        const list = events();
        for (const rec of list) {
          const answer = answers.get(rec.event.client_id);
          if (!answer || rec.state !== "pending") continue;
          rec.state = answer.status;
          rec.result = answer;
          if (answer.status === "rejected") say("error", answer.message_zh || "被拒绝", answer.message || answer.code);
        }
        save(list);
        backoff = 0;
        nextAttempt = 0;
        authProblem = false;
        root.dataset.online = "true";
      } else if (resp.status === 401 || resp.status === 403) {
        authProblem = true;
        wait();
      } else wait(+resp.headers.get("Retry-After") || 0);
    } catch (_) {
      root.dataset.online = "false";
      wait();
    } finally {
      inflight = false;
    }
    render();
  }

  function wait(seconds = 0) {
    backoff = Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 1000);
    nextAttempt = Date.now() + Math.max(backoff * (0.5 + Math.random() / 2), seconds * 1000);
  }

  function render() {
    const list = events();
    const pending = list.filter((r) => r.state === "pending").length;
    root.dataset.pending = String(pending);
    $("duty-pending").textContent = String(pending);
    const offline = !navigator.onLine || root.dataset.online === "false";
    $("duty-net").className = `wf-pill${offline ? " off" : ""}`;
    $("duty-net").textContent = offline ? "离线 Offline" : "在线 Online";
    $("duty-login").hidden = !authProblem;
    $("duty-sync").textContent = authProblem ? "登录已过期，记录保存在本机 / session expired; kept on this phone" : "";
    const now = openDuty();
    $("duty-state").textContent = now ? `在岗：${now.post}（${now.at.slice(11, 16)}起） / on duty at ${now.post}` : "未在岗 / not on duty";
    $("duty-out").hidden = !now;
    root.dataset.onDuty = now ? "true" : "false";
    const feed = list.slice(-15).reverse().map((r) => {
      const li = document.createElement("li");
      const what = r.event.type === "in" ? "签到 In" : "签退 Out";
      const state = r.state === "pending" ? "待上传 waiting" : r.state === "accepted" ? "✓" : `✗ ${(r.result || {}).message_zh || ""}`;
      li.textContent = `${r.event.at.slice(5, 16).replace("T", " ")} ${what} ${r.label.post || ""} · ${state}`;
      li.dataset.state = r.state;
      return li;
    });
    $("duty-feed").replaceChildren(...feed);
  }

  function start() {
    // What the server knows is open (another phone, or this one's storage was cleared).
    const known = JSON.parse(document.getElementById("wf-open").textContent || "[]");
    if (!openDuty() && known.length && !events().some((r) => r.state === "pending"))
      setOpen({ client_id: known[0].client_id, post: known[0].post, subject: "", at: known[0].at });
    if (openDuty() && !known.length && !events().some((r) => r.state === "pending")) setOpen(null);
    $("duty-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("duty-code").value;
      $("duty-code").value = "";
      scanned(text);
    });
    $("duty-out").addEventListener("click", () => checkOut());
    const cam = $("duty-camera");
    if (!("BarcodeDetector" in window)) cam.hidden = true;
    cam.addEventListener("click", async () => {
      const stop = await wf.camera($("duty-video"), (text) => {
        stop && stop();
        scanned(text);
      });
    });
    window.addEventListener("online", () => {
      nextAttempt = 0;
      upload();
    });
    window.addEventListener("offline", render);
    setInterval(upload, TICK_MS);
    registerWorker();
    render();
    upload();
    root.dataset.ready = "true";
  }

  /** The service worker (the sampler's) keeps this page and the assets it names, so the
   * page reloads with no network. */
  async function registerWorker() {
    if (!("serviceWorker" in navigator) || !root.dataset.swUrl) return;
    try {
      const reg = await navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.swScope });
      const assets = [...document.querySelectorAll("link[rel=stylesheet], script[src]")].map((n) => n.href || n.src);
      const worker = reg.active || reg.waiting || reg.installing;
      const send = (w) => w && w.postMessage({ cache: [location.pathname, ...assets] });
      if (worker && worker.state === "activated") send(worker);
      else if (worker) worker.addEventListener("statechange", () => worker.state === "activated" && send(worker));
    } catch (_) {
      /* the page still works; it just will not reload offline */
    }
  }

  start();
})();
