/* Shared by the workforce's phone pages: signed codes (FK2, fangkong/core/signing.py)
 * checked offline with the server's public keys, client ids, the CSRF token. */
"use strict";

window.fkWorkforce = (() => {
  function b64urlDecode(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function localDate(d = new Date()) {
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  }

  /** Local time with its offset, as the API takes it. */
  function isoNow() {
    const d = new Date();
    const p = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
    const off = -d.getTimezoneOffset();
    return `${localDate(d)}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}${off >= 0 ? "+" : "-"}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  }

  const keyCache = {};
  async function importKey(kid, keys) {
    if (!(kid in keys)) return null;
    if (!(kid in keyCache)) {
      try {
        keyCache[kid] = await crypto.subtle.importKey("raw", b64urlDecode(keys[kid]), { name: "Ed25519" }, false, ["verify"]);
      } catch (_) {
        keyCache[kid] = null; // this browser cannot verify Ed25519: the server will
      }
    }
    return keyCache[kid];
  }

  /** Read a signed code of `kind`: {ok, name, subject, verified} or {ok: false, zh, en}. */
  async function readCode(text, kind, keys) {
    const m = /^FK2\.([A-Za-z0-9_-]{1,16})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{86})$/.exec((text || "").trim());
    if (!m) return { ok: false, zh: "不是本系统的码", en: "not a Fangkong code" };
    let body;
    try {
      body = JSON.parse(new TextDecoder().decode(b64urlDecode(m[2])));
    } catch (_) {
      return { ok: false, zh: "码的内容无法读取", en: "the code cannot be read" };
    }
    if (body.t !== kind) return { ok: false, zh: "码的类型不对", en: `this is not a ${kind} code` };
    if (body.e < localDate()) return { ok: false, zh: `码已于${body.e}过期`, en: `the code expired on ${body.e}` };
    let verified = null;
    const key = await importKey(m[1], keys || {});
    if (key) {
      try {
        verified = await crypto.subtle.verify({ name: "Ed25519" }, key, b64urlDecode(m[3]), new TextEncoder().encode(`FK2.${m[1]}.${m[2]}`));
      } catch (_) {
        verified = null;
      }
      if (verified === false) return { ok: false, zh: "码的签名无效：码被伪造或改动", en: "the code's signature is not valid" };
    } else if (!(m[1] in (keys || {}))) {
      return { ok: false, zh: `签名密钥${m[1]}未知`, en: `unknown signing key ${m[1]}` };
    }
    return { ok: true, name: body.n || "", subject: body.s, verified, text: text.trim() };
  }

  /** Open the camera and call `found(text)` for each QR read (where the browser can). */
  async function camera(video, found) {
    if (!("BarcodeDetector" in window)) return null;
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    let running = true;
    (async function loop() {
      while (running) {
        try {
          const codes = await detector.detect(video);
          if (codes.length) {
            found(codes[0].rawValue);
            break;
          }
        } catch (_) {
          /* a frame that cannot be read */
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    return () => {
      running = false;
      stream.getTracks().forEach((t) => t.stop());
      video.hidden = true;
    };
  }

  function keys() {
    const node = document.getElementById("wf-keys");
    return node ? JSON.parse(node.textContent) : {};
  }

  return { readCode, uuid, csrfToken, isoNow, camera, keys };
})();
