// Small line charts on a canvas: axes, ticks, a legend. Enough for loss and accuracy curves.

const FONT = "11px system-ui, sans-serif";

function niceStep(range, count) {
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return power * (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10);
}

/** Tick values for a log axis from low to high (> 0): 1, 2 and 5 times each power of 10. */
function logTicks(low, high) {
  const ticks = [];
  const steps = Math.log10(high / low) > 2.5 ? [1] : [1, 2, 5];    // at most ~8 labels
  for (let d = Math.floor(Math.log10(low)); d <= Math.ceil(Math.log10(high)); d++) {
    for (const m of steps) {
      const v = m * 10 ** d;
      if (v >= low * 0.999 && v <= high * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

/**
 * Draw `series` ([{label, colour, points: [[x, y]...], width, dots, dash, outliers}]) on
 * `canvas`; a series with `outliers` (single batches' losses) does not set the y range.
 * x runs from 0 to xMax (epochs); y from yMin to yMax (auto when null), on a log scale with
 * `log` (a loss falls by orders of magnitude: a linear axis shows only its first drop).
 */
export function lineChart(canvas, { series, xMax, yMin = null, yMax = null, yFormat, xLabel,
                                    log = false }) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 360, cssHeight = canvas.clientHeight || 200;
  if (canvas.width !== Math.round(cssWidth * ratio)) {
    canvas.width = Math.round(cssWidth * ratio); canvas.height = Math.round(cssHeight * ratio);
  }
  const c = canvas.getContext("2d");
  c.setTransform(ratio, 0, 0, ratio, 0, 0);
  c.clearRect(0, 0, cssWidth, cssHeight);
  const all = series.filter((s) => !s.outliers).flatMap((s) => s.points.map((p) => p[1]))
    .filter((v) => Number.isFinite(v) && (!log || v > 0));
  let low = yMin ?? (all.length ? Math.min(...all) : (log ? 0.1 : 0));
  let high = yMax ?? (all.length ? Math.max(...all) : 1);
  if (log) {
    low = Math.max(low, high * 1e-4);              // a few decades at most
    if (high / low < 1.5) { low /= 1.5; high *= 1.5; }
    // 6% of the span beyond the lowest and highest points: their dots drawn whole, not
    // halved by the frame
    const margin = (high / low) ** 0.06;
    if (yMin === null) low /= margin;
    if (yMax === null) high *= margin;
  } else {
    if (high - low < 1e-9) { high = low + 1; }
    const margin = 0.06 * (high - low);
    if (yMin === null) low = Math.max(0, low - margin);
    if (yMax === null) high += margin;
  }
  // the y axis's ends and the plotted values' (outliers aside), for the tests
  canvas.dataset.range = JSON.stringify({ axis: [low, high], values: [Math.min(...all), Math.max(...all)] });
  const labelled = series.filter((s) => s.label);
  const left = 44, right = 10, top = 10 + 16 * Math.ceil(labelled.length / 2), bottom = 30;
  const w = cssWidth - left - right, h = cssHeight - top - bottom;
  const X = (x) => left + (xMax > 0 ? x / xMax : 0) * w;
  const fraction = log ? (y) => Math.log(y / low) / Math.log(high / low)
                       : (y) => (y - low) / (high - low);
  const Y = (y) => top + (1 - fraction(y)) * h;
  // grid and ticks
  c.font = FONT; c.fillStyle = "#667"; c.strokeStyle = "#e4e6ee"; c.lineWidth = 1;
  let ticks = [];
  if (log) {
    ticks = logTicks(low, high);
  } else {
    const step = niceStep(high - low, 4);
    for (let y = Math.ceil(low / step) * step; y <= high + 1e-12; y += step) ticks.push(y);
  }
  c.textAlign = "right"; c.textBaseline = "middle";
  for (const y of ticks) {
    c.beginPath(); c.moveTo(left, Y(y)); c.lineTo(left + w, Y(y)); c.stroke();
    c.fillText(yFormat ? yFormat(y) : String(Number(y.toPrecision(3))), left - 6, Y(y));
  }
  c.textAlign = "center"; c.textBaseline = "top";
  const xStep = Math.max(1, Math.ceil(xMax / 10));
  for (let x = 0; x <= xMax; x += xStep) {
    c.beginPath(); c.moveTo(X(x), top); c.lineTo(X(x), top + h); c.stroke();
    c.fillText(String(x), X(x), top + h + 4);
  }
  if (xLabel) c.fillText(xLabel, left + w / 2, top + h + 16);
  c.strokeStyle = "#99a"; c.strokeRect(left, top, w, h);
  // the series, clipped to the plot
  c.save();
  c.beginPath(); c.rect(left - 4, top - 4, w + 8, h + 8); c.clip();   // a dot on the frame: whole
  for (const s of series) {
    const points = s.points.filter((p) => Number.isFinite(p[1]) && (!log || p[1] > 0));
    c.strokeStyle = s.colour; c.fillStyle = s.colour; c.lineWidth = s.width ?? 1.5;
    c.setLineDash(s.dash ?? []);
    c.beginPath();
    points.forEach(([x, y], i) => (i ? c.lineTo(X(x), Y(y)) : c.moveTo(X(x), Y(y))));
    c.stroke();
    c.setLineDash([]);
    if (s.dots) {
      for (const [x, y] of points) { c.beginPath(); c.arc(X(x), Y(y), 3, 0, 2 * Math.PI); c.fill(); }
    }
  }
  c.restore();
  // legend, above the plot: two entries a row
  c.textAlign = "left"; c.textBaseline = "middle";
  labelled.forEach((s, i) => {
    const x = left + (i % 2) * (w / 2), y = 8 + 16 * Math.floor(i / 2);
    c.fillStyle = s.colour; c.fillRect(x, y - 2, 14, 4);
    c.fillStyle = "#334"; c.fillText(s.label, x + 18, y);
  });
}
