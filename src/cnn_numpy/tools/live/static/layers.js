// One panel per layer (class="layer"), in order: its title and output shape, a legend, and
// its output as heat maps (one per channel) or, for a vector, a strip of cells.

import { decodeFloats, el, fmt } from "./api.js";
import { colour, drawFilterRGB, drawLegend, drawMap } from "./colors.js";

const ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

/** Feature maps are shown 84 px wide whatever their resolution (64 px for over 16 channels). */
const mapSize = (channels) => (channels > 16 ? 64 : 84);

export class Layers {
  /** `onPick(layer, channel, row, col)`: a pixel of a conv layer's map was clicked. */
  constructor(root, info, onPick) {
    this.root = root; this.onPick = onPick; this.classes = info.classes; this.info = info.layers;
    // a colour model's first conv filters, drawn beside the maps they make
    this.filters = info.filters && info.filters.shape[1] === 3 ? info.filters : null;
    this.panels = info.layers.map((layer) => this.build(layer, info.layers.length));
    this.values = [];
  }

  build(layer, count) {
    const node = el("section", "layer");
    node.dataset.index = layer.index;
    node.dataset.type = layer.type;
    node.dataset.drawn = "false";
    // inside a Residual: indented, marked by branch; its sum gets a panel of its own
    node.dataset.path = layer.path ?? `${layer.index}`;
    node.dataset.branch = layer.branch || "";
    if (layer.branch) node.classList.add(`branch-${layer.branch}`);
    if (layer.terms) node.classList.add("sum");
    node.style.marginLeft = `${24 * (layer.depth || 0)}px`;
    const head = el("header", "layer-head");
    const title = el("h3", "layer-title");
    title.append(el("span", "layer-index", node.dataset.path), el("span", "layer-name", layer.title),
                 el("span", "layer-shape", layer.shape_text));
    const legend = el("div", "legend");
    const sum = layer.terms && `the sum of ${this.pathOf(layer.terms[0])} and ` +
      `${layer.terms[1] < 0 ? "the input" : this.pathOf(layer.terms[1])}`;
    const readout = el("div", "readout", layer.conv ? "click a pixel: how was it computed?" : sum || "");
    head.append(title, legend, readout);
    const body = el("div", layer.shape.length === 3 ? "maps" : "vector");
    node.append(head, body);
    this.root.append(node);
    const panel = { layer, node, body, legend, readout, canvases: [], marks: [] };
    if (layer.shape.length === 3) this.buildMaps(panel);
    else this.buildVector(panel, layer.index === count - 1);
    return panel;
  }

  /** The path shown for panel `index` ("3.block.4"), or "the input" for -1. */
  pathOf(index) {
    return index < 0 ? "the input" : this.info[index].path ?? `${index}`;
  }

  buildMaps(panel) {
    const [C, H, W] = panel.layer.shape;
    const size = mapSize(C);
    for (let c = 0; c < C; c++) {
      const box = el("div", "map");
      const canvas = el("canvas");
      canvas.width = W; canvas.height = H;
      canvas.style.width = `${size}px`; canvas.style.height = `${Math.round(size * H / W)}px`;
      canvas.title = `channel ${c}`;
      box.append(canvas, el("span", "map-label", `${c}`));
      if (this.filters && panel.layer.conv && panel.layer.input === -1) this.filterPatch(box, c);
      panel.body.append(box);
      panel.canvases.push(canvas);
      const where = (e) => {
        const box2 = canvas.getBoundingClientRect();
        const col = Math.min(W - 1, Math.floor((e.clientX - box2.left) / box2.width * W));
        const row = Math.min(H - 1, Math.floor((e.clientY - box2.top) / box2.height * H));
        return [Math.max(0, row), Math.max(0, col)];
      };
      canvas.addEventListener("mousemove", (e) => {
        const values = this.values[panel.layer.index];
        if (!values) return;
        const [row, col] = where(e);
        panel.readout.textContent =
          `channel ${c}, row ${row}, col ${col}: ${fmt(values[(c * H + row) * W + col], 4)}`;
      });
      if (panel.layer.conv) {
        canvas.addEventListener("click", (e) => {
          if (!this.values[panel.layer.index]) return;
          const [row, col] = where(e);
          this.onPick(panel.layer.index, c, row, col);
        });
        this.keyboardPick(canvas, panel.layer, c, H, W);
      }
    }
  }

  /** Without a mouse: Tab to a conv map, Enter shows its centre pixel's sum, the arrow
   *  keys move the pixel (a click was the only way in). */
  keyboardPick(canvas, layer, c, H, W) {
    canvas.tabIndex = 0;
    canvas.setAttribute("aria-label", `${layer.title}, channel ${c}: Enter shows how a ` +
      "pixel was computed, the arrow keys move it");
    let at = null;                                          // [row, col] last shown
    canvas.addEventListener("keydown", (e) => {
      const step = ARROWS[e.key];
      if (!this.values[layer.index] || !(step || e.key === "Enter" || e.key === " ")) return;
      e.preventDefault();                                    // no page scroll
      const [row, col] = at ?? [H >> 1, W >> 1];
      const [dr, dc] = at && step ? step : [0, 0];
      at = [Math.min(H - 1, Math.max(0, row + dr)), Math.min(W - 1, Math.max(0, col + dc))];
      this.onPick(layer.index, c, ...at);
    });
  }

  /** Filter `c` of the first conv as a small RGB picture, in the corner of its map. */
  filterPatch(box, c) {
    const [, C, kh, kw] = this.filters.shape;
    if (!this.filterValues) this.filterValues = decodeFloats(this.filters.values);
    const patch = el("canvas", "filter-patch");
    patch.title = `filter ${c}: its ${C}×${kh}×${kw} weights scaled to [0, 1], as red, green, blue`;
    drawFilterRGB(patch, this.filterValues, c * C * kh * kw, kh, kw);
    box.append(patch);
  }

  buildVector(panel, last) {
    const D = panel.layer.shape[0];
    const columns = D <= 32 ? D : 64;
    const cell = D <= 32 ? 28 : 9;
    const canvas = el("canvas", "cells");
    canvas.width = columns * cell; canvas.height = Math.ceil(D / columns) * cell;
    panel.body.append(canvas);
    panel.canvases.push(canvas);
    panel.cell = cell; panel.columns = columns;
    if (last && this.classes.length === D) {
      const labels = el("div", "cell-labels");
      // names wider than a cell ("automobile", "Ankle boot") run down the cell, read whole
      const upright = this.classes.some((name) => name.length * 6 > cell);
      labels.classList.toggle("upright", upright);
      for (const name of this.classes) {
        const label = el("span", "", name);
        label.style.width = `${cell}px`;
        label.title = name;
        if (upright) label.style.lineHeight = `${cell}px`;    // one column of text per cell
        labels.append(label);
      }
      panel.body.append(labels);
    }
    canvas.addEventListener("mousemove", (e) => {
      const values = this.values[panel.layer.index];
      if (!values) return;
      const box = canvas.getBoundingClientRect();
      const x = Math.floor((e.clientX - box.left) / box.width * columns);
      const y = Math.floor((e.clientY - box.top) / box.height * canvas.height / cell);
      const i = y * columns + x;
      if (i >= 0 && i < D) {
        const name = last && this.classes.length === D ? ` (${this.classes[i]})` : "";
        panel.readout.textContent = `unit ${i}${name}: ${fmt(values[i], 4)}`;
      }
    });
  }

  /** Draw every layer's output from a /api/predict answer. */
  render(result) {
    this.values = result.layers.map((layer) => decodeFloats(layer.values));
    this.panels.forEach((panel, i) => {
      const { signed, scale } = result.layers[i];
      panel.scale = scale;
      drawLegend(panel.legend, signed, scale, fmt);
      const values = this.values[i];
      if (panel.layer.shape.length === 3) {
        const [C, H, W] = panel.layer.shape;
        for (let c = 0; c < C; c++) drawMap(panel.canvases[c], values, c * H * W, H, W, scale);
      } else {
        this.drawCells(panel, values, scale);
      }
      panel.node.dataset.drawn = "true";
    });
  }

  drawCells(panel, values, scale) {
    const canvas = panel.canvases[0];
    const context = canvas.getContext("2d");
    const { cell, columns } = panel;
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < values.length; i++) {
      const [r, g, b] = colour(scale > 0 ? values[i] / scale : 0);
      context.fillStyle = `rgb(${r | 0}, ${g | 0}, ${b | 0})`;
      context.fillRect((i % columns) * cell, Math.floor(i / columns) * cell, cell - 1, cell - 1);
    }
  }

  clear() {
    this.values = [];
    this.unmark();
    for (const panel of this.panels) {
      for (const canvas of panel.canvases) {
        canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
      }
      panel.legend.replaceChildren();
      panel.legend.dataset.key = "";
      panel.node.dataset.drawn = "false";
    }
  }

  /** The value of one pixel of a layer's output. */
  value(layer, channel, row, col) {
    const [, H, W] = this.panels[layer].layer.shape;
    return this.values[layer][(channel * H + row) * W + col];
  }

  /** Outline rows top..top+h, cols left..left+w on one map (channel) or on all of them. */
  mark(layer, channel, top, left, h, w, kind) {
    const panel = this.panels[layer];
    const [C, H, W] = panel.layer.shape;
    const channels = channel === null ? [...Array(C).keys()] : [channel];
    for (const c of channels) {
      const box = panel.canvases[c].parentElement;
      box.append(markBox(top, left, h, w, H, W, kind, mapSize(C)));
      panel.marks.push(box.lastChild);
    }
  }

  unmark() {
    for (const panel of this.panels) {
      panel.marks.forEach((node) => node.remove());
      panel.marks = [];
    }
  }
}

/** An outline over an H x W image shown `size` px wide (cut to the image where it overhangs). */
export function markBox(top, left, h, w, H, W, kind, size) {
  const scale = size / W;
  const r0 = Math.max(0, top), c0 = Math.max(0, left);
  const r1 = Math.min(H, top + h), c1 = Math.min(W, left + w);
  const node = el("div", `mark ${kind}`);
  node.style.top = `${r0 * scale}px`; node.style.left = `${c0 * scale}px`;
  node.style.height = `${Math.max(0, r1 - r0) * scale}px`;
  node.style.width = `${Math.max(0, c1 - c0) * scale}px`;
  return node;
}
