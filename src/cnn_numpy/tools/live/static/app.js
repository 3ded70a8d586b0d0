// The page: asks the server what it serves, then builds the draw view (pad, input, answer,
// one panel per layer, kernel view) and, while a model trains, the training view.

import { decodeFloats, el, fmt, getJSON, postJSON, session } from "./api.js";
import { drawInput, drawRGB } from "./colors.js";
import { renderKernel } from "./kernel.js";
import { Layers, markBox } from "./layers.js";
import { Pad } from "./pad.js";
import { Training } from "./training.js";
import { Why } from "./why.js";

const $ = (id) => document.getElementById(id);
let drawView = null;

// a file dropped beside the pad is ignored: the browser would open it in place of the page
// (the drawing, the answer, a training run's curves all gone)
window.addEventListener("dragover", (e) => {
  e.preventDefault();
  if (e.target.id !== "pad" && e.dataTransfer) e.dataTransfer.dropEffect = "none";
});
window.addEventListener("drop", (e) => e.preventDefault());

async function boot() {
  const info = await getJSON("/api/info");
  session.token = info.token;
  document.title = `cnn-numpy · ${info.title || "see it think"}`;
  $("model-title").textContent = info.title;
  if (info.mode === "train") {
    const training = new Training({ onDone: () => showDrawView() });
    training.connect();
  }
  if (info.model) buildDrawView(info);
}

async function showDrawView() {
  const info = await getJSON("/api/info");
  if (info.model && !drawView) buildDrawView(info);
}

function buildDrawView(info) {
  const model = info.model;
  $("draw-view").hidden = false;
  const card = model.card;
  const facts = [card.preset, card.dataset, card.epochs && `${card.epochs} epoch${card.epochs === 1 ? "" : "s"}`,
                 card.test_acc && `test accuracy ${(100 * card.test_acc).toFixed(2)}%`];
  $("model-facts").textContent = facts.filter(Boolean).join(" · ");
  const layers = new Layers($("layers"), model, (layer, c, row, col) => pick(layer, c, row, col, true));
  const pad = new Pad($("pad"), {
    onAnswer: (result, meta) => show(result, meta),
    onClear: () => reset(),
    onError: (message, meta) => showError(message, meta),
    colour: model.colour,
  });
  const why = new Why($("why"), [...document.querySelectorAll(".why-method")], $("why-note"));
  drawView = { info: model, layers, pad, why, result: null, picked: null };
  $("clear").addEventListener("click", () => pad.clear());
  $("upload").addEventListener("change", (e) => {
    if (e.target.files[0]) pad.upload(e.target.files[0]);
    e.target.value = "";
  });
  buildProbabilities(model.classes);
  if (model.colour) buildColour(model, pad);
  else if (card.dataset && card.dataset !== "mnist") buildOtherGrey(card);
  reset();
}

/** A grey model of something other than MNIST's digits (Fashion-MNIST, lines): ask for one
 *  of its classes; for Fashion-MNIST say how the server prepares it, as cnn-numpy predict. */
function buildOtherGrey(card) {
  $("pad-title").textContent = "Draw one of its classes";
  $("pad-hint").textContent = "…or drop a photo of one on the pad.";
  drawView.prompt = "Draw one of its classes on the pad";
  if (card.dataset === "fashion-mnist") {
    $("input-hint").textContent = "28×28 pixels, prepared as Fashion-MNIST's photos were (and " +
      "like cnn-numpy predict): the ground's light divided out, negated, trimmed to the " +
      "article, its longer side scaled to 28 and centred, then normalised as in training.";
  }
}

/** A colour model: no drawing; a photo (chosen or dropped) or an example to click. */
function buildColour(model, pad) {
  const [C, H, W] = model.input_shape;
  $("pad-title").textContent = "Give it a colour image";
  $("pad-hint").textContent = "Drop a photo on the square, choose an image file, or click an example: " +
    (model.examples.some((e) => e.label !== null)
      ? "test images of the dataset it was trained on." : "pictures drawn here (the dataset's files are not on this computer).");
  $("input-hint").textContent = `${C}×${H}×${W}: the photo's centre, scaled to ${H}×${W} pixels ` +
    "(like cnn-numpy predict), then normalised as in training.";
  const box = $("examples");
  box.hidden = false;
  model.examples.forEach((example, k) => {
    const picture = el("canvas");
    picture.width = W; picture.height = H;
    drawRGB(picture, decodeFloats(example.image), H, W);
    const button = el("button", "example");
    button.type = "button";
    button.dataset.index = k;
    button.title = example.source;
    button.append(picture, el("span", "example-label", example.label ?? example.source.replace("generated: ", "")));
    button.addEventListener("click", () => pad.example(k, picture));
    box.append(button);
  });
}

function buildProbabilities(classes) {
  const box = $("probabilities");
  box.replaceChildren();
  for (const name of classes) {
    const row = el("div", "prob");
    row.dataset.label = name;
    const bar = el("div", "prob-bar");
    bar.append(el("div", "prob-fill"));
    row.append(el("span", "prob-label", name), bar, el("span", "prob-value", ""));
    box.append(row);
  }
}

function reset() {
  const answer = $("answer");
  answer.dataset.state = "empty"; answer.dataset.label = "";
  answer.dataset.version = String(drawView.pad.version);
  $("answer-main").textContent = "?";
  $("answer-note").textContent = drawView.info.colour ? "Give it a colour image"
    : drawView.prompt || "Draw a digit on the pad";
  clearResult();
}

/** Everything drawn from the last answer: the input, the bars, the layers, "Why?". */
function clearResult() {
  $("input").getContext("2d").clearRect(0, 0, $("input").width, $("input").height);
  for (const row of $("probabilities").children) {
    row.querySelector(".prob-fill").style.width = "0%";
    row.querySelector(".prob-value").textContent = "";
    row.classList.remove("best");
  }
  $("novelty-note").textContent = ""; $("timing").textContent = "";
  drawView.layers.clear();
  drawView.why.clear(drawView.pad.version);
  closeKernel();
  drawView.result = null;
}

function show(result, meta) {
  drawView.result = result;
  drawInput($("input"), decodeFloats(result.input), result.input_shape);
  const a = result.answer;
  const answer = $("answer");
  answer.dataset.state = a.state;
  answer.dataset.label = a.label ?? "";
  answer.dataset.version = String(meta.version);
  if (meta.latency !== null) answer.dataset.latency = meta.latency.toFixed(1);
  $("answer-main").textContent = a.state === "refused" ? "✗" : a.best;
  $("answer-main").classList.toggle("long", a.best.length > 3);    // "Ankle boot", "vertical"
  let note = `${(100 * a.confidence).toFixed(1)}% sure`;
  if (a.state === "unsure") note = `not sure: best guess ${a.best}, ${(100 * a.confidence).toFixed(1)}%`;
  if (a.state === "refused") note = `${a.text} (novelty score ${fmt(a.novelty.score, 3)} > ${fmt(a.novelty.threshold, 3)})`;
  $("answer-note").textContent = note;
  $("novelty-note").textContent = a.novelty === null
    ? "This model has no novelty check: whatever you draw, it names one of its classes."
    : `Novelty score ${fmt(a.novelty.score, 3)} (refused above ${fmt(a.novelty.threshold, 3)}).`;
  const best = a.index;
  [...$("probabilities").children].forEach((row, k) => {
    const p = result.probabilities[k];
    row.querySelector(".prob-fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".prob-value").textContent = `${(100 * p).toFixed(1)}%`;
    row.classList.toggle("best", k === best);
  });
  const drawing = performance.now();
  drawView.layers.render(result);
  drawView.why.render(result, meta.version);
  const renderMs = performance.now() - drawing;
  const ms = result.ms;
  const pad = drawView.pad;
  $("timing").dataset.client = JSON.stringify({ encode: pad.encodeMs, request: pad.requestMs, render: renderMs });
  $("timing").textContent = `server: ${ms.total.toFixed(0)} ms (preparing ${ms.prepare.toFixed(0)}` +
    ` ms, all layers ${ms.model.toFixed(0)} ms)` +
    (meta.latency !== null ? ` · answer ${meta.latency.toFixed(0)} ms after the stroke ended` : "");
  if (drawView.picked) pick(...drawView.picked);          // keep the kernel view up to date
}

function showError(message, meta) {
  clearResult();      // an earlier answer's bars and maps beside the error read as this input's
  const answer = $("answer");
  answer.dataset.state = "error";
  answer.dataset.label = "";
  answer.dataset.version = String(meta.version);
  $("answer-main").textContent = "…";
  $("answer-note").textContent = message;
}

/** The kernel view of one pixel; `reveal` (a click): scrolled into sight if it opened below
 * the window's edge, as on a phone, where a tall panel pushes it out of view. */
async function pick(layer, channel, row, col, reveal = false) {
  const result = drawView.result;
  if (!result) return;
  drawView.picked = [layer, channel, row, col];
  const { ok, body } = await postJSON("/api/kernel", { input: result.input, layer, channel, row, col });
  if (!ok || drawView.result !== result) return;
  const node = $("kernel");
  const panel = drawView.layers.panels[layer];
  panel.node.append(node);
  node.hidden = false;
  node.dataset.layer = layer;
  renderKernel(node, body, drawView.layers.value(layer, channel, row, col), closeKernel);
  // where the window and the pixel are
  drawView.layers.unmark();
  clearInputMark();
  const [kh, kw] = [body.kernel[0].length, body.kernel[0][0].length];
  const [top, left] = body.origin;
  const source = panel.layer.input ?? layer - 1;  // the panel it reads (-1: the image)
  if (source < 0) {
    const [H, W] = result.input_shape.slice(-2);
    $("input").parentElement.append(markBox(top, left, kh, kw, H, W, "window", 140));
  } else {
    drawView.layers.mark(source, null, top, left, kh, kw, "window");
  }
  drawView.layers.mark(layer, channel, row, col, 1, 1, "pixel");
  const below = node.getBoundingClientRect().top;
  if (reveal && below > window.innerHeight - 120) {   // just below the sticky header
    window.scrollBy(0, below - document.querySelector(".top").getBoundingClientRect().bottom - 8);
  }
}

function clearInputMark() {
  $("input").parentElement.querySelectorAll(".mark").forEach((n) => n.remove());
}

function closeKernel() {
  const node = $("kernel");
  node.hidden = true;
  node.replaceChildren();
  drawView.picked = null;
  drawView.layers.unmark();
  clearInputMark();
}

boot().catch((err) => { $("model-title").textContent = `Could not start: ${err.message}`; });
