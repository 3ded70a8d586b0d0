// The training view: events from GET /events (Server-Sent Events), the curves (#curves),
// the first layer's filters each epoch, the learning rate, and the Stop button.

import { decodeFloats, el, fmt, postJSON } from "./api.js";
import { drawFilterRGB, drawMap } from "./colors.js";
import { lineChart } from "./charts.js";

const SMOOTHING = 0.97;    // the smoothed loss: an exponential moving average, bias-corrected
const REDRAW = 250;        // redraw the charts at most every 250 ms (the browser shares the CPU)

export class Training {
  constructor({ onDone }) {
    this.onDone = onDone;
    this.batches = []; this.smooth = []; this.epochs = []; this.lrs = []; this.times = [];
    this.total = 1; this.perEpoch = 1; this.ema = 0; this.emaSteps = 0;
    this.state = "connecting"; this.events = 0; this.drawn = 0; this.pending = false;
    this.status = document.getElementById("train-status");
    this.stats = document.getElementById("train-stats");
    this.bar = document.querySelector("#progress .bar");
    this.stop = document.getElementById("stop");
    this.stop.addEventListener("click", () => this.requestStop());
    document.getElementById("training").hidden = false;
  }

  connect() {
    this.source = new EventSource("/events");
    this.source.onmessage = (message) => this.handle(JSON.parse(message.data));
    this.source.onerror = () => {
      if (this.state === "stopped" || this.state === "closed") { this.source.close(); return; }
      this.say(this.state === "done" ? "The server has stopped (Ctrl-C)." : "Connection lost; trying again…");
      if (this.state === "done") { this.state = "closed"; this.source.close(); }
    };
  }

  say(text) { this.status.textContent = text; }

  handle(event) {
    this.events += 1;
    document.getElementById("curves").dataset.events = this.events;
    if (event.type === "start") {
      this.total = event.epochs; this.perEpoch = Math.max(1, event.batches);
      this.lr = event.lr; this.state = "training";
      this.say(`Training ${event.title || ""}`);
      if (event.filters) this.filters(event.filters, "before training");
    } else if (event.type === "batch") {
      const x = event.epoch - 1 + event.batch / this.perEpoch;
      this.batches.push([x, event.loss]);
      this.ema = SMOOTHING * this.ema + (1 - SMOOTHING) * event.loss;
      this.emaSteps += 1;
      this.smooth.push([x, this.ema / (1 - SMOOTHING ** this.emaSteps)]);
      this.lr = event.lr; this.lrs.push([x, event.lr]);
      if (this.last && this.last.epoch !== event.epoch) this.times = [];   // not the evaluation
      this.times.push([this.batches.length, event.t]);
      this.last = event;
    } else if (event.type === "epoch") {
      this.epochs.push(event);
      if (event.filters) this.filters(event.filters, `after epoch ${event.epoch}`);
      // the next epoch's rate, if there is one: after the last, the rate it trained at stays
      if (event.next_lr !== null && event.next_lr !== undefined && event.epoch < this.total) {
        this.lr = event.next_lr;
      }
    } else if (event.type === "done") {
      this.state = "done";
      this.stop.hidden = true;
      const acc = event.test_acc !== null && event.test_acc !== undefined
        ? `: test accuracy ${(100 * event.test_acc).toFixed(2)}%` : "";
      this.say(`Training finished${acc}. Give the trained model an input below: a drawing, or for a colour model a photo or an example.`);
      this.onDone();
    } else if (event.type === "stopped") {
      this.state = "stopped";
      this.stop.hidden = true;
      this.say(`Stopped; the checkpoint is saved. Go on with: ${event.resume}`);
      this.source.close();
    }
    this.scheduleDraw();
  }

  async requestStop() {
    this.stop.disabled = true;
    this.say("Stopping at the next batch; saving the checkpoint…");
    const { ok, body } = await postJSON("/api/stop", {});
    if (!ok) { this.say(`Could not stop: ${body.error}`); this.stop.disabled = false; }
  }

  scheduleDraw() {
    if (this.pending) return;
    this.pending = true;
    const wait = Math.max(0, REDRAW - (performance.now() - this.drawn));
    setTimeout(() => requestAnimationFrame(() => this.draw()), wait);
  }

  draw() {
    this.pending = false; this.drawn = performance.now();
    const epochs = this.epochs;
    const at = (key) => epochs.map((e) => [e.epoch, e[key]]).filter((p) => p[1] !== null);
    const raw = this.batches.length > 3000
      ? this.batches.filter((_, i) => i % Math.ceil(this.batches.length / 3000) === 0)
      : this.batches;
    lineChart(document.getElementById("loss-chart"), {
      xMax: this.total, xLabel: "epoch (loss on a log scale)", log: true, series: [
        { label: "loss per batch", colour: "rgba(80, 110, 200, 0.25)", points: raw, width: 1,
          outliers: true },
        { label: "smoothed", colour: "#3355bb", points: this.smooth, width: 2 },
        { label: "train (epoch)", colour: "#1b1f3b", points: at("loss"), dots: true, width: 0 },
        { label: "test (epoch)", colour: "#e8590c", points: at("test_loss"), dots: true, width: 1.5, dash: [4, 3] },
      ] });
    lineChart(document.getElementById("acc-chart"), {
      xMax: this.total, yMax: 1, xLabel: "epoch", yFormat: (v) => `${Math.round(v * 100)}%`,
      series: [
        { label: "train", colour: "#3355bb", points: [[0, null], ...at("train_acc")], dots: true, width: 2 },
        { label: "test", colour: "#e8590c", points: at("test_acc"), dots: true, width: 2 },
      ] });
    const lrMax = Math.max(...this.lrs.map((p) => p[1]), 0) * 1.15 || 1;
    lineChart(document.getElementById("lr-chart"), {
      xMax: this.total, yMin: 0, yMax: lrMax, xLabel: "epoch", yFormat: (v) => fmt(v, 2),
      series: [{ label: "learning rate", colour: "#2b8a3e", points: this.lrs, width: 2 }] });
    const last = this.last;
    if (last) {
      const done = (last.epoch - 1 + last.batch / this.perEpoch) / this.total;
      this.bar.style.width = `${Math.min(100, 100 * done).toFixed(1)}%`;
      const loss = this.smooth.length ? this.smooth[this.smooth.length - 1][1] : null;
      const e = epochs[epochs.length - 1];
      const test = e && e.test_acc !== null ? ` · test accuracy ${(100 * e.test_acc).toFixed(2)}%` : "";
      const speed = this.speed() ? ` · ${this.speed()} batches/s` : "";
      this.stats.textContent = `epoch ${last.epoch}/${this.total} · batch ${last.batch}/` +
        `${this.perEpoch} · loss ${fmt(loss, 3)} · learning rate ${fmt(this.lr, 3)}${test}${speed}`;
    }
    document.getElementById("curves").dataset.drawn = String(this.batches.length);
  }

  /** Batches a second over the last 100 batches (the evaluation between epochs aside). */
  speed() {
    const times = this.times;
    if (times.length < 2) return null;
    const [first, last] = [times[Math.max(0, times.length - 100)], times[times.length - 1]];
    const span = last[1] - first[1], count = last[0] - first[0];
    return span > 0 && count > 0 ? Math.round(count / span) : null;
  }

  filters(filters, when) {
    const [F, C, kh, kw] = filters.shape;
    const values = decodeFloats(filters.values);
    let scale = 0;
    for (const v of values) scale = Math.max(scale, Math.abs(v));
    const box = document.getElementById("filters");
    box.replaceChildren();
    const colour = C === 3;          // a colour model's filter: one RGB patch
    box.dataset.colour = String(colour);
    for (let f = 0; f < F; f++) {
      const canvas = el("canvas");
      canvas.width = kw; canvas.height = kh;
      if (colour) {
        canvas.title = `filter ${f}: its 3×${kh}×${kw} weights scaled to [0, 1] as red, green, blue`;
        drawFilterRGB(canvas, values, f * C * kh * kw, kh, kw);
      } else {
        canvas.title = `filter ${f}` + (C > 1 ? " (input channel 0)" : "");
        drawMap(canvas, values, f * C * kh * kw, kh, kw, scale);   // input channel 0
      }
      box.append(canvas);
    }
    document.getElementById("filters-when").textContent = colour
      ? `${when}; each filter scaled to [0, 1] on its own and shown in colour: the colour it responds to most`
      : `${when}; red = positive weight, blue = negative, largest ${fmt(scale, 2)}`;
  }
}
