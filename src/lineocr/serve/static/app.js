// lineocr web page: upload, paste or drop line images or whole pages, or write on the canvas;
// read by /v1/ocr. A page is shown with its lines drawn over it (the page view, below).
// Plain JavaScript, no dependencies, nothing loaded from anywhere but this server.
"use strict";

// The formats a server may accept (its limits.formats, Pillow's names, in the order
// lineocr.images.FORMAT_ORDER lists them) -> the MIME types and name suffixes of such files.
const FORMAT_FILES = {
  PNG: { types: ["image/png"], suffixes: ["png"] },
  JPEG: { types: ["image/jpeg"], suffixes: ["jpg", "jpeg", "jpe", "jfif"] },
  BMP: { types: ["image/bmp", "image/x-ms-bmp"], suffixes: ["bmp"] },
  TIFF: { types: ["image/tiff"], suffixes: ["tif", "tiff"] },
  WEBP: { types: ["image/webp"], suffixes: ["webp"] },
  GIF: { types: ["image/gif"], suffixes: ["gif"] },
  PPM: {
    types: ["image/x-portable-pixmap", "image/x-portable-graymap", "image/x-portable-bitmap", "image/x-portable-anymap"],
    suffixes: ["ppm", "pgm", "pbm", "pnm"],
  },
};
// Bytes of multipart headers per part, generously (as client.py's _PART_OVERHEAD): a
// request's files and fields must fit in the server's max_body_bytes with them.
const PART_OVERHEAD = 512;
// Statuses of a request refused for its size or the time it took rather than for its
// options (0: no answer, the connection dropped), as client.py's _REQUEST_SIZE_OR_TIME:
// its files are worth sending again one at a time.
const REQUEST_SIZE_OR_TIME = new Set([0, 408, 413, 502, 503, 504]);
// A result's error code: the image would take its request past the server's pixels per
// request (max_request_pixels), the others were read; it is worth sending again alone.
const REQUEST_TOO_MANY_PIXELS = "request_too_many_pixels";
const HIGH = 0.9;
const MID = 0.6;

const $ = (id) => document.getElementById(id);
const state = {
  // The server's defaults until /v1/models answers with its own.
  limits: { max_body_bytes: 10 * 1024 * 1024, max_images_per_request: 16, formats: ["PNG", "JPEG", "WEBP", "TIFF", "BMP"] },
  ready: false,
};

function setStatus(text, kind) {
  const el = $("server-status");
  el.textContent = text;
  el.className = "status " + (kind || "");
}

async function loadModels() {
  try {
    const res = await fetch("/v1/models");
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    state.limits = { ...state.limits, ...body.limits };
    showFormats();
    useFieldInfo(body.fields);
    const tta = $("tta");
    tta.disabled = state.limits.tta === false;  // the server refuses it (--no-tta)
    if (tta.disabled) {
      tta.checked = false;
      $("tta-help").textContent = "turned off on this server";
    }
    const select = $("model");
    select.replaceChildren();
    for (const m of body.models) {
      const opt = document.createElement("option");
      opt.value = m.name;
      opt.textContent = m.version && m.version !== "unknown" ? `${m.name} (${m.version})` : m.name;
      opt.selected = m.default;
      select.append(opt);
    }
    for (const [id, names] of [["lexicon", body.lexicons], ["lm", body.language_models]]) {
      const list = $(id);
      for (const name of names || []) {
        const opt = document.createElement("option");
        opt.value = name;
        opt.textContent = name;
        list.append(opt);
      }
    }
    if (body.models.length === 0) {
      const opt = document.createElement("option");
      opt.textContent = "no model loaded";
      select.append(opt);
      select.disabled = true;
      setStatus("No model is loaded on this server", "bad");
      return;
    }
    state.ready = true;
    setStatus(body.models.length === 1 ? "Ready" : `Ready · ${body.models.length} models`, "ok");
  } catch (err) {
    setStatus("Cannot reach the server: " + err.message, "bad");
  }
}

// The files of the formats the server takes: the page's check and the file picker's filter.
function allowedFiles() {
  const known = state.limits.formats.filter((f) => FORMAT_FILES[f]);
  return {
    types: new Set(known.flatMap((f) => FORMAT_FILES[f].types)),
    suffixes: new Set(known.flatMap((f) => FORMAT_FILES[f].suffixes)),
    names: Object.keys(FORMAT_FILES).filter((f) => known.includes(f)).map((f) => (f === "WEBP" ? "WebP" : f)),
  };
}

function showFormats() {
  const { types, suffixes, names } = allowedFiles();
  $("files").accept = [...types, ...[...suffixes].map((s) => "." + s)].join(",");
  $("format-names").textContent = names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");
}

function isAllowed(file, allowed) {
  const suffix = (file.name || "").split(".").pop().toLowerCase();
  return allowed.types.has(file.type) || ((file.name || "").includes(".") && allowed.suffixes.has(suffix));
}

function readOptions() {
  const options = [];
  for (const id of ["model", "decoder", "lexicon", "lm", "layout"]) {
    const value = $(id).value;
    if (value) options.push([id, value]);
  }
  const pattern = $("pattern").value.trim();
  if (pattern) options.push(["pattern", pattern]);
  if ($("tta").checked) options.push(["tta", "true"]);
  return options;
}

function utf8Bytes(text) {
  return new TextEncoder().encode(text).length;
}

function partBytes(file) {
  return file.size + PART_OVERHEAD + utf8Bytes(file.name || "");
}

// Requests of at most max_images_per_request files whose bodies stay under max_body_bytes,
// in the files' order; every file must fit a request alone (readFiles refuses the others).
function splitRequests(files, budget) {
  const most = Math.max(1, state.limits.max_images_per_request);
  const groups = [];
  let group = [];
  let size = 0;
  for (const file of files) {
    const cost = partBytes(file);
    if (group.length && (group.length >= most || size + cost > budget)) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(file);
    size += cost;
  }
  if (group.length) groups.push(group);
  return groups;
}

// One POST /v1/ocr: {status, body}, status 0 when no answer came. The body always has
// `results` (one slot per file, also when none was read) or an `error` with a message,
// whatever answered: a proxy's 502 or 504 is an HTML page, not the API's JSON.
async function postImages(files, options) {
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name || "drawing.png");
  for (const [name, value] of options) form.append(name, value);
  let res;
  try {
    res = await fetch("/v1/ocr", { method: "POST", body: form });
  } catch (err) {
    return { status: 0, body: { error: { status: null, message: "Cannot reach the server: " + err.message } } };
  }
  let body = null;
  try {
    body = await res.json();
  } catch (err) {
    // not JSON: answered below from the status line
  }
  if (!body || typeof body !== "object" || !(Array.isArray(body.results) || (body.error && body.error.message))) {
    const line = `${res.status} ${res.statusText}`.trim();
    body = { error: { status: res.status, message: `The server answered ${line}` } };
  }
  return { status: res.status, body };
}

function confidenceLevel(c) {
  return c >= HIGH ? "high" : c >= MID ? "medium" : "low";
}

function confidenceClass(c) {
  return c >= HIGH ? "c-high" : c >= MID ? "c-mid" : "c-low";
}

// The line's own confidence, coloured like a character's: a line can be low although every
// character it shows is high (a character the model missed has nothing to colour).
function lineBadge(confidence) {
  const level = confidenceLevel(confidence);
  return Object.assign(document.createElement("span"), {
    className: "line-conf " + confidenceClass(confidence),
    textContent: `confidence ${percent(confidence)} (${level})`,
    title: `The line's confidence: ${level}`,
  });
}

function renderText(el, result) {
  el.replaceChildren();
  const text = result.text || "";
  const letters = Array.from(text);
  const chars = result.chars || [];
  if (chars.length !== letters.length) {
    el.textContent = text;
    return;
  }
  chars.forEach((c) => {
    const span = document.createElement("span");
    span.className = "ch " + confidenceClass(c.confidence);
    span.textContent = c.char;
    span.title = `“${c.char}”: ${(c.confidence * 100).toFixed(0)}% confident`;
    el.append(span);
  });
}

function percent(c) {
  return `${(c * 100).toFixed(1)}%`;
}

function newCard(name, file) {
  const node = $("result-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".name").textContent = name;
  node.file = file; // a page's PDF download sends it again
  const img = node.querySelector("img");
  if (file) {
    img.src = URL.createObjectURL(file);
    img.alt = `Image ${name}`;
    img.addEventListener("error", () => {
      img.replaceWith(Object.assign(document.createElement("span"), { className: "hint", textContent: "no preview" }));
    });
  } else {
    node.classList.add("no-thumb");
  }
  const copy = node.querySelector(".copy");
  copy.addEventListener("click", () => copyText(cardText(node), copy));
  copy.hidden = true;
  $("results").prepend(node);
  $("empty").hidden = true;
  $("clear-results").hidden = false;
  return node;
}

// What a card's Copy button copies: its line's text, or its page's text block by block.
function cardText(card) {
  return card.pageText !== undefined ? card.pageText : card.querySelector(".text").textContent;
}

function fillCard(card, result, fallbackError) {
  card.classList.remove("pending");
  const textEl = card.querySelector(".text");
  const err = card.querySelector(".error");
  if (result && result.ok && result.layout === "page") {
    fillPageCard(card, result);
    return;
  }
  if (result && result.ok) {
    renderText(textEl, result);
    card.querySelector(".conf").replaceChildren(lineBadge(result.confidence), result.model ? ` · ${result.model.name}` : "");
    card.dataset.confidence = confidenceLevel(result.confidence);
    card.querySelector(".copy").hidden = false;
    card.dataset.state = "done";
    return;
  }
  const error = (result && result.error) || fallbackError || { message: "not read" };
  card.classList.add("refused");
  textEl.remove();
  err.textContent = "Refused: " + error.message;
  card.dataset.state = "refused";
}

function refuse(file, reason) {
  const card = newCard(file.name || "pasted image", null);
  fillCard(card, null, { message: reason });
}

async function readFiles(fileList) {
  const files = Array.from(fileList);
  const accepted = [];
  const allowed = allowedFiles();
  const options = readOptions();
  const limit = state.limits.max_body_bytes;
  // What a request's body holds besides its files: the option fields, the closing boundary.
  const budget = limit - PART_OVERHEAD - options.reduce((n, [k, v]) => n + PART_OVERHEAD + utf8Bytes(k + v), 0);
  const bytes = (n) => `${n.toLocaleString("en-US")} bytes`;
  for (const file of files) {
    if (!isAllowed(file, allowed)) {
      refuse(file, `“${file.name}” is not an image this server reads (${allowed.names.join(", ")}).`);
    } else if (file.size === 0) {
      refuse(file, `“${file.name}” is empty.`);
    } else if (file.size > limit) {
      refuse(file, `“${file.name}” is ${bytes(file.size)}, more than this server takes in a request (${bytes(limit)}); not sent.`);
    } else if (partBytes(file) > budget) {
      refuse(file, `“${file.name}” is ${bytes(file.size)}: with the request's form fields it would pass this server's limit of ${bytes(limit)}; not sent.`);
    } else {
      accepted.push(file);
    }
  }
  for (const group of splitRequests(accepted, budget)) {
    const cards = group.map((f) => {
      const card = newCard(f.name || "pasted image", f);
      card.classList.add("pending");
      return card;
    });
    await readInto(cards, group, options);
  }
}

// Read files into their cards with one request. A request of several files refused as a
// whole for its size or the time it took (by the server or a proxy before it) is sent again
// one file at a time, in turn, as client.py does: one file too large or too slow then loses
// only its own reading. A refusal of the options (400, 422) would refuse each file alike,
// and is shown on every card. Per-image results are final, but for an image refused as too
// many pixels for its request (the server's advice: send it in another request): such images
// are sent again together while fewer are refused than were sent, else each alone, as
// client.py does; refused alone, an image keeps that error.
async function readInto(cards, files, options) {
  const { status, body } = await postImages(files, options);
  if (files.length > 1 && !body.results && REQUEST_SIZE_OR_TIME.has(status)) {
    for (const [j, file] of files.entries()) await readInto([cards[j]], [file], options);
    return;
  }
  const again = [];
  cards.forEach((card, j) => {
    const result = body.results ? body.results[j] : null;
    if (files.length > 1 && result && result.error && result.error.code === REQUEST_TOO_MANY_PIXELS) {
      again.push(j);
    } else {
      fillCard(card, result, body.error);
    }
  });
  // together while the set shrinks (the server read some), else one at a time
  if (again.length && again.length < files.length) {
    await readInto(again.map((j) => cards[j]), again.map((j) => files[j]), options);
  } else {
    for (const j of again) await readInto([cards[j]], [files[j]], options);
  }
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const old = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = old; }, 1200);
}

function setUpDrop() {
  const drop = $("drop");
  const input = $("files");
  drop.addEventListener("click", () => input.click());
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  input.addEventListener("change", () => { readFiles(input.files); input.value = ""; });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => { e.preventDefault(); readFiles(e.dataTransfer.files); });
  // A file dropped beside the zone must not navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  document.addEventListener("paste", (e) => {
    const files = Array.from(e.clipboardData ? e.clipboardData.files : []);
    if (files.length) { e.preventDefault(); readFiles(files); }
  });
  $("clear-results").addEventListener("click", () => {
    for (const img of $("results").querySelectorAll("img")) URL.revokeObjectURL(img.src);
    $("results").replaceChildren();
    $("empty").hidden = false;
    $("clear-results").hidden = true;
  });
}

function setUpPad() {
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  const out = $("draw-result");
  let drawing = false;
  let inked = false;
  let timer = null;
  let busy = false;
  let again = false;

  function clear() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    inked = false;
    out.replaceChildren(Object.assign(document.createElement("span"), { className: "placeholder", textContent: "Your text appears here" }));
    delete out.dataset.state;
    delete out.dataset.confidence;
  }

  function point(e) {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  }

  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    const [x, y] = point(e);
    ctx.lineWidth = pad.height / 14;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y + 0.1);
    ctx.stroke();
    inked = true;
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = point(e);
    ctx.lineTo(x, y);
    ctx.stroke();
    schedule(450);
  });
  const stop = () => {
    if (!drawing) return;
    drawing = false;
    schedule(60);
  };
  pad.addEventListener("pointerup", stop);
  pad.addEventListener("pointercancel", stop);
  $("clear").addEventListener("click", clear);
  $("model").addEventListener("change", () => { if (inked) schedule(0); });

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(readPad, ms);
  }

  function inkBox() {
    const { data, width, height } = ctx.getImageData(0, 0, pad.width, pad.height);
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (let y = 0; y < height; y += 2) {
      for (let x = 0; x < width; x += 2) {
        if (data[(y * width + x) * 4] < 128) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) return null;
    const m = Math.round(pad.height / 12);
    x0 = Math.max(0, x0 - m); y0 = Math.max(0, y0 - m);
    x1 = Math.min(width - 1, x1 + m); y1 = Math.min(height - 1, y1 + m);
    return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
  }

  async function readPad() {
    if (!inked || !state.ready) return;
    if (busy) { again = true; return; }
    const box = inkBox();
    if (!box) return;
    busy = true;
    const crop = document.createElement("canvas");
    [crop.width, crop.height] = [box[2], box[3]];
    crop.getContext("2d").drawImage(pad, box[0], box[1], box[2], box[3], 0, 0, box[2], box[3]);
    const blob = await new Promise((resolve) => crop.toBlob(resolve, "image/png"));
    const file = new File([blob], "drawing.png", { type: "image/png" });
    // A drawing is one line, whatever its shape: never looked at as a page.
    const options = readOptions().filter(([name]) => name !== "layout");
    const { body } = await postImages([file], [...options, ["layout", "line"]]);
    busy = false;
    if (!inked) return; // cleared while the request was on its way
    const result = body.results ? body.results[0] : null;
    if (result && result.ok) {
      renderText(out, result);
      if (!result.text) out.replaceChildren(Object.assign(document.createElement("span"), { className: "placeholder", textContent: "(nothing recognised yet)" }));
      out.dataset.state = "done";
      out.dataset.confidence = confidenceLevel(result.confidence);
      out.title = `confidence ${percent(result.confidence)} (${confidenceLevel(result.confidence)})`;
    } else {
      const err = (result && result.error) || body.error || { message: "not read" };
      out.replaceChildren(Object.assign(document.createElement("span"), { className: "placeholder", textContent: "Not read: " + err.message }));
      out.dataset.state = "error";
      delete out.dataset.confidence;
    }
    if (again) { again = false; schedule(0); }
  }

  clear();
}

// -- The page view (a result read as a page) ----------------------------------------------
// The image with the lines the server found drawn over it (an SVG in the image's own pixels,
// scaled with it), the text beside it in reading order, blocks apart; hovering, focusing or
// tapping a line shows its text with each character's confidence; downloads of the page.

const SVG = "http://www.w3.org/2000/svg";
// Formats the server writes for a page, beyond the TXT and JSON made here: each entry,
// {format, label, suffix, type}, adds a download button that sends the page as read (its
// result, not the image: nothing is read again) to POST /v1/documents with that format; the
// PDF (`image: true`) holds the page image too: the file read goes with the result to
// POST /v1/documents/pdf.
const DOCUMENT_FORMATS = [
  { format: "hocr", label: "hOCR", suffix: "hocr", type: "application/xhtml+xml" },
  { format: "alto", label: "ALTO", suffix: "alto.xml", type: "application/xml" },
  { format: "page", label: "PAGE-XML", suffix: "page.xml", type: "application/xml" },
  { format: "pdf", label: "PDF", suffix: "pdf", type: "application/pdf", image: true },
];

// The page's text as `lineocr read` writes it: lines in reading order, blocks apart.
function blockText(result) {
  return pageBlocks(result).map((block) => block.map((k) => result.lines[k].text).join("\n")).join("\n\n");
}

// The indices of the page's lines, block by block, in reading order.
function pageBlocks(result) {
  const blocks = new Map();
  result.lines.forEach((line, k) => {
    if (!blocks.has(line.block)) blocks.set(line.block, []);
    blocks.get(line.block).push(k);
  });
  return [...blocks.keys()].sort((a, b) => a - b).map((b) => blocks.get(b));
}

function fillPageCard(card, result) {
  const img = card.querySelector(".thumb img");
  const src = img ? img.src : "";
  card.classList.add("page-result", "no-thumb");
  card.querySelector(".conf").replaceChildren(
    lineBadge(result.confidence),
    ` · ${result.lines.length} ${result.lines.length === 1 ? "line" : "lines"}`,
    result.rotation ? ` · turned ${result.rotation}°` : "",
    result.model ? ` · ${result.model.name}` : "",
  );
  card.dataset.confidence = confidenceLevel(result.confidence);
  card.querySelector(".text").replaceWith(pageView(result, src, card.querySelector(".name").textContent, card.file));
  card.pageText = blockText(result);
  card.querySelector(".copy").hidden = false;
  card.dataset.state = "done";
}

function pageView(result, src, name, file) {
  const view = $("page-template").content.firstElementChild.cloneNode(true);
  const image = view.querySelector(".page-image");
  image.src = src;
  image.alt = `Page ${name}`;
  const [width, height] = result.size;
  const overlay = view.querySelector(".page-overlay");
  overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const text = view.querySelector(".page-text");
  const state = { view, result, selected: null };
  result.lines.forEach((line, k) => {
    const box = document.createElementNS(SVG, "polygon");
    box.setAttribute("points", line.polygon.map(([x, y]) => `${x},${y}`).join(" "));
    box.setAttribute("class", `line-box ${confidenceClass(line.confidence)}`);
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "button");
    box.setAttribute("aria-label", `Line ${k + 1}: ${line.text}`);
    box.dataset.line = k;
    overlay.append(box);
  });
  for (const block of pageBlocks(result)) {
    const el = Object.assign(document.createElement("div"), { className: "block" });
    for (const k of block) {
      const p = Object.assign(document.createElement("p"), { className: "page-line", dir: "auto" });
      p.dataset.line = k;
      renderText(p, result.lines[k]);
      el.append(p);
    }
    text.append(el);
  }
  if (!result.lines.length) text.append(Object.assign(document.createElement("p"), { className: "placeholder", textContent: "(no text found)" }));
  const lineOf = (e) => {
    const el = e.target.closest("[data-line]");
    return el ? Number(el.dataset.line) : null;
  };
  for (const area of [overlay, text]) {
    area.addEventListener("pointerover", (e) => { const k = lineOf(e); if (k !== null) showLine(state, k); });
    area.addEventListener("pointerleave", () => showLine(state, state.selected));
    // A tap (or a click) keeps the line shown until another is tapped.
    area.addEventListener("click", (e) => { const k = lineOf(e); if (k !== null) { state.selected = k; showLine(state, k); } });
  }
  overlay.addEventListener("focusin", (e) => { const k = lineOf(e); if (k !== null) { state.selected = k; showLine(state, k); } });
  overlay.addEventListener("keydown", (e) => {
    const k = lineOf(e);
    if (k === null || !["ArrowDown", "ArrowRight", "ArrowUp", "ArrowLeft"].includes(e.key)) return;
    e.preventDefault();
    const next = Math.min(result.lines.length - 1, Math.max(0, k + (e.key === "ArrowDown" || e.key === "ArrowRight" ? 1 : -1)));
    overlay.querySelector(`[data-line="${next}"]`).focus();
  });
  setUpDownloads(view, result, name, file);
  return view;
}

// Show line k (null: none) in the caption, and mark its box and its text.
function showLine(state, k) {
  const { view, result } = state;
  for (const el of view.querySelectorAll("[data-line].active")) el.classList.remove("active");
  const info = view.querySelector(".line-info");
  if (k === null || k === undefined) {
    info.replaceChildren(Object.assign(document.createElement("span"), { className: "placeholder", textContent: "Hover over or tap a line to see its text and each character's confidence" }));
    delete info.dataset.line;
    return;
  }
  for (const el of view.querySelectorAll(`[data-line="${k}"]`)) el.classList.add("active");
  const line = result.lines[k];
  const text = Object.assign(document.createElement("p"), { className: "line-text", dir: "auto" });
  renderText(text, line);
  const meta = Object.assign(document.createElement("span"), { className: "line-meta", textContent: `line ${k + 1} of ${result.lines.length} · block ${line.block + 1} · ` });
  meta.append(lineBadge(line.confidence));
  info.replaceChildren(meta, text);
  info.dataset.line = k;
}

// `file`: the image the page was read from (the PDF's page image); without it, no PDF.
function setUpDownloads(view, result, name, file) {
  const stem = (name || "page").replace(/\.[^.\/]*$/, "") || "page";
  const made = {
    txt: () => [blockText(result) + "\n", "text/plain;charset=utf-8"],
    json: () => [JSON.stringify(result, null, 2) + "\n", "application/json"],
  };
  for (const button of view.querySelectorAll(".downloads [data-format]")) {
    const format = button.dataset.format;
    button.addEventListener("click", () => download(`${stem}.${format}`, ...made[format]()));
  }
  const bar = view.querySelector(".downloads");
  for (const { format, label, suffix, type, image } of DOCUMENT_FORMATS) {
    if (image && !file) continue;
    const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary small", textContent: label });
    button.dataset.format = format;
    button.title = `${label} (.${suffix})`;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const content = image ? await fetchPdf({ ...result, name }, file) : await fetchDocument(format, { ...result, name });
        download(`${stem}.${suffix}`, content, type);
        button.removeAttribute("aria-invalid");
        button.title = `${label} (.${suffix})`;
      } catch (err) {
        button.setAttribute("aria-invalid", "true");
        button.title = `${label}: ${err.message}`;
      } finally {
        button.disabled = false;
      }
    });
    bar.append(button);
  }
}

// The page as a document of `format`, written by the server from the page as read.
async function fetchDocument(format, page) {
  const res = await fetch("/v1/documents", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ format, pages: [page] }),
  });
  return await answer(res, (r) => r.text());
}

// The page as a searchable PDF, written by the server over the image it was read from.
async function fetchPdf(page, file) {
  const form = new FormData();
  form.append("page", JSON.stringify(page));
  form.append("file", file, file.name || "drawing.png");
  const res = await fetch("/v1/documents/pdf", { method: "POST", body: form });
  return await answer(res, (r) => r.blob());
}

// A document's body, or an Error with the API's message.
async function answer(res, body) {
  if (res.ok) return await body(res);
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body.error && body.error.message) message = body.error.message;
  } catch (err) {
    // not the API's JSON: the status line says it
  }
  throw new Error(message);
}

function download(filename, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// -- The form-filling view ----------------------------------------------------------------
// An ID card or a form read as a page for the fields asked for (POST /v1/ocr with one
// extract=NAME=PATTERN per field): each value goes into a form a person can correct, the
// ones less confident than the server's review threshold marked for checking, and each
// value's box is drawn on the image (focusing a value marks its box).

// The named patterns offered, as people call them (the server's /v1/models lists them).
const FIELD_PRESETS = [
  { pattern: "id", label: "ID number", name: "id_number" },
  { pattern: "date", label: "Date", name: "date" },
  { pattern: "amount", label: "Amount", name: "amount" },
  { pattern: "phone", label: "Phone", name: "phone" },
  { pattern: "email", label: "Email", name: "email" },
];
const CUSTOM = "";  // the kind select's value for a regular expression of one's own
const forms = {
  presets: FIELD_PRESETS,
  reviewThreshold: 0.5,  // the server's fields.review_threshold replaces it
  maxFields: 16,
};

// The server's named patterns and review threshold (from /v1/models' `fields`).
function useFieldInfo(info) {
  if (!info) return;
  if (typeof info.review_threshold === "number") forms.reviewThreshold = info.review_threshold;
  if (typeof info.max_fields === "number") forms.maxFields = info.max_fields;
  const known = new Set(Object.keys(info.patterns || {}));
  forms.presets = FIELD_PRESETS.filter((p) => known.has(p.pattern));
  for (const name of known) {
    if (!forms.presets.some((p) => p.pattern === name)) forms.presets.push({ pattern: name, label: name, name });
  }
  for (const row of document.querySelectorAll("#field-rows .field-row")) fillKinds(row.querySelector(".field-kind"));
}

function fillKinds(select) {
  const chosen = select.value;
  select.replaceChildren();
  for (const p of forms.presets) select.append(new Option(p.label, p.pattern));
  select.append(new Option("Other (regular expression)", CUSTOM));
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function addFieldRow(pattern, name) {
  const rows = $("field-rows");
  if (rows.children.length >= forms.maxFields) return null;
  const row = $("field-row-template").content.firstElementChild.cloneNode(true);
  const kind = row.querySelector(".field-kind");
  const regex = row.querySelector(".field-regex");
  fillKinds(kind);
  kind.value = pattern;
  if (kind.value !== pattern) {  // not a named pattern: a regular expression
    kind.value = CUSTOM;
    regex.value = pattern;
  }
  regex.hidden = kind.value !== CUSTOM;
  row.querySelector(".field-name").value = name;
  kind.addEventListener("change", () => {
    regex.hidden = kind.value !== CUSTOM;
    const preset = forms.presets.find((p) => p.pattern === kind.value);
    const nameInput = row.querySelector(".field-name");
    if (preset && !nameInput.dataset.edited) nameInput.value = preset.name;
    if (!regex.hidden) regex.focus();
  });
  row.querySelector(".field-name").addEventListener("input", (e) => { e.target.dataset.edited = "1"; });
  row.querySelector(".remove-field").addEventListener("click", () => row.remove());
  rows.append(row);
  return row;
}

// The fields asked for: [[name, pattern]], in order; rows without a name or pattern skipped.
function fieldRows() {
  const out = [];
  for (const row of document.querySelectorAll("#field-rows .field-row")) {
    const name = row.querySelector(".field-name").value.trim();
    const kind = row.querySelector(".field-kind").value;
    const pattern = kind === CUSTOM ? row.querySelector(".field-regex").value : kind;
    if (name && pattern) out.push([name, pattern]);
  }
  return out;
}

function setUpForm() {
  addFieldRow("id", "id_number");
  addFieldRow("date", "date");
  $("add-field").addEventListener("click", () => {
    const row = addFieldRow(CUSTOM, "");
    if (row) row.querySelector(".field-name").focus();
  });
  const drop = $("form-drop");
  const input = $("form-file");
  drop.addEventListener("click", () => input.click());
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) fillForm(e.dataTransfer.files[0]);
  });
  input.addEventListener("change", () => {
    if (input.files.length) fillForm(input.files[0]);
    input.value = "";
  });
}

function formMessage(text, kind) {
  const p = Object.assign(document.createElement("p"), { className: kind || "hint", textContent: text });
  if (kind === "error") p.setAttribute("role", "alert");
  $("form-result").replaceChildren(p);
}

async function fillForm(file) {
  const fields = fieldRows();
  if (!fields.length) return formMessage("Give at least one field: a name and what it holds.", "error");
  if (!isAllowed(file, allowedFiles())) return formMessage(`${file.name}: not an image this server reads`, "error");
  formMessage(`Reading ${file.name}…`);
  const options = [];
  const model = $("model").value;
  if (model) options.push(["model", model]);
  for (const [name, pattern] of fields) options.push(["extract", `${name}=${pattern}`]);
  const { body } = await postImages([file], options);
  const slot = Array.isArray(body.results) ? body.results[0] : null;
  if (!slot || !slot.ok) {
    const error = (slot && slot.error) || body.error || { message: "no answer" };
    return formMessage(error.message, "error");
  }
  showFilledForm(slot, URL.createObjectURL(file), file.name, fields);
}

function showFilledForm(result, src, name, asked) {
  const view = $("filled-template").content.firstElementChild.cloneNode(true);
  const image = view.querySelector(".page-image");
  image.src = src;
  image.alt = `The form ${name}`;
  const [width, height] = result.size;
  const overlay = view.querySelector(".field-overlay");
  overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const form = view.querySelector(".filled-form");
  form.addEventListener("submit", (e) => e.preventDefault());
  const review = forms.reviewThreshold;
  let unsure = 0;
  let missing = 0;
  asked.forEach(([fieldName, pattern], k) => {
    const found = (result.fields || {})[fieldName] || null;
    const row = Object.assign(document.createElement("div"), { className: "filled-field" });
    row.dataset.field = fieldName;
    const id = `filled-${k}`;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: fieldName });
    const input = Object.assign(document.createElement("input"), { id, type: "text", name: fieldName, value: found ? found.value : "", spellcheck: false, autocomplete: "off" });
    input.dir = "auto";
    const note = Object.assign(document.createElement("span"), { className: "field-note" });
    note.id = `${id}-note`;
    input.setAttribute("aria-describedby", note.id);
    if (!found) {
      missing += 1;
      row.classList.add("not-found");
      note.textContent = "not found: fill it in";
    } else {
      const sure = found.confidence >= review;
      if (!sure) unsure += 1;
      row.classList.add(sure ? "sure" : "needs-review");
      note.textContent = sure ? `confidence ${percent(found.confidence)}` : `check this: confidence ${percent(found.confidence)}`;
      const [x0, y0, x1, y1] = found.box;
      const box = document.createElementNS(SVG, "rect");
      for (const [key, value] of [["x", x0], ["y", y0], ["width", x1 - x0], ["height", y1 - y0]]) box.setAttribute(key, value);
      box.setAttribute("class", `field-box ${sure ? "sure" : "needs-review"}`);
      box.dataset.field = fieldName;
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${fieldName}: ${found.value}`;
      box.append(title);
      overlay.append(box);
      const mark = (on) => box.classList.toggle("active", on);
      input.addEventListener("focus", () => mark(true));
      input.addEventListener("blur", () => mark(false));
      row.addEventListener("pointerenter", () => mark(true));
      row.addEventListener("pointerleave", () => mark(document.activeElement === input));
    }
    input.title = pattern;
    row.append(label, input, note);
    form.append(row);
  });
  const summary = Object.assign(document.createElement("p"), { className: "filled-summary", role: "status" });
  const found = asked.length - missing;
  summary.textContent = `${name}: ${found} of ${asked.length} fields found` + (unsure ? `, ${unsure} to check` : "") + (missing ? `, ${missing} not found` : "");
  $("form-result").replaceChildren(summary, view);
}

document.addEventListener("DOMContentLoaded", () => {
  setUpDrop();
  setUpPad();
  setUpForm();
  loadModels();
});
