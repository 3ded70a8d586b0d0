// The "why" view: the answer's Grad-CAM or saliency as a heat map over the prepared input,
// redrawn with every answer (so it follows the pen).  The maps come from the server
// (cnn_numpy.explain, the model's own backward pass); this only draws them.

import { decodeFloats } from "./api.js";
import { drawInput } from "./colors.js";

const SIDE = 168;                                        // the canvas, in screen pixels

/** A small canvas holding the heat map `values` (h x w): red, its alpha ~ value / max. */
function heatCanvas(values, h, w, max) {
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  const context = canvas.getContext("2d");
  const image = context.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const t = max > 0 ? Math.max(0, values[i]) / max : 0;   // 0 .. 1
    image.data.set([255, Math.round(220 * (1 - t)), 0, Math.round(230 * t)], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

// the class the map explains, said as the answer said it: a refused or unsure input was not
// answered with that class, so the caption must not read as if it were
function whyOf(answer) {
  if (answer.state === "refused") return `Refused; why its closest class, “${answer.best}”`;
  if (answer.state === "unsure") return `Why its best guess, “${answer.best}”`;
  return `Why “${answer.best}”`;
}

export class Why {
  constructor(canvas, buttons, caption) {
    this.canvas = canvas;
    this.caption = caption;
    this.method = "gradcam";
    this.result = null;
    this.buttons = buttons;
    for (const button of buttons) {
      button.addEventListener("click", () => {
        this.method = button.dataset.method;
        // shown as chosen at once, even with no answer yet to draw the map of
        for (const other of buttons) other.classList.toggle("on", other === button);
        this.render(this.result, this.version);
      });
    }
  }

  clear(version) {
    this.result = null;
    const context = this.canvas.getContext("2d");
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.dataset.version = String(version);
    this.canvas.dataset.method = "";
    this.caption.textContent = "Give it an input: the map shows where the answer came from.";
  }

  render(result, version) {
    this.result = result;
    this.version = version;
    if (!result || !result.why) return;
    let method = this.method;
    if (!result.why[method]) method = "saliency";          // a net without a 4-D layer
    for (const button of this.buttons) button.classList.toggle("on", button.dataset.method === method);
    const map = result.why[method];
    const [h, w] = map.shape;
    const canvas = this.canvas;
    canvas.width = SIDE; canvas.height = SIDE;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;                  // the input's pixels, sharp
    const input = document.createElement("canvas");             // grey or colour
    drawInput(input, decodeFloats(result.input), result.input_shape);
    context.drawImage(input, 0, 0, SIDE, SIDE);
    context.imageSmoothingEnabled = method === "gradcam";   // Grad-CAM stretched smoothly
    context.drawImage(heatCanvas(decodeFloats(map.values), h, w, map.max), 0, 0, SIDE, SIDE);
    canvas.dataset.version = String(version);
    canvas.dataset.method = method;
    canvas.dataset.shape = `${h}x${w}`;
    const name = method === "gradcam" ? `Grad-CAM at the last ${h}×${w} layer` : `saliency |∂ logit / ∂ pixel|, ${h}×${w}`;
    this.caption.textContent = `${whyOf(result.answer)}: ${name}. Yellow to red: more of the evidence.`;
  }
}
