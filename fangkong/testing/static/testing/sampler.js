/* The sampler's page: scan a tube, scan residents' codes, seal; keep working offline.
 *
 * Every scan becomes an event with a client-made id (docs/sampling-protocol.md), is
 * written to IndexedDB first and uploaded in batches; the server's answer for each
 * event is kept beside it. Nothing is dropped: an event leaves the "pending" state only
 * when the server has answered for it (accepted, or rejected for good).
 *
 * One text input takes everything: a camera scan, a keyboard-wedge scanner (types fast,
 * ends with Enter) or a person typing. Its shape decides what it is: "FK1.…" is a
 * resident's code, 18 characters with a valid GB 11643 check character an ID number,
 * anything else of 4–40 letters, digits, dots, dashes and underscores a tube barcode.
 */
"use strict";

(() => {
  const root = document.getElementById("sampler");
  if (!root) return;

  const BATCH = 200; // events a request
  // Scans wait on the phone (they are safe in IndexedDB) until their tube is sealed, or
  // this long after the first of them: one upload a tube instead of one a scan, which
  // costs the server a tenth as much a person (docs/sampling-protocol.md).
  const HOLD_MS = 1000 * (+(root.dataset.holdSeconds ?? 60) || 0);
  const TICK_MS = 2000; // how often the queue is looked at
  const MAX_BACKOFF_MS = 60000;
  const CLOCK_TOLERANCE_MS = 3 * 60 * 1000; // beyond this the phone's clock is called wrong
  const KEEP_DONE_MS = 3 * 24 * 3600 * 1000; // answered events kept this long for review
  const URLS = {
    config: root.dataset.configUrl,
    upload: root.dataset.uploadUrl,
    sw: root.dataset.swUrl,
    scope: root.dataset.swScope,
    login: root.dataset.loginUrl,
  };
  const USER = root.dataset.user || "";
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- messages (zh / en)

  const FLAG_TEXT = {
    repeat_in_round: ["本轮已采过", "already sampled this round"],
    outside_round: ["不在本轮区域", "lives outside this round's areas"],
    over_pool: ["超出混采人数", "more people than the pool size"],
    unknown_person: ["证件号未登记，待核实", "ID number matches no resident; kept for review"],
    clock_skew: ["手机时间不准，请校准", "this phone's clock is off; set it right"],
  };
  const bi = (zh, en) => ({ zh, en });

  // ---------------------------------------------------------------- small helpers

  // A UUIDv7 (RFC 9562): the millisecond first, then a 12-bit counter that orders ids
  // made in one millisecond, then 62 random bits. Time-ordered ids land on the growing
  // edge of the server's client-id index (docs/sampling-protocol.md, "Client ids").
  let lastMs = 0;
  let counter = 0;
  function uuid() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    let ms = Date.now();
    if (ms <= lastMs) {
      ms = lastMs;
      counter += 1;
      if (counter > 0xfff) {
        ms += 1;
        counter = 0;
      }
    } else {
      counter = ((b[6] & 0x07) << 8) | b[7]; // a random start with room to count up
    }
    lastMs = ms;
    for (let i = 5, t = ms; i >= 0; i -= 1, t = Math.floor(t / 256)) b[i] = t % 256;
    b[6] = 0x70 | (counter >> 8);
    b[7] = counter & 0xff;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Local time with its offset, e.g. 2026-11-23T08:01:02.123+08:00. */
  function isoNow() {
    const d = new Date();
    const p = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? "+" : "-";
    return (
      `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
      `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}` +
      `${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`
    );
  }

  function b64urlDecode(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function b64urlEncode(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf || "";
  }

  function mask(number) {
    if (number.length <= 8) return number.slice(0, 1) + "*".repeat(Math.max(0, number.length - 3)) + number.slice(-2);
    return number.slice(0, 4) + "*".repeat(number.length - 8) + number.slice(-4);
  }

  // ---------------------------------------------------------------- GB 11643 ID numbers

  const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const ID_CHECK = "10X98765432";

  /** null if `number` is a valid mainland ID number, else a bilingual reason. */
  function idNumberProblem(number) {
    if (!/^\d{17}[\dX]$/.test(number)) return bi("身份证号应为18位", "an ID number has 18 characters");
    const y = +number.slice(6, 10), m = +number.slice(10, 12), d = +number.slice(12, 14);
    const birth = new Date(y, m - 1, d);
    if (birth.getFullYear() !== y || birth.getMonth() !== m - 1 || birth.getDate() !== d || y < 1900 || birth > new Date())
      return bi("身份证号出生日期无效", "the ID number's birth date is not valid");
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += +number[i] * ID_WEIGHTS[i];
    if (ID_CHECK[sum % 11] !== number[17]) return bi("身份证号校验位错误，请核对", "the ID number's check character is wrong");
    return null;
  }

  /** What a scanned or typed text is, by its shape. */
  function classify(text) {
    if (/^FK\d*\./i.test(text)) return "code";
    const up = text.toUpperCase();
    if (/^\d{17}[\dX]$/.test(up)) return "id";
    if (/^\d{15}$/.test(up)) return "id15";
    if (/^[A-Za-z0-9][A-Za-z0-9._-]{3,39}$/.test(text)) return "tube";
    return "unknown";
  }

  // ---------------------------------------------------------------- IndexedDB

  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open("fangkong-sampler", 1);
        req.onupgradeneeded = () => {
          const d = req.result;
          const events = d.createObjectStore("events", { keyPath: "client_id" });
          events.createIndex("state_seq", ["state", "seq"]);
          events.createIndex("seq", "seq");
          d.createObjectStore("kv", { keyPath: "k" });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }

  function tx(stores, mode, body) {
    return db().then(
      (d) =>
        new Promise((resolve, reject) => {
          const t = d.transaction(stores, mode);
          let result;
          Promise.resolve(body(t)).then((r) => (result = r), reject);
          t.oncomplete = () => resolve(result);
          t.onerror = () => reject(t.error);
          t.onabort = () => reject(t.error || new Error("transaction aborted"));
        }),
    );
  }

  const req2p = (req) =>
    new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });

  const kvGet = (k) => tx(["kv"], "readonly", (t) => req2p(t.objectStore("kv").get(k))).then((r) => (r ? r.v : undefined));
  const kvSet = (k, v) => tx(["kv"], "readwrite", (t) => t.objectStore("kv").put({ k, v }));

  let seqCounter = 0;
  /** Keep an event on the device, with the tube as it now stands, in one transaction:
   *  the one durable step before anything is shown as done. */
  function storeEvent(event, label, tube) {
    const record = {
      client_id: event.client_id,
      seq: Date.now() * 1000 + (seqCounter++ % 1000),
      user: USER,
      state: "pending",
      event,
      label,
      result: null,
      created: Date.now(),
    };
    return tx(["events", "kv"], "readwrite", (t) => {
      t.objectStore("events").add(record);
      t.objectStore("kv").put({ k: "tube", v: tube });
      t.objectStore("kv").put({ k: "used_tubes", v: state.usedTubes.slice(-5000) });
    }).then(() => record);
  }

  function pendingBatch(limit) {
    const range = IDBKeyRange.bound(["pending", 0], ["pending", Number.MAX_SAFE_INTEGER]);
    return tx(["events"], "readonly", (t) => req2p(t.objectStore("events").index("state_seq").getAll(range))).then((all) =>
      all.filter((r) => r.user === USER).slice(0, limit),
    );
  }

  function countPending() {
    const range = IDBKeyRange.bound(["pending", 0], ["pending", Number.MAX_SAFE_INTEGER]);
    return tx(["events"], "readonly", (t) => req2p(t.objectStore("events").index("state_seq").getAll(range))).then((all) => {
      const mine = all.filter((r) => r.user === USER);
      return {
        mine: mine.length,
        // What the entries below show as waiting: the people scanned (tube records aside).
        people: mine.filter((r) => r.label.kind === "sample").length,
        others: all.filter((r) => r.user !== USER).length,
      };
    });
  }

  /** Write the server's answers; an answered event keeps no full ID number. */
  function applyResults(results) {
    const byId = new Map(results.map((r) => [r.client_id, r]));
    return tx(["events"], "readwrite", async (t) => {
      const store = t.objectStore("events");
      const changed = [];
      for (const [id, result] of byId) {
        const rec = await req2p(store.get(id));
        if (!rec || rec.state !== "pending") continue;
        rec.state = result.status === "accepted" ? "accepted" : "rejected";
        rec.result = result;
        if (rec.event.id_number) {
          const { id_number: number, ...rest } = rec.event;
          rec.event = { ...rest, id_masked: mask(number) };
        }
        store.put(rec);
        changed.push(rec);
      }
      return changed;
    });
  }

  /** The newest `limit` events of this user, newest first. */
  function recentRecords(limit) {
    return tx(["events"], "readonly", (t) => {
      const out = [];
      return new Promise((resolve, reject) => {
        const req = t.objectStore("events").index("seq").openCursor(null, "prev");
        req.onsuccess = () => {
          const cursor = req.result;
          if (!cursor || out.length >= limit) return resolve(out);
          if (cursor.value.user === USER) out.push(cursor.value);
          cursor.continue();
        };
        req.onerror = () => reject(req.error);
      });
    });
  }

  /** Forget answered events older than a few days; pending ones are never dropped. */
  function purgeOld() {
    const cutoff = Date.now() - KEEP_DONE_MS;
    return tx(["events"], "readwrite", (t) => {
      const store = t.objectStore("events");
      store.index("seq").openCursor(IDBKeyRange.upperBound(cutoff * 1000)).onsuccess = (e) => {
        const cursor = e.target.result;
        if (!cursor) return;
        if (cursor.value.state !== "pending") cursor.delete();
        cursor.continue();
      };
    });
  }

  // ---------------------------------------------------------------- state

  const state = {
    config: null,
    key: null, // CryptoKey, or null when it cannot be had
    keyError: null,
    setup: { round: "", site: "", channel: "", pool: "" },
    tube: null, // {barcode, pool, members: [{client_id, key, name, masked}], round, site, channel}
    usedTubes: [],
    seen: {}, // round id -> list of person keys sampled on this phone
    pendingSwitch: null, // a tube barcode waiting for "seal and open"
    editingSetup: true, // the round/site/channel panel is open
    backoffMs: 0,
    nextAttempt: 0,
    heldUntil: 0, // the waiting scans are held until then (shown; see uploadOnce)
    paceUntil: 0, // the server asked for fewer, larger uploads until then (Upload-Pace)
    forced: false, // "upload now" or back online: send what waits, held or not
    inflight: false,
    singleLeft: 0, // after a batch the server could not read: send one at a time
    lastOk: null,
    online: navigator.onLine,
    authProblem: false,
    skewMs: 0, // server clock minus this phone's, measured when the config comes
  };

  async function saveTube() {
    await kvSet("tube", state.tube);
    await kvSet("used_tubes", state.usedTubes.slice(-5000));
  }

  // ---------------------------------------------------------------- config and key

  async function importKey(b64) {
    try {
      return await crypto.subtle.importKey("raw", b64urlDecode(b64), { name: "Ed25519" }, false, ["verify"]);
    } catch (err) {
      state.keyError = err;
      return null;
    }
  }

  async function loadConfig() {
    const embedded = document.getElementById("sampler-config");
    let config = (await kvGet("config")) || null;
    if (embedded) {
      const fresh = JSON.parse(embedded.textContent);
      const when = (c) => Date.parse((c && c.server_time) || "") || 0;
      if (fresh && (!config || when(fresh) >= when(config))) config = fresh;
    }
    if (config) await useConfig(config, false);
    fetchConfig();
  }

  async function fetchConfig() {
    try {
      const sent = Date.now();
      const resp = await fetch(URLS.config, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (resp.ok) {
        const config = await resp.json();
        // How far the phone's clock is from the server's: scans carry the phone's time.
        const server = Date.parse(config.server_time || "");
        if (server) state.skewMs = server - (sent + Date.now()) / 2;
        await useConfig(config, true);
      }
      else if (resp.status === 401 || resp.status === 403) state.authProblem = true;
    } catch (_) {
      /* offline: the kept config serves */
    }
    render();
  }

  async function useConfig(config, store) {
    state.config = config;
    if (store) await kvSet("config", config);
    state.key = config.code_public_key ? await importKey(config.code_public_key) : null;
    fillSetup();
  }

  // Config (GET sampler-config): {rounds: [{id, name, sites: [{id, name, pool_size,
  // channels: [{id, name}]}]}], code_public_key, code_version, server_time}.
  const findById = (list, id) => list.find((x) => String(x.id) === String(id));
  const rounds = () => (state.config && state.config.rounds) || [];
  const sites = () => {
    const round = findById(rounds(), state.setup.round);
    return (round && round.sites) || [];
  };

  function channelsOf(siteId) {
    const site = findById(sites(), siteId);
    return (site && site.channels) || [];
  }

  /** The pool size the round's rule gives for the site's zone. */
  function suggestedPool(roundId, siteId) {
    const round = findById(rounds(), roundId);
    const site = round && findById(round.sites || [], siteId);
    return (site && site.pool_size) || 10;
  }

  // ---------------------------------------------------------------- resident codes

  async function readCode(text) {
    const m = /^FK1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{86})$/.exec(text);
    if (!m) {
      const v = /^(FK\d*)\./i.exec(text);
      if (v && v[1].toUpperCase() !== "FK1")
        return { error: bi(`居民码版本${v[1]}不受支持`, `resident code version ${v[1]} is not supported`) };
      return { error: bi("居民码不完整，请重新扫描", "the resident code is incomplete; scan it again") };
    }
    let body;
    let sig;
    try {
      sig = b64urlDecode(m[2]);
      if (b64urlEncode(sig) !== m[2]) throw new Error("not canonical");
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64urlDecode(m[1])));
    } catch (_) {
      return { error: bi("居民码无法读取", "the resident code cannot be read") };
    }
    let verified = null; // null: could not check on this device; the server will
    if (state.key) {
      try {
        verified = await crypto.subtle.verify({ name: "Ed25519" }, state.key, sig, new TextEncoder().encode(`FK1.${m[1]}`));
      } catch (_) {
        verified = null;
      }
    }
    if (verified === false) return { error: bi("居民码签名无效：码被伪造或改动", "the resident code's signature is not valid (forged or altered)") };
    if (!body || typeof body.r !== "number" || typeof body.n !== "string")
      return { error: bi("居民码无法读取", "the resident code cannot be read") };
    return { person: { key: `r:${body.r}`, name: body.n, masked: body.m || "", verified } };
  }

  // ---------------------------------------------------------------- scanning

  function ready() {
    const s = state.setup;
    return s.round && s.site && s.channel;
  }

  function baseEvent(type) {
    const s = state.setup;
    return { client_id: uuid(), type, at: isoNow(), round: +s.round, site: +s.site, channel: +s.channel };
  }

  // Scans are handled one at a time, in the order they came: a wedge scanner can send the
  // next one before the last is stored, and two must never both take a tube's last place.
  let queue = Promise.resolve();
  function handle(raw) {
    const run = queue.then(() => handleOne(raw));
    queue = run.catch(() => {});
    return run;
  }

  async function handleOne(raw) {
    const text = (raw || "").trim();
    if (!text) return;
    if (!ready() || state.editingSetup)
      return say("warn", bi("请先选择轮次、采样点和通道，再点“开始”", "choose the round, site and channel, then press Start"));
    const kind = classify(text);
    if (kind === "tube") return scanTube(text); // as printed: the server compares exactly
    if (kind === "code") {
      const read = await readCode(text);
      if (read.error) return say("error", read.error);
      return addSample(read.person, { code: text });
    }
    if (kind === "id") {
      const number = text.toUpperCase();
      const problem = idNumberProblem(number);
      if (problem) return say("error", problem);
      return addSample({ key: `id:ID:${number}`, name: "", masked: mask(number), typed: true }, { id_type: "ID", id_number: number });
    }
    if (kind === "id15") return say("error", bi("15位旧身份证号，请输入18位号码", "old 15-digit ID number; type the 18-digit one"));
    return say("error", bi("无法识别：不是试管条码、居民码或身份证号", "not recognised: not a tube barcode, a resident code or an ID number"));
  }

  async function addOther(idType, number) {
    number = number.trim().toUpperCase().replace(/[()（）\-\s]/g, "");
    if (!ready() || state.editingSetup)
      return say("warn", bi("请先选择轮次、采样点和通道，再点“开始”", "choose the round, site and channel, then press Start"));
    if (idType === "ID") return handleOne(number);
    if (!/^[A-Z0-9]{5,17}$/.test(number)) return say("error", bi("证件号码格式不正确", "the document number is not in a valid format"));
    return addSample({ key: `id:${idType}:${number}`, name: "", masked: mask(number), typed: true }, { id_type: idType, id_number: number });
  }

  async function scanTube(barcode) {
    const tube = state.tube;
    if (tube && tube.barcode === barcode) return say("info", bi(`${barcode} 就是当前试管`, `${barcode} is the tube in use`));
    if (state.usedTubes.includes(barcode))
      return say("error", bi(`试管${barcode}已在本机使用过，请换一支`, `tube ${barcode} was already used on this phone; take another`));
    if (tube && tube.members.length) {
      state.pendingSwitch = barcode;
      render();
      return say("warn", bi(`当前试管还未封管（${tube.members.length}人）`, `the current tube is not sealed (${tube.members.length} people)`));
    }
    if (tube) await sealTube(); // an empty tube: sealed as it is
    await openTube(barcode);
  }

  async function openTube(barcode) {
    const s = state.setup;
    const pool = +s.pool || suggestedPool(s.round, s.site);
    const event = { ...baseEvent("tube_open"), tube: barcode, pool_size: pool };
    const tube = { barcode, pool, members: [], round: s.round, site: s.site, channel: s.channel };
    if (!state.usedTubes.includes(barcode)) state.usedTubes.push(barcode);
    await storeEvent(event, { kind: "tube_open", barcode }, tube);
    state.tube = tube;
    state.pendingSwitch = null;
    say("ok", bi(`已开管 ${barcode}，混采 ${pool} 人`, `tube ${barcode} opened, pool of ${pool}`));
    kick(false);
  }

  async function addSample(person, fields) {
    const tube = state.tube;
    if (!tube) return say("warn", bi("请先扫描试管条码", "scan a tube barcode first"));
    if (tube.members.some((m) => m.key === person.key))
      return say("info", bi(`${person.name || person.masked} 已在本管中`, `${person.name || person.masked} is already in this tube`));
    if (tube.members.length >= tube.pool)
      return say("warn", bi(`试管已满（${tube.pool}人），请封管`, `the tube is full (${tube.pool}); seal it`));
    const event = { ...baseEvent("sample"), tube: tube.barcode, pool_size: tube.pool, ...fields };
    const label = { kind: "sample", barcode: tube.barcode, name: person.name, masked: person.masked, verified: person.verified, typed: !!person.typed };
    const member = { client_id: event.client_id, key: person.key, name: person.name, masked: person.masked, verified: person.verified };
    await storeEvent(event, label, { ...tube, members: [...tube.members, member] });
    tube.members.push(member);
    const seen = (state.seen[tube.round] = state.seen[tube.round] || []);
    const again = seen.includes(person.key);
    seen.push(person.key);
    await kvSet("seen", trimSeen(state.seen));
    const who = person.name ? `${person.name} ${person.masked}` : person.masked;
    const full = tube.members.length >= tube.pool;
    const n = `${tube.members.length}/${tube.pool}` + (full ? "，试管已满，请封管" : "");
    const nEn = `${tube.members.length}/${tube.pool}` + (full ? "; the tube is full: seal it" : "");
    if (again) say("warn", bi(`${who} 本轮已在本机采过，仍已记录 ${n}`, `${who} was already sampled this round on this phone; recorded anyway ${nEn}`));
    else if (person.verified === null && !person.typed)
      say("ok", bi(`${who} ✓ ${n}（本机未能验签，服务器将核验）`, `${who} ✓ ${nEn} (not verified on this phone; the server will)`));
    else say(full ? "warn" : "ok", bi(`${who} ✓ ${n}`, `${who} ✓ ${nEn}`));
    kick(false);
  }

  function trimSeen(seen) {
    const out = {};
    for (const [round, keys] of Object.entries(seen)) out[round] = keys.slice(-5000);
    return out;
  }

  async function sealTube() {
    const tube = state.tube;
    if (!tube) return;
    if (tube.problem && !tube.members.length) {
      // Refused by the server and empty: set it aside, there is nothing to seal.
      state.tube = null;
      await saveTube();
      return say("info", bi(`试管${tube.barcode}已弃用`, `tube ${tube.barcode} set aside`));
    }
    const event = {
      client_id: uuid(),
      type: "tube_seal",
      at: isoNow(),
      round: +tube.round,
      site: +tube.site,
      channel: +tube.channel,
      tube: tube.barcode,
    };
    await storeEvent(event, { kind: "tube_seal", barcode: tube.barcode, count: tube.members.length }, null);
    state.tube = null;
    say("ok", bi(`已封管 ${tube.barcode}，共${tube.members.length}人`, `tube ${tube.barcode} sealed with ${tube.members.length}`));
    kick();
  }

  // ---------------------------------------------------------------- uploading

  function release() {
    state.paceUntil = 0;
    state.forced = true;
    state.backoffMs = 0;
    state.nextAttempt = 0;
  }

  function kick(soon = true) {
    if (soon) state.nextAttempt = Math.min(state.nextAttempt, Date.now());
    refreshCounts();
  }

  function backoff(retryAfterSeconds) {
    state.backoffMs = Math.min(MAX_BACKOFF_MS, state.backoffMs ? state.backoffMs * 2 : 1000);
    const wait = Math.max(state.backoffMs * (0.5 + Math.random() / 2), (retryAfterSeconds || 0) * 1000);
    state.nextAttempt = Date.now() + wait;
  }

  async function uploadOnce() {
    if (state.inflight || Date.now() < state.nextAttempt) return;
    const batch = await pendingBatch(state.singleLeft > 0 ? 1 : BATCH);
    if (!batch.length) {
      state.singleLeft = 0;
      state.forced = false;
      return;
    }
    const wait = holdsUntil(batch);
    state.heldUntil = wait;
    if (Date.now() < wait) return;
    state.inflight = true;
    let more = false;
    try {
      const resp = await fetch(URLS.upload, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({
          device_id: await deviceId(),
          device_time: isoNow(),
          events: batch.map((r) => r.event),
        }),
      });
      state.online = true;
      if (resp.ok) {
        const data = await resp.json();
        const changed = await applyResults(data.results || []);
        for (const rec of changed) noteAnswer(rec);
        state.backoffMs = 0;
        state.nextAttempt = 0;
        const pace = +resp.headers.get("Upload-Pace") || 0;
        state.paceUntil = pace > 0 ? Date.now() + pace * 1000 : 0;
        if (batch.length < BATCH) state.forced = false; // all that waited went up
        state.lastOk = new Date();
        state.authProblem = false;
        if (changed.length === 0) backoff(); // answered nothing we asked: do not spin
        else more = true; // until the queue is empty
        if (state.singleLeft > 0) state.singleLeft--;
      } else if (resp.status === 401 || resp.status === 403) {
        state.authProblem = true;
        backoff();
      } else if ((resp.status === 400 || resp.status === 422) && batch.length > 1) {
        state.singleLeft = batch.length; // find the event the server cannot read
        state.nextAttempt = 0;
      } else if (resp.status === 400 || resp.status === 422) {
        const body = await resp.json().catch(() => ({}));
        const err = body.error || {};
        const changed = await applyResults([
          {
            client_id: batch[0].client_id,
            status: "rejected",
            code: err.code || "malformed",
            message: err.message || `the server could not read this event (HTTP ${resp.status})`,
            message_zh: err.message_zh || "服务器无法读取该记录",
          },
        ]);
        for (const rec of changed) noteAnswer(rec);
        if (state.singleLeft > 0) state.singleLeft--;
        more = true;
      } else {
        backoff(+resp.headers.get("Retry-After") || 0);
      }
    } catch (_) {
      state.online = false;
      backoff();
    } finally {
      state.inflight = false;
    }
    await refreshCounts();
    await renderFeed(); // the entries change state with the answers, as the counter does
    if (more) uploadOnce();
  }

  /** Until when the waiting events stay on the phone (0: send now). Scans wait for their
   * tube's seal, or HOLD_MS after the oldest of them, and the server may ask for a pace;
   * a full batch, a batch found unreadable, and "upload now" go at once. */
  function holdsUntil(batch) {
    if (state.forced || batch.length >= BATCH || state.singleLeft > 0) return 0;
    const sealed = batch.some((r) => r.event.type === "tube_seal");
    const hold = sealed ? 0 : Math.floor(batch[0].seq / 1000) + HOLD_MS;
    return Math.max(hold, state.paceUntil);
  }

  async function deviceId() {
    let id = await kvGet("device_id");
    if (!id) {
      id = `web-${uuid().slice(0, 8)}`;
      await kvSet("device_id", id);
    }
    return id;
  }

  /** Tell the sampler about an answer that needs their eyes: a refusal or a flag. */
  function noteAnswer(rec) {
    const r = rec.result || {};
    const who = rec.label.name || rec.label.masked || rec.label.barcode || "";
    if (r.status === "rejected") {
      const msg = bi(`${who}：${r.message_zh || r.message || r.code}`, `${who}: ${r.message || r.code}`);
      say("error", msg);
      navigator.vibrate && navigator.vibrate([200, 100, 200]);
      // The tube in hand was refused (e.g. its barcode is used elsewhere): say so on it.
      if (state.tube && rec.event.tube === state.tube.barcode && (rec.event.type === "tube_open" || r.code === "tube_taken")) {
        state.tube.problem = msg;
        saveTube().then(render);
      }
    } else if (r.flags && r.flags.length) {
      const zh = r.flags.map((f) => (FLAG_TEXT[f] || [f])[0]).join("、");
      const en = r.flags.map((f) => (FLAG_TEXT[f] || [f, f])[1]).join(", ");
      say("warn", bi(`${who}：已记录，${zh}`, `${who}: kept, ${en}`));
    }
  }

  // ---------------------------------------------------------------- screen

  let lastSay = null;
  function say(level, msg) {
    lastSay = { level, msg, at: Date.now() };
    const box = $("sampler-message");
    box.className = `sampler-message ${level}`;
    box.replaceChildren(el("span", "zh", msg.zh), el("span", "en", msg.en));
    if (level === "error" && navigator.vibrate) navigator.vibrate(300);
    render();
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function option(value, label, selected) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    o.selected = String(value) === String(selected);
    return o;
  }

  function fillSetup() {
    const s = state.setup;
    const rs = rounds();
    if (state.config) {
      // Keep a choice the config still offers; take the only one there is.
      const keep = (list, id) => (list.some((x) => String(x.id) === String(id)) ? id : list.length === 1 ? String(list[0].id) : "");
      s.round = keep(rs, s.round);
      s.site = keep(sites(), s.site);
      s.channel = keep(channelsOf(s.site), s.channel);
    }
    $("setup-round").replaceChildren(option("", "— 轮次 Round —", s.round), ...rs.map((r) => option(r.id, r.name, s.round)));
    $("setup-site").replaceChildren(option("", "— 采样点 Site —", s.site), ...sites().map((x) => option(x.id, x.name, s.site)));
    $("setup-channel").replaceChildren(
      option("", "— 通道 Channel —", s.channel),
      ...channelsOf(s.site).map((c) => option(c.id, c.name, s.channel)),
    );
    const pool = s.pool || "";
    $("setup-pool").replaceChildren(
      option("", `默认 Default (${s.round && s.site ? suggestedPool(s.round, s.site) : "—"})`, pool),
      ...[1, 5, 10, 20].map((n) => option(n, n === 1 ? "单管 1" : `${n}混1`, pool)),
    );
    render();
  }

  async function refreshCounts() {
    const { mine, people, others } = await countPending();
    root.dataset.pending = String(mine);
    // The counter counts what the entries show as waiting, so the two always agree; tube
    // records still to send are said beside it.
    $("pending-count").textContent = String(people);
    const tubeRecords = mine - people;
    $("pending-tubes").hidden = tubeRecords === 0;
    $("pending-tubes").textContent = `（另${tubeRecords}条试管记录 / +${tubeRecords} tube records）`;
    $("pending-others").hidden = others === 0;
    $("pending-others").textContent = `另有${others}条其他账号的记录待上传，请用该账号登录 / ${others} records of another account wait: log in as that user`;
    const net = $("net-state");
    const offline = !state.online || !navigator.onLine;
    net.className = `pill ${offline ? "off" : "on"}`;
    net.textContent = offline ? "离线 Offline" : "在线 Online";
    const now = Date.now();
    const retry = state.nextAttempt > now && mine ? Math.ceil((state.nextAttempt - now) / 1000) : 0;
    const paced = state.paceUntil > now && mine ? Math.ceil((state.paceUntil - now) / 1000) : 0;
    const held = state.heldUntil > now && mine ? Math.ceil((state.heldUntil - now) / 1000) : 0;
    $("sync-state").textContent = state.authProblem
      ? "登录已过期，记录已保存在本机 / Session expired; records are kept on this phone"
      : retry
        ? `${retry}秒后重试 / retrying in ${retry}s`
        : paced
          ? `服务器繁忙，${paced}秒后合并上传 / server busy: sending together in ${paced}s`
          : held
            ? `封管或${held}秒后上传 / uploads when the tube is sealed, or in ${held}s`
            : state.lastOk
          ? `上次上传 Last upload ${state.lastOk.toLocaleTimeString()}`
          : "";
    $("login-again").hidden = !state.authProblem;
    root.dataset.online = offline ? "false" : "true";
  }

  async function render() {
    const s = state.setup;
    const tube = state.tube;
    const isReady = ready();
    $("setup").hidden = !state.editingSetup;
    $("setup-summary").hidden = state.editingSetup;
    $("setup-done").disabled = !isReady;
    if (isReady) {
      const r = findById(rounds(), s.round), si = findById(sites(), s.site), c = findById(channelsOf(s.site), s.channel);
      $("setup-text").textContent = `${r ? r.name : s.round} · ${si ? si.name : s.site} · ${c ? c.name : s.channel}`;
    }
    $("no-config").hidden = !!state.config;
    $("no-round").hidden = !state.config || rounds().length > 0;
    $("clock-warning").hidden = Math.abs(state.skewMs || 0) < CLOCK_TOLERANCE_MS;
    $("key-warning").hidden = !(state.config && !state.key);
    $("camera-open").hidden = !("BarcodeDetector" in window);

    $("tube").hidden = !tube;
    $("no-tube").hidden = !!tube || state.editingSetup;
    if (tube) {
      $("tube-barcode").textContent = tube.barcode;
      $("tube-count").textContent = `${tube.members.length} / ${tube.pool}`;
      $("tube").classList.toggle("full", tube.members.length >= tube.pool);
      const slots = [];
      for (let i = 0; i < Math.max(tube.pool, tube.members.length); i++) {
        const m = tube.members[i];
        const li = el("li", m ? "filled" : "empty");
        if (m) {
          li.append(el("b", "", m.name || "手输证件 Typed ID"), el("small", "", m.masked));
          li.dataset.clientId = m.client_id;
        } else li.textContent = String(i + 1);
        slots.push(li);
      }
      $("tube-slots").replaceChildren(...slots);
      $("seal").textContent = tube.members.length >= tube.pool ? "封管 Seal tube" : "提前封管 Seal early";
      $("tube-problem").hidden = !tube.problem;
      if (tube.problem) $("tube-problem").replaceChildren(el("span", "zh", `${tube.problem.zh}。请封管并换一支试管。`), el("span", "en", `${tube.problem.en}. Seal it and take another tube.`));
    }
    $("switch").hidden = !state.pendingSwitch;
    if (state.pendingSwitch) $("switch-text").textContent = `封当前管并开新管 ${state.pendingSwitch}？ / Seal this tube and open ${state.pendingSwitch}?`;
    await refreshCounts();
    await renderFeed();
  }

  async function renderFeed() {
    const recs = await recentRecords(40);
    const items = recs
      .filter((r) => r.label.kind === "sample" || r.state === "rejected")
      .slice(0, 25)
      .map((r) => {
        const li = el("li", r.state);
        const res = r.result || {};
        const who = r.label.name || (res.resident && res.resident.name) || "";
        li.append(el("b", "", who || r.label.masked || r.label.barcode || ""));
        if (who && r.label.masked) li.append(el("small", "", ` ${r.label.masked}`));
        li.append(el("small", "tube-ref", ` ${r.event.tube || ""}`));
        let status;
        if (r.state === "pending") status = el("span", "chip wait", "待上传 waiting");
        else if (r.state === "rejected") status = el("span", "chip bad", `✗ ${res.message_zh || ""} / ${res.message || res.code || ""}`);
        else status = el("span", "chip ok", "✓");
        li.append(status);
        for (const f of res.flags || []) li.append(el("span", "chip flag", `${(FLAG_TEXT[f] || [f])[0]} / ${(FLAG_TEXT[f] || [f, f])[1]}`));
        li.dataset.clientId = r.client_id;
        li.dataset.state = r.state;
        return li;
      });
    $("feed").replaceChildren(...items);
  }

  // ---------------------------------------------------------------- camera

  let camera = null;
  async function cameraOpen() {
    if (!("BarcodeDetector" in window)) return;
    try {
      const formats = await BarcodeDetector.getSupportedFormats();
      const wanted = ["qr_code", "code_128", "code_39", "ean_13", "ean_8", "itf", "codabar", "data_matrix"].filter((f) => formats.includes(f));
      const detector = new BarcodeDetector({ formats: wanted });
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      const video = $("camera-video");
      video.srcObject = stream;
      await video.play();
      camera = { stream, detector, last: "", lastAt: 0, timer: null };
      $("camera").hidden = false;
      const loop = async () => {
        if (!camera) return;
        try {
          const found = await camera.detector.detect(video);
          const value = found.length ? found[0].rawValue : "";
          if (value && (value !== camera.last || Date.now() - camera.lastAt > 3000)) {
            camera.last = value;
            camera.lastAt = Date.now();
            await handle(value);
          }
        } catch (_) {
          /* a frame that cannot be read */
        }
        if (camera) camera.timer = setTimeout(loop, 150);
      };
      loop();
    } catch (err) {
      say("error", bi("无法打开摄像头，请用扫码枪或手动输入", "cannot open the camera; use a scanner or type"));
      cameraClose();
    }
  }

  function cameraClose() {
    if (camera) {
      clearTimeout(camera.timer);
      camera.stream.getTracks().forEach((t) => t.stop());
    }
    camera = null;
    $("camera").hidden = true;
    focusInput();
  }

  // ---------------------------------------------------------------- wiring

  function focusInput() {
    const input = $("scan-input");
    if (camera) return; // the soft keyboard would cover the camera
    if (document.activeElement !== input && !$("setup").contains(document.activeElement) && !$("other-doc").contains(document.activeElement))
      input.focus({ preventScroll: true });
  }

  function wire() {
    $("scan-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("scan-input");
      const value = input.value;
      input.value = "";
      handle(value).catch((err) => say("error", bi(`出错：${err}`, `error: ${err}`)));
    });
    for (const id of ["setup-round", "setup-site", "setup-channel", "setup-pool"]) {
      $(id).addEventListener("change", async (e) => {
        const field = id.slice(6);
        if (state.tube && field !== "pool") {
          say("warn", bi("请先封管再更换轮次、采样点或通道", "seal the tube before changing round, site or channel"));
          e.target.value = state.setup[field];
          return;
        }
        state.setup[field] = e.target.value;
        if (field === "round") state.setup.site = "";
        if (field === "site" || field === "round") state.setup.channel = "";
        await kvSet("setup", state.setup);
        fillSetup();
      });
    }
    $("setup-done").addEventListener("click", () => {
      if (!ready()) return;
      state.editingSetup = false;
      render().then(focusInput);
    });
    $("setup-change").addEventListener("click", () => {
      state.editingSetup = true;
      render();
    });
    $("seal").addEventListener("click", () => sealTube().then(focusInput));
    $("switch-yes").addEventListener("click", async () => {
      const next = state.pendingSwitch;
      await sealTube();
      await openTube(next);
      focusInput();
    });
    $("switch-no").addEventListener("click", () => {
      state.pendingSwitch = null;
      render().then(focusInput);
    });
    $("other-doc").addEventListener("submit", (e) => {
      e.preventDefault();
      const number = $("other-number");
      const type = $("other-type").value;
      const value = number.value;
      queue = queue.then(() => addOther(type, value)).catch((err) => say("error", bi(`出错：${err}`, `error: ${err}`)));
      number.value = "";
      $("other-details").open = false;
      focusInput();
    });
    $("camera-open").addEventListener("click", cameraOpen);
    $("camera-close").addEventListener("click", cameraClose);
    $("upload-now").addEventListener("click", () => {
      release();
      uploadOnce();
      focusInput();
    });
    window.addEventListener("online", () => {
      state.online = true;
      release();
      uploadOnce();
    });
    window.addEventListener("offline", () => {
      state.online = false;
      refreshCounts();
    });
    document.addEventListener("click", (e) => {
      if (!e.target.closest("select, input, textarea, summary, a")) setTimeout(focusInput, 0);
    });
    setInterval(() => {
      uploadOnce().catch(() => {});
      refreshCounts();
    }, TICK_MS);
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator) || !URLS.sw) return;
    try {
      const reg = await navigator.serviceWorker.register(URLS.sw, { scope: URLS.scope });
      const assets = [...document.querySelectorAll("link[rel=stylesheet], script[src]")].map((n) => n.href || n.src);
      const worker = reg.active || reg.waiting || reg.installing;
      const send = (w) => w && w.postMessage({ cache: [location.pathname, ...assets] });
      if (worker && worker.state === "activated") send(worker);
      else if (worker) worker.addEventListener("statechange", () => worker.state === "activated" && send(worker));
    } catch (_) {
      /* the page still works; it just will not reload offline */
    }
  }

  async function start() {
    wire();
    state.setup = { ...state.setup, ...((await kvGet("setup")) || {}) };
    state.tube = (await kvGet("tube")) || null;
    state.usedTubes = (await kvGet("used_tubes")) || [];
    state.seen = (await kvGet("seen")) || {};
    await loadConfig();
    state.editingSetup = !ready();
    fillSetup();
    await purgeOld().catch(() => {});
    root.dataset.ready = "true";
    focusInput();
    uploadOnce();
    registerWorker();
  }

  // For tests and the curious: the pure parts.
  window.fangkongSampler = { classify, idNumberProblem, readCode, mask };

  start().catch((err) => say("error", bi(`页面启动失败：${err}`, `the page failed to start: ${err}`)));
})();
