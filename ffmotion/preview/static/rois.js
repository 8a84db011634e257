// ffmotion preview: regions for `ffmotion measure`. Drag on the original frame to draw a
// rectangle; it is named by the name box, listed, and kept in pixels of the picture as
// displayed (what --roi and rois.toml take). "save rois.toml" downloads the file --rois
// reads; the --roi flags are shown to copy. Plain JS, its own module: app.js is untouched.
// window.ffmotionRois exposes the regions and the TOML text (for tests).
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("t") || "";
  const $ = (id) => document.getElementById(id);
  const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
  const regions = []; // {name, x, y, w, h} in displayed pixels
  let info = null;
  let drag = null;
  const api = (window.ffmotionRois = { regions: regions, background: "", toml: () => toml() });

  function toml() {
    const lines = ["# ffmotion measure regions: pixels of the picture as displayed",
      "# (x, y: top-left corner; w, h: size). Use: ffmotion measure IN --rois FILE"];
    if (api.background) lines.push('background = "' + api.background + '"');
    regions.forEach((r) => {
      lines.push("", "[regions." + r.name + "]", "x = " + r.x, "y = " + r.y, "w = " + r.w,
        "h = " + r.h);
    });
    return lines.join("\n") + "\n";
  }
  function flags() {
    return regions.map((r) => "--roi " + r.name + "=" + r.x + "," + r.y + "," + r.w + "," + r.h)
      .concat(api.background ? ["--background " + api.background] : []).join(" ");
  }

  // -- the box under the pictures ----------------------------------------------------------
  const box = document.createElement("section");
  box.id = "regions-box";
  box.innerHTML =
    '<fieldset><legend>regions for <code>ffmotion measure</code> (drag on the original ' +
    'frame)</legend><div class="row"><label>next name <input id="roi-name" type="text" ' +
    'value="region1" size="12"></label><label>background <select id="roi-background">' +
    '<option value="">(none)</option></select></label><button id="roi-save">save rois.toml' +
    '</button><button id="roi-clear">clear</button><span id="roi-state" class="note"></span>' +
    '</div><div id="roi-list" class="note"></div><div class="cmd"><code id="roi-flags">' +
    '</code><button id="roi-copy">copy</button></div></fieldset>';
  const pictures = $("pictures");
  pictures.parentNode.insertBefore(box, pictures.nextSibling);

  // an overlay canvas over the original frame, in its own pixels
  const original = $("original");
  const overlay = document.createElement("canvas");
  overlay.id = "roi-overlay";
  original.parentNode.style.position = "relative";
  Object.assign(overlay.style, { position: "absolute", left: "0", top: "0", cursor: "crosshair" });
  original.parentNode.insertBefore(overlay, original.nextSibling);

  function fit() {
    overlay.width = original.width; overlay.height = original.height;
    overlay.style.width = original.clientWidth + "px";
    overlay.style.height = original.clientHeight + "px";
    overlay.style.left = original.offsetLeft + "px"; overlay.style.top = original.offsetTop + "px";
    paint();
  }
  // canvas pixels <-> displayed picture pixels
  function scale() {
    return info ? [info.width / overlay.width, info.height / overlay.height] : [1, 1];
  }
  function at(event) {
    const rect = overlay.getBoundingClientRect();
    const [sx, sy] = scale();
    const cx = (event.clientX - rect.left) * overlay.width / rect.width;
    const cy = (event.clientY - rect.top) * overlay.height / rect.height;
    return [Math.max(0, Math.min(info.width, Math.round(cx * sx))),
      Math.max(0, Math.min(info.height, Math.round(cy * sy)))];
  }
  function paint() {
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    const [sx, sy] = scale();
    const shown = drag && drag.now ? regions.concat([rect(drag.from, drag.now, "")]) : regions;
    ctx.font = "12px system-ui, sans-serif";
    shown.forEach((r) => {
      const bg = r.name && r.name === api.background;
      ctx.strokeStyle = bg ? "#aaaaaa" : "#ffb000";
      ctx.lineWidth = 2;
      ctx.strokeRect(r.x / sx, r.y / sy, r.w / sx, r.h / sy);
      if (r.name) {
        ctx.fillStyle = "rgba(0,0,0,0.6)";
        ctx.fillRect(r.x / sx, r.y / sy, ctx.measureText(r.name).width + 6, 16);
        ctx.fillStyle = "#fff";
        ctx.fillText(r.name, r.x / sx + 3, r.y / sy + 12);
      }
    });
  }
  function rect(a, b, name) {
    return { name: name, x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]),
      w: Math.abs(b[0] - a[0]), h: Math.abs(b[1] - a[1]) };
  }
  function say(text) { $("roi-state").textContent = text; }
  function refresh() {
    const list = $("roi-list");
    list.textContent = "";
    regions.forEach((r, index) => {
      const item = document.createElement("span");
      item.textContent = r.name + "=" + r.x + "," + r.y + "," + r.w + "," + r.h + " ";
      const drop = document.createElement("button");
      drop.textContent = "×";
      drop.title = "remove " + r.name;
      drop.addEventListener("click", () => { regions.splice(index, 1); refresh(); });
      item.append(drop, " ");
      list.append(item);
    });
    const sel = $("roi-background");
    const keep = api.background;
    sel.textContent = "";
    sel.append(new Option("(none)", ""));
    regions.forEach((r) => sel.append(new Option(r.name, r.name)));
    api.background = regions.some((r) => r.name === keep) ? keep : "";
    sel.value = api.background;
    $("roi-flags").textContent = flags();
    paint();
  }
  function nextName() {
    let n = regions.length + 1;
    while (regions.some((r) => r.name === "region" + n)) n++;
    return "region" + n;
  }
  function add(r) {
    if (!NAME.test(r.name)) { say("a name is a letter, then letters, digits, - or _"); return; }
    if (regions.some((o) => o.name === r.name)) { say(r.name + " exists: choose another name"); return; }
    if (r.w < 1 || r.h < 1) { say("drag a rectangle (at least 1×1 pixel)"); return; }
    regions.push(r);
    say("");
    $("roi-name").value = nextName();
    refresh();
  }
  api.add = add;

  overlay.addEventListener("mousedown", (e) => {
    if (!info) return;
    drag = { from: at(e), now: null };
  });
  window.addEventListener("mousemove", (e) => { if (drag) { drag.now = at(e); paint(); } });
  window.addEventListener("mouseup", (e) => {
    if (!drag) return;
    const done = rect(drag.from, at(e), $("roi-name").value.trim());
    drag = null;
    add(done);
  });
  $("roi-background").addEventListener("change", (e) => { api.background = e.target.value; refresh(); });
  $("roi-clear").addEventListener("click", () => { regions.length = 0; refresh(); });
  $("roi-copy").addEventListener("click", () => {
    if (navigator.clipboard) navigator.clipboard.writeText(flags()).catch(() => {});
  });
  $("roi-save").addEventListener("click", () => {
    if (!regions.length) { say("draw a region first"); return; }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([toml()], { type: "application/toml" }));
    link.download = "rois.toml";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    say("saved rois.toml (your browser's downloads)");
  });
  window.addEventListener("resize", fit);
  new ResizeObserver(fit).observe(original);
  fetch("/api/info?t=" + encodeURIComponent(token)).then((r) => r.json()).then((body) => {
    info = body; fit(); refresh();
  }).catch(() => say("regions: the picture's size is unknown"));
})();
