// Colour scales for the heat maps: red = positive, blue = negative, white = zero.
// Signed values (before ReLU) use blue-white-red on a scale symmetric about zero;
// values that cannot be negative (after ReLU or pooling) run from white (0) to red.

const WHITE = [250, 250, 250];
const RED = [178, 24, 43];
const BLUE = [33, 102, 172];
const MID_RED = [239, 138, 98];
const MID_BLUE = [103, 169, 207];

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** RGB of t in [-1, 1]: -1 blue, 0 white, 1 red (two-step ramps, like ColorBrewer's RdBu). */
export function colour(t) {
  const s = Math.max(-1, Math.min(1, t));
  const a = Math.abs(s);
  const [mid, end] = s < 0 ? [MID_BLUE, BLUE] : [MID_RED, RED];
  return a < 0.5 ? mix(WHITE, mid, a * 2) : mix(mid, end, (a - 0.5) * 2);
}

/** Fill an RGBA buffer from values / scale. */
export function paint(data, values, offset, count, scale) {
  const inverse = scale > 0 ? 1 / scale : 0;
  for (let i = 0; i < count; i++) {
    const [r, g, b] = colour(values[offset + i] * inverse);
    data[4 * i] = r; data[4 * i + 1] = g; data[4 * i + 2] = b; data[4 * i + 3] = 255;
  }
}

/** Draw `height x width` values starting at `offset` into a canvas of that size. */
export function drawMap(canvas, values, offset, height, width, scale) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  paint(image.data, values, offset, height * width, scale);
  context.putImageData(image, 0, 0);
}

/** A gray image (0 black .. 1 white), e.g. the 28x28 input. */
export function drawGray(canvas, values, height, width) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let i = 0; i < height * width; i++) {
    const v = Math.max(0, Math.min(255, Math.round(values[i] * 255)));
    image.data[4 * i] = v; image.data[4 * i + 1] = v; image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/** CSS background colour for a table cell of value v on this scale. */
export function cssColour(v, scale) {
  const [r, g, b] = colour(scale > 0 ? v / scale : 0);
  return `rgb(${r | 0}, ${g | 0}, ${b | 0})`;
}

/** Readable text on that background. */
export function textColour(v, scale) {
  return scale > 0 && Math.abs(v / scale) > 0.6 ? "#fff" : "#222";
}

/** A legend: the gradient and its numbers. */
export function drawLegend(node, signed, scale, fmt) {
  const key = `${signed} ${scale}`;
  if (node.dataset.key === key) return;               // unchanged: nothing to redraw
  node.dataset.key = key;
  node.replaceChildren();
  const bar = document.createElement("canvas");
  bar.width = 120; bar.height = 1;
  const context = bar.getContext("2d");
  const image = context.createImageData(120, 1);
  for (let x = 0; x < 120; x++) {
    const t = signed ? (x / 119) * 2 - 1 : x / 119;
    const [r, g, b] = colour(t);
    image.data.set([r, g, b, 255], 4 * x);
  }
  context.putImageData(image, 0, 0);
  bar.className = "legend-bar";
  const low = document.createElement("span");
  low.textContent = signed ? fmt(-scale) : "0";
  const high = document.createElement("span");
  high.textContent = fmt(scale);
  const words = document.createElement("span");
  words.className = "legend-words";
  words.textContent = signed
    ? "signed values (as before a ReLU): blue < 0 < red"
    : "zero-based (as after a ReLU): 0 is white, red is strong";
  node.append(low, bar, high, words);
}

/** A colour image stored as planes (3 x height x width, red then green then blue, values
 *  0..1, as the model's input), starting at `offset`, into a canvas of that size. */
export function drawRGB(canvas, values, height, width, offset = 0) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      image.data[4 * i + k] = Math.max(0, Math.min(255, Math.round(values[offset + k * plane + i] * 255)));
    }
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/** The model's input, grey (H x W) or colour (3 x H x W), into a canvas of its size. */
export function drawInput(canvas, values, shape) {
  const [H, W] = shape.slice(-2);
  canvas.width = W; canvas.height = H;
  if (shape.length === 3 && shape[0] === 3) drawRGB(canvas, values, H, W);
  else drawGray(canvas, values, H, W);
}

/** One colour filter (3 x kh x kw weights from `offset`) as an RGB patch: the filter scaled
 *  on its own to [0, 1], (w - min) / (max - min), so it shows the colour it responds to. */
export function drawFilterRGB(canvas, weights, offset, kh, kw) {
  const count = 3 * kh * kw;
  let low = Infinity, high = -Infinity;
  for (let i = 0; i < count; i++) {
    low = Math.min(low, weights[offset + i]); high = Math.max(high, weights[offset + i]);
  }
  const span = high > low ? high - low : 1;
  const scaled = new Float32Array(count);
  for (let i = 0; i < count; i++) scaled[i] = (weights[offset + i] - low) / span;
  canvas.width = kw; canvas.height = kh;
  drawRGB(canvas, scaled, kh, kw);
}
