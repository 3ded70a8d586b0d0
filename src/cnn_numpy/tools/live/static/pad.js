// The drawing pad: mouse, touch and pen (pointer events, with mouse and touch events as a
// fallback for pages that only send those), an image file as a second way in, and the
// requests: throttled while drawing, at once when a stroke ends, one at a time.

import { bytesToBase64, postJSON } from "./api.js";

const PEN = 20;            // stroke width on the 280 x 280 pad: MNIST's strokes, scaled
const WHILE_DRAWING = 150; // at most one request every 150 ms while a stroke goes on

export class Pad {
  /** `onAnswer(result, meta)` gets each answer; `onClear()` when the pad is wiped.
   *  `colour`: a colour model's pad, which shows photos and examples and is not drawn on. */
  constructor(canvas, { onAnswer, onClear, onError, colour = false }) {
    this.canvas = canvas;
    this.colour = colour;
    canvas.classList.toggle("colour", colour);
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.onAnswer = onAnswer; this.onClear = onClear; this.onError = onError;
    this.version = 0;        // +1 whenever a change to the pad is complete (a stroke ends...)
    this.stroke = null;      // {source, last: [x, y]} while drawing
    this.inFlight = 0; this.again = false; this.lastSent = 0;
    this.sent = 0; this.shown = 0;   // numbers of the last request sent, and of the answer shown
    this.strokeEnded = 0;    // performance.now() when the last stroke ended
    this.empty = true;
    this.wipe();
    this.listen();
  }

  wipe() {
    this.context.fillStyle = "#fff";
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.empty = true;
  }

  clear() {
    this.wipe();
    this.version += 1;
    this.canvas.dataset.version = this.version;
    this.onClear();
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * this.canvas.width / box.width,
            (event.clientY - box.top) * this.canvas.height / box.height];
  }

  begin(source, event) {
    if (this.stroke || this.colour) return;        // one stroke at a time, from one source
    this.stroke = { source, last: this.point(event) };
    this.empty = false;
    this.line(this.stroke.last, this.stroke.last);
  }

  move(source, event) {
    if (!this.stroke || this.stroke.source !== source) return;
    const next = this.point(event);
    this.line(this.stroke.last, next);
    this.stroke.last = next;
    if (performance.now() - this.lastSent > WHILE_DRAWING) this.send();
  }

  end(source) {
    if (!this.stroke || this.stroke.source !== source) return;
    this.stroke = null;
    this.version += 1;
    this.canvas.dataset.version = this.version;
    this.strokeEnded = performance.now();
    this.send(true);
  }

  line([x0, y0], [x1, y1]) {
    const c = this.context;
    if (x0 === x1 && y0 === y1) {  // a canvas strokes no zero-length line: a tap is a dot
      c.fillStyle = "#111";
      c.beginPath(); c.arc(x0, y0, PEN / 2, 0, 2 * Math.PI); c.fill();
      return;
    }
    c.strokeStyle = "#111"; c.lineWidth = PEN; c.lineCap = "round"; c.lineJoin = "round";
    c.beginPath(); c.moveTo(x0, y0); c.lineTo(x1, y1); c.stroke();
  }

  listen() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      try { c.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
      this.begin("pointer", e);
      e.preventDefault();
    });
    c.addEventListener("pointermove", (e) => this.move("pointer", e));
    c.addEventListener("pointerup", () => this.end("pointer"));
    c.addEventListener("pointercancel", () => this.end("pointer"));
    // mouse and touch events only matter when no pointer event came first
    c.addEventListener("mousedown", (e) => { if (e.button === 0) this.begin("mouse", e); });
    window.addEventListener("mousemove", (e) => this.move("mouse", e));
    window.addEventListener("mouseup", () => this.end("mouse"));
    const touch = (handler) => (e) => {
      e.preventDefault();                           // no scrolling, no emulated mouse
      if (e.changedTouches.length) handler(e.changedTouches[0]);
    };
    c.addEventListener("touchstart", touch((t) => this.begin("touch", t)), { passive: false });
    c.addEventListener("touchmove", touch((t) => this.move("touch", t)), { passive: false });
    c.addEventListener("touchend", touch(() => this.end("touch")), { passive: false });
    // an image file, dropped on the pad
    c.addEventListener("dragover", (e) => { e.preventDefault(); c.classList.add("drop"); });
    c.addEventListener("dragleave", () => c.classList.remove("drop"));
    c.addEventListener("drop", (e) => {
      e.preventDefault(); c.classList.remove("drop");
      const file = e.dataTransfer?.files?.[0];
      if (file) this.upload(file);
    });
  }

  /** The pad's pixels as gray bytes (0 = ink, 255 = paper). */
  pixels() {
    const { width, height } = this.canvas;
    const rgba = this.context.getImageData(0, 0, width, height).data;
    const gray = new Uint8Array(width * height);
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i];
    return { pixels: bytesToBase64(gray), width, height };
  }

  /** Ask for an answer for the pad as it is now.  While drawing, one request at a time (and
   *  at most one every WHILE_DRAWING ms); when a stroke ends, at once, even if an earlier
   *  request is still on its way: an answer older than the one on the page is dropped. */
  send(final = false) {
    if (this.empty) return;
    if (this.inFlight > 0 && !final) { this.again = true; return; }
    const start = performance.now();
    const payload = this.pixels();
    this.encodeMs = performance.now() - start;
    this.request(payload, "pad");
  }

  async request(payload, source) {
    const number = ++this.sent;
    this.inFlight += 1; this.again = false; this.lastSent = performance.now();
    const version = this.version;
    const sentAfterStroke = this.stroke === null;
    try {
      const asked = performance.now();
      const { ok, status, body } = await postJSON("/api/predict", payload);
      this.requestMs = performance.now() - asked;
      if (this.empty || number < this.shown) return;   // cleared, or a newer answer is shown
      this.shown = number;
      const latency = sentAfterStroke && source === "pad"
        ? performance.now() - this.strokeEnded : null;
      if (ok) this.onAnswer(body, { version, latency, source });
      else this.onError(body.error || `error ${status}`, { version, status });
    } catch (err) {
      this.onError(`the server does not answer (${err.message})`, { version });
    } finally {
      this.inFlight -= 1;
      if (this.again && this.inFlight === 0 && !this.empty) this.send();
    }
  }

  /** Example `index` of a colour model (`canvas`: its picture): shown on the pad, sent by
   *  its number (the server holds the image). */
  example(index, canvas) {
    this.wipe();
    this.context.imageSmoothingEnabled = false;           // its pixels, sharp
    this.context.drawImage(canvas, 0, 0, this.canvas.width, this.canvas.height);
    this.context.imageSmoothingEnabled = true;
    this.empty = false;
    this.version += 1;
    this.canvas.dataset.version = this.version;
    this.request({ example: index }, "example");
  }

  /** An image file: shown on the pad, sent as the file itself (prepared as `predict` does). */
  async upload(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    this.wipe();
    try {
      const bitmap = await createImageBitmap(file);
      const s = Math.min(this.canvas.width / bitmap.width, this.canvas.height / bitmap.height);
      const w = bitmap.width * s, h = bitmap.height * s;
      this.context.drawImage(bitmap, (this.canvas.width - w) / 2, (this.canvas.height - h) / 2, w, h);
    } catch (err) { /* the server says what is wrong with the file */ }
    this.empty = false;
    this.version += 1;
    this.canvas.dataset.version = this.version;
    this.request({ image: bytesToBase64(bytes) }, "upload");
  }
}
