// ffmotion preview: the page. Plain JS, no libraries.
// Every motion frame shown when paused is the exact frame ffmotion's graph computes at the
// preview size (raw planes from the server); it is turned into RGB for the screen here
// (BT.601, like an unlabelled video in most players). window.ffmotionPreview exposes the
// raw planes on screen, so tests can compare them with a reference.
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("t") || "";
  const $ = (id) => document.getElementById(id);
  const state = {
    info: null, i: 0, outFrames: 1, count: 1, first: 0, k: 1,
    playing: false, playAbort: null, described: "", energy: null, shownKey: "",
  };
  // the look's controls: element ids = query parameters = keys of a preset in /api/info;
  // drawn from /api/info's look_controls (the look's field table), see lookControls()
  let LOOK_IDS = [];
  const api = (window.ffmotionPreview = {
    shown: null, original: null, exact: false, busy: 0, describe: null, render: null,
  });

  function settings() {
    const s = {
      mode: document.querySelector("input[name=mode]:checked").value,
      offset: offsetText(),
      start: $("start").value.trim(), end: $("end").value.trim(),
      stab: $("stab").checked ? "1" : "0",
    };
    LOOK_IDS.forEach((id) => {
      const el = $(id);
      s[id] = el.type === "checkbox" ? (el.checked ? "1" : "0") : el.value.trim();
    });
    return s;
  }
  function offsetText() {
    const v = $("offset").value.trim();
    if ($("unit").value === "s" && /^[0-9.]+$/.test(v)) return v + "s";
    return v;
  }
  function url(path, extra) {
    const q = new URLSearchParams(Object.assign({}, settings(), extra || {}));
    q.set("t", token);
    return path + "?" + q.toString();
  }
  function key() { return JSON.stringify(settings()); }
  function showError(text) { $("error").textContent = text || ""; }
  async function getJSON(path, extra, method) {
    const r = await fetch(url(path, extra), { method: method || "GET" });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  // -- drawing raw planes --------------------------------------------------------------
  function draw(canvas, fmt, buf) {
    const w = fmt.width, h = fmt.height;
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(w, h);
    const out = img.data;
    const two = fmt.bytes_per_sample === 2;
    const shift = fmt.depth - 8;
    const samples = two ? new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2) : buf;
    const cw = fmt.chroma_shift[0], ch = fmt.chroma_shift[1];
    const pf = fmt.pix_fmt;
    const planeSize = (pw, ph) => pw * ph;
    const val = (x) => (shift > 0 ? x >> shift : x);
    if (pf.startsWith("gray")) {
      for (let p = 0; p < w * h; p++) {
        const y = val(samples[p]);
        out[4 * p] = out[4 * p + 1] = out[4 * p + 2] = y; out[4 * p + 3] = 255;
      }
    } else if (pf.startsWith("gbrp")) {
      const n = w * h;
      for (let p = 0; p < n; p++) {
        out[4 * p] = val(samples[2 * n + p]); out[4 * p + 1] = val(samples[p]);
        out[4 * p + 2] = val(samples[n + p]); out[4 * p + 3] = 255;
      }
    } else {
      const cwid = -((-w) >> cw), chei = -((-h) >> ch);
      const uo = planeSize(w, h), vo = uo + planeSize(cwid, chei);
      const full = fmt.full_range;
      for (let y = 0; y < h; y++) {
        const crow = (y >> ch) * cwid;
        for (let x = 0; x < w; x++) {
          const p = y * w + x, c = crow + (x >> cw);
          let Y = val(samples[p]), U = val(samples[uo + c]) - 128, V = val(samples[vo + c]) - 128;
          if (!full) Y = (Y - 16) * 1.164383;
          const r = Y + (full ? 1.402 : 1.596027) * V;
          const g = Y - (full ? 0.344136 : 0.391762) * U - (full ? 0.714136 : 0.812968) * V;
          const b = Y + (full ? 1.772 : 2.017232) * U;
          out[4 * p] = r; out[4 * p + 1] = g; out[4 * p + 2] = b; out[4 * p + 3] = 255;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  function b64(u8) {
    let s = "";
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  }
  api.shownBase64 = () => (api.shown ? b64(api.shown.bytes) : "");
  api.originalBase64 = () => (api.original ? b64(api.original.bytes) : "");

  function setState(id, text, cls) {
    const el = $(id); el.textContent = text; el.className = "state " + (cls || "");
  }

  // -- the exact frame, latest request wins ---------------------------------------------
  let wanted = null, inFlight = false, current = null;
  function requestFrame() {
    const job = { i: state.i, key: key() };
    if (inFlight && !wanted && current.i === job.i && current.key === job.key) return;
    wanted = job;
    if (api.shown && (api.shown.key !== wanted.key || api.shown.i !== wanted.i)) {
      api.exact = false;
      setState("motion-state", "updating… (showing frame " + api.shown.i + " of the previous settings)", "approx");
    }
    pump();
    requestOriginal();
  }
  async function pump() {
    if (inFlight || !wanted) return;
    const job = wanted; wanted = null; inFlight = true; current = job; api.busy++;
    const t0 = performance.now();
    try {
      const r = await fetch(url("/api/frame", { i: job.i }));
      if (!r.ok) throw new Error((await r.json()).error || r.statusText);
      const fmt = JSON.parse(r.headers.get("X-Format"));
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (!state.playing) {
        const t1 = performance.now();
        draw($("motion"), fmt, bytes);
        api.timing = { fetch: t1 - t0, draw: performance.now() - t1 };
        api.shown = { i: job.i, key: job.key, fmt: fmt, bytes: bytes, ms: performance.now() - t0 };
        const latest = !wanted && job.key === key() && job.i === state.i;
        api.exact = latest;
        if (latest) api.drawnAt = performance.now();
        setState("motion-state", latest
          ? "exact: frame " + job.i + " as ffmotion writes it (at " + fmt.width + "×" + fmt.height + ")"
          : "updating…", latest ? "" : "approx");
      }
      showError("");
    } catch (e) {
      setState("motion-state", "no frame", "error"); showError(e.message);
    } finally {
      inFlight = false; api.busy--;
      if (wanted) pump();
    }
  }
  let originalWanted = null, originalBusy = false;
  let originalShown = "";
  function originalKey() {  // the original depends on the frame, the range and stabilization only
    const s = settings();
    return JSON.stringify([state.i, s.start, s.end, s.stab]);
  }
  function requestOriginal() {
    if (!$("show-original").checked) return;
    const k = originalKey();
    if (k === originalShown) return;
    originalShown = k;
    originalWanted = { i: state.i, key: key() };
    pumpOriginal();
  }
  async function pumpOriginal() {
    if (originalBusy || !originalWanted) return;
    const job = originalWanted; originalWanted = null; originalBusy = true; api.busy++;
    try {
      const r = await fetch(url("/api/original", { i: job.i }));
      if (!r.ok) originalShown = "";
      else {
        const fmt = JSON.parse(r.headers.get("X-Format"));
        const bytes = new Uint8Array(await r.arrayBuffer());
        draw($("original"), fmt, bytes);
        api.original = { i: job.i, fmt: fmt, bytes: bytes };
        setState("original-state", String(state.first + job.i));
      }
    } finally {
      originalBusy = false; api.busy--;
      if (originalWanted) pumpOriginal();
    }
  }

  // -- settings changed: validate (describe), then frame, energy ------------------------
  let describeSeq = 0;
  async function changed() {
    const seq = ++describeSeq;
    api.changedAt = performance.now();
    // the frame and the description go out together: the server validates both alike
    if (!state.playing) requestFrame();
    api.busy++;
    try {
      const d = await getJSON("/api/describe", { overwrite: $("overwrite").checked ? "1" : "0" });
      if (seq !== describeSeq) return;
      api.describe = d;
      state.outFrames = d.out_frames; state.first = d.first; state.count = d.count; state.k = d.k;
      $("frame").max = String(d.out_frames - 1);
      const clamped = state.i > d.out_frames - 1;
      if (clamped) state.i = d.out_frames - 1;
      $("frame").value = String(state.i);
      $("describe").textContent = d.describe + (d.exists ? " — output exists" : "");
      $("cli").textContent = d.cli;
      $("ffmpeg").textContent = d.ffmpeg.join("\n");
      updateLabel();
      showError("");
      if (state.playing) restartPlay(); else if (clamped || !api.exact) requestFrame();
      clearTimeout(energyTimer);
      energyTimer = setTimeout(loadEnergy, 300);  // not for every step of a dragged slider
    } catch (e) {
      if (seq === describeSeq) { showError(e.message); setState("motion-state", "settings refused", "error"); api.exact = false; }
    } finally { api.busy--; }
  }
  function updateLabel() {
    const fps = state.info ? state.info.fps : 30;
    const input = state.first + state.i;
    $("frame-label").textContent = "frame " + state.i + " / " + (state.outFrames - 1) +
      " (input frame " + input + ", " + (input / fps).toFixed(3) + " s)";
  }

  // -- energy timeline ------------------------------------------------------------------
  let energyTimer = null;
  async function loadEnergy() {
    clearTimeout(energyTimer);
    const k = key();
    try {
      const e = await getJSON("/api/energy");
      if (k !== key()) return;
      state.energy = e;
      if (e.state === "running") { $("energy-state").textContent = "motion energy: computing…"; energyTimer = setTimeout(loadEnergy, 400); }
      else if (e.state === "done") $("energy-state").textContent = "motion energy (mean |v − gray| of luma, full resolution) for " + e.labels.join(", ") + " — click to jump";
      else $("energy-state").textContent = e.reason || e.error || "";
    } catch (err) { $("energy-state").textContent = err.message; }
    drawTimeline();
  }
  function drawTimeline() {
    const c = $("energy"), ctx = c.getContext("2d");
    const W = c.width = c.clientWidth || 1000, H = c.height;
    ctx.fillStyle = "#111"; ctx.fillRect(0, 0, W, H);
    const total = state.info ? state.info.frames : 1;
    const x = (f) => (f / Math.max(1, total - 1)) * (W - 1);
    ctx.fillStyle = "#26323e"; ctx.fillRect(x(state.first), 0, Math.max(1, x(state.first + state.count - 1) - x(state.first)), H);
    const e = state.energy;
    if (e && e.state === "done") {
      const colours = ["#7fd0ff", "#ff9f7f", "#a0ff9f"];
      let top = 1; e.values.forEach((v) => v.forEach((y) => { if (y > top) top = y; }));
      e.values.forEach((v, j) => {
        ctx.strokeStyle = colours[j % 3]; ctx.beginPath();
        v.forEach((y, n) => { const px = x(e.first + n), py = H - 2 - (y / top) * (H - 6); n ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
        ctx.stroke();
      });
    }
    ctx.fillStyle = "#fff"; ctx.fillRect(x(state.first + state.i) - 1, 0, 2, H);
  }
  $("energy").addEventListener("click", (ev) => {
    const c = $("energy"), total = state.info.frames;
    const f = Math.round((ev.offsetX / c.clientWidth) * (total - 1));
    if (ev.shiftKey) { $("start").value = String(f); state.i = 0; changed(); return; }  // range start
    if (ev.altKey || ev.ctrlKey) { $("end").value = String(f + 1); changed(); return; }  // range end
    seek(f - state.first);
  });

  // -- frame position -------------------------------------------------------------------
  function seek(i) {
    i = Math.max(0, Math.min(state.outFrames - 1, i | 0));
    api.changedAt = performance.now();
    state.i = i; $("frame").value = String(i); updateLabel(); drawTimeline();
    if (state.playing) restartPlay(); else requestFrame();
  }
  $("frame").addEventListener("input", () => seek(parseInt($("frame").value, 10)));
  $("prev").addEventListener("click", () => seek(state.i - 1));
  $("next").addEventListener("click", () => seek(state.i + 1));
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
    if (ev.key === "ArrowLeft") { seek(state.i - 1); ev.preventDefault(); }
    if (ev.key === "ArrowRight") { seek(state.i + 1); ev.preventDefault(); }
    if (ev.key === " ") { togglePlay(); ev.preventDefault(); }
  });

  // -- playback: one stream of exact frames, paced at the clip's rate -------------------
  function togglePlay() { state.playing ? stopPlay() : startPlay(); }
  function stopPlay() {
    state.playing = false;
    if (state.playAbort) state.playAbort.abort();
    $("play").textContent = "▶ play";
    requestFrame();
  }
  function restartPlay() { if (state.playAbort) state.playAbort.abort(); startPlay(); }
  async function startPlay() {
    state.playing = true; $("play").textContent = "❚❚ pause";
    const abort = new AbortController(); state.playAbort = abort;
    const from = state.i >= state.outFrames - 1 ? 0 : state.i;
    let skipped = 0, drawn = 0;
    const stats = (api.playStats = { from: from, drawn: 0, skipped: 0, seconds: 0, done: false });
    const started = performance.now();
    try {
      const r = await fetch(url("/api/play", { i: from }), { signal: abort.signal });
      if (!r.ok) throw new Error((await r.json()).error || r.statusText);
      const fmt = JSON.parse(r.headers.get("X-Format"));
      const size = fmt.frame_bytes, reader = r.body.getReader();
      let pending = [], have = 0, n = from;
      const t0 = performance.now(), period = 1000 / state.info.fps;
      const take = () => {
        const frame = new Uint8Array(size); let off = 0;
        while (off < size) {
          const head = pending[0], need = size - off;
          if (head.length <= need) { frame.set(head, off); off += head.length; pending.shift(); }
          else { frame.set(head.subarray(0, need), off); pending[0] = head.subarray(need); off += need; }
        }
        have -= size; return frame;
      };
      for (;;) {
        while (have < size) {
          const { value, done } = await reader.read();
          if (done) throw new Error("end");
          pending.push(value); have += value.length;
        }
        const frame = take();
        const due = t0 + (n - from) * period, now = performance.now();
        if (now > due + period && n < state.outFrames - 1) { skipped++; n++; continue; }
        if (due > now) await new Promise((res) => setTimeout(res, due - now));
        if (!state.playing || abort.signal.aborted) return;
        draw($("motion"), fmt, frame);
        drawn++;
        Object.assign(stats, { drawn: drawn, skipped: skipped, seconds: (performance.now() - started) / 1000 });
        api.shown = { i: n, key: key(), fmt: fmt, bytes: frame };
        api.exact = false;
        state.i = n; $("frame").value = String(n); updateLabel(); drawTimeline();
        setState("motion-state", "playing: exact frames streamed at " + state.info.fps_text +
          " fps" + (skipped ? ", " + skipped + " skipped to keep pace (approximate motion)" : ""), "approx");
        if ($("show-original").checked && n % 4 === 0) requestOriginal();
        n++;
      }
    } catch (e) {
      if (e.message !== "end" && e.name !== "AbortError") showError(e.message);
    }
    stats.done = true;
    if (state.playAbort === abort && state.playing) stopPlay();
  }
  $("play").addEventListener("click", togglePlay);

  // -- controls -------------------------------------------------------------------------
  function offsetChanged() {
    const v = $("offset").value.trim();
    if ($("unit").value === "f" && /^\d+$/.test(v)) $("offset-slider").value = v;
    changed();
  }
  $("offset-slider").addEventListener("input", () => {
    if ($("unit").value === "s") $("unit").value = "f";
    $("offset").value = $("offset-slider").value; changed();
  });
  $("offset").addEventListener("change", offsetChanged);
  $("unit").addEventListener("change", () => {
    const fps = state.info.fps, v = parseFloat($("offset").value);
    if (!isNaN(v)) $("offset").value = $("unit").value === "s" ? String(+(v / fps).toFixed(3)) : String(Math.round(v * fps));
    offsetChanged();
  });
  document.querySelectorAll("input[name=mode]").forEach((el) => el.addEventListener("change", () => {
    $("offset-note").textContent = el.value === "freeze" ? "every frame is blended with the inverted frame given (counted from the range's start)" : "";
    changed();
  }));
  // one control per look field, as the server describes it: {id, kind, label, value, min,
  // max, step, size, placeholder, options: [[value, label]...]}
  function lookControls(controls) {
    const box = $("look-controls");
    controls.forEach((c) => {
      const label = document.createElement("label");
      let el;
      if (c.kind === "select") {
        el = document.createElement("select");
        c.options.forEach((o) => el.append(new Option(o[1], o[0])));
        el.value = String(c.value);
      } else {
        el = document.createElement("input");
        el.type = c.kind;
        ["min", "max", "step", "size", "placeholder"].forEach((a) => { if (c[a] !== undefined) el.setAttribute(a, String(c[a])); });
        if (c.kind === "checkbox") el.checked = !!c.value; else el.value = String(c.value);
      }
      el.id = c.id;
      if (c.kind === "checkbox") label.append(el, " " + c.label);
      else label.append(c.label + " ", el);
      box.append(label, " ");
      el.addEventListener("change", () => { $("preset").value = ""; changed(); });
    });
    LOOK_IDS = controls.map((c) => c.id);
  }
  ["stab", "start", "end", "overwrite"].forEach((id) => $(id).addEventListener("change", changed));
  $("preset").addEventListener("change", () => {
    const p = state.info.presets[$("preset").value];
    if (!p) return;
    LOOK_IDS.forEach((id) => {
      const el = $(id);
      if (el.type === "checkbox") el.checked = !!p[id]; else el.value = String(p[id]);
    });
    changed();
  });
  $("start-here").addEventListener("click", () => { $("start").value = String(state.first + state.i); state.i = 0; changed(); });
  $("end-here").addEventListener("click", () => { $("end").value = String(state.first + state.i + 1); changed(); });
  $("range-clear").addEventListener("click", () => { $("start").value = ""; $("end").value = ""; changed(); });
  $("show-original").addEventListener("change", () => {
    $("original-figure").hidden = !$("show-original").checked; originalShown = ""; requestOriginal();
  });
  document.querySelectorAll("button[data-copy]").forEach((b) => b.addEventListener("click", async () => {
    const text = $(b.dataset.copy).textContent;
    try { await navigator.clipboard.writeText(text); b.textContent = "copied"; }
    catch (e) {
      const range = document.createRange(); range.selectNodeContents($(b.dataset.copy));
      const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range);
      b.textContent = document.execCommand("copy") ? "copied" : "select + copy";
    }
    setTimeout(() => (b.textContent = "copy"), 1500);
  }));

  // -- render ---------------------------------------------------------------------------
  $("render").addEventListener("click", async () => {
    $("render-state").textContent = "starting…";
    try {
      let job = await getJSON("/api/render", { overwrite: $("overwrite").checked ? "1" : "0" }, "POST");
      $("render-progress").hidden = false;
      while (job.state === "running") {
        $("render-progress").max = job.total; $("render-progress").value = job.frames;
        $("render-state").textContent = "rendering " + job.frames + " / " + job.total + " frames";
        await new Promise((res) => setTimeout(res, 250));
        job = await getJSON("/api/render", { id: job.id });
      }
      api.render = job;
      $("render-progress").value = job.frames;
      if (job.state === "done") {
        $("render-state").innerHTML = "";
        const a = document.createElement("a"); a.href = job.url; a.id = "render-link";
        a.textContent = job.output; a.target = "_blank";
        $("render-state").append("wrote ", a, " (" + job.frames + " frames, " + job.seconds + " s)");
      } else $("render-state").textContent = "failed: " + job.error;
    } catch (e) { $("render-state").textContent = "refused: " + e.message; api.render = { state: "refused", error: e.message }; }
  });

  // -- start ----------------------------------------------------------------------------
  (async function init() {
    try {
      const info = await getJSON("/api/info");
      state.info = info;
      $("name").textContent = info.name;
      // the size ffmotion writes (a rotated input upright), as the describe line's plan says
      const turned = info.rotation ? " (stored " + info.coded[0] + "×" + info.coded[1] + ", rotated " + info.rotation + "°)" : "";
      $("facts").textContent = info.width + "×" + info.height + turned + ", " + info.fps_text + " fps, " +
        info.frames + " frames; preview " + info.preview[0] + "×" + info.preview[1] + "; renders go to " + info.output_dir +
        (info.bounds_note ? "; " + info.bounds_note : "");
      lookControls(info.look_controls);
      const sel = $("preset");
      sel.append(new Option("(custom)", ""));
      Object.keys(info.presets).forEach((n) => {
        const p = info.presets[n], from = p.source === "built-in" ? "" : " (" + p.source + ")";
        sel.append(new Option(n + " — " + p.description + from, n));
      });
      sel.value = "classic";
      // a preset file that could not be read: its presets are missing, the page works
      $("preset-error").textContent = (info.presets_errors || []).map((e) => "presets left out: " + e).join("\n");
      $("offset-slider").max = String(Math.max(1, Math.min(info.frames - 1, Math.round(info.fps * 2))));
      changed();
    } catch (e) { showError(e.message); }
  })();
})();
