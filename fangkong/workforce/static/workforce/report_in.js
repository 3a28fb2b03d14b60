/* Reporting in: the community's printed code is read and checked on the phone (offline),
 * then sent with a client id; with no network it waits on the phone and goes later. */
"use strict";

(() => {
  const form = document.getElementById("report-in-form");
  if (!form) return;
  const wf = window.fkWorkforce;
  const QUEUE = "fk-workforce-report-in";
  const codeInput = document.getElementById("ri-code");
  const shown = document.getElementById("ri-community");
  const msg = document.getElementById("ri-message");
  const api = form.dataset.api;

  function say(level, zh, en) {
    msg.className = `wf-msg ${level}`;
    msg.textContent = `${zh} / ${en}`;
  }

  async function check() {
    const text = codeInput.value.trim();
    shown.textContent = "";
    if (!text) return null;
    const read = await wf.readCode(text, "community", wf.keys());
    if (!read.ok) {
      say("error", read.zh, read.en);
      return null;
    }
    shown.textContent = read.name + (read.verified === null ? "（服务器将核验 / the server will verify）" : " ✓");
    msg.className = "wf-msg";
    msg.textContent = "";
    return read;
  }

  const queued = () => JSON.parse(localStorage.getItem(QUEUE) || "[]");
  const keep = (items) => localStorage.setItem(QUEUE, JSON.stringify(items));

  async function send(item) {
    const resp = await fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": wf.csrfToken() },
      body: JSON.stringify(item),
    });
    const body = await resp.json().catch(() => ({}));
    return { ok: resp.ok, status: resp.status, body };
  }

  async function flush() {
    const items = queued();
    if (!items.length) return;
    const left = [];
    for (const item of items) {
      try {
        const r = await send(item);
        if (r.ok) say("", `已在${r.body.community_name}报到，等待社区确认`, `reported in at ${r.body.community_name}; waiting for the community`);
        else if (r.status >= 500 || r.status === 429) left.push(item);
        else say("error", (r.body.error || {}).message_zh || "报到失败", (r.body.error || {}).message || "report-in refused");
      } catch (_) {
        left.push(item);
      }
    }
    keep(left);
    form.dataset.pending = String(left.length);
  }

  codeInput.addEventListener("change", check);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const community = form.querySelector("[name=community]").value;
    const item = { client_id: wf.uuid(), at: wf.isoNow() };
    if (codeInput.value.trim()) {
      const read = await check();
      if (!read) return;
      item.code = read.text;
    } else if (community) item.community = community;
    else return say("warn", "请扫码或选择社区", "scan the code or choose the community");
    keep([...queued(), item]); // on the phone first: nothing is lost if the network is down
    form.dataset.pending = String(queued().length);
    say("warn", "已记录，正在发送…", "kept on this phone; sending…");
    await flush();
    if (queued().length) say("warn", "网络不通，报到已保存在本机，恢复后自动发送", "no network: kept on this phone, sent when back online");
    else setTimeout(() => (window.location.href = form.dataset.next), 800);
  });

  const video = document.getElementById("ri-video");
  const cam = document.getElementById("ri-camera");
  if (!("BarcodeDetector" in window)) cam.hidden = true;
  cam.addEventListener("click", async () => {
    const stop = await wf.camera(video, (text) => {
      codeInput.value = text;
      stop && stop();
      check();
    });
  });
  window.addEventListener("online", flush);
  setInterval(flush, 15000);
  flush();
  form.dataset.ready = "true";
})();
