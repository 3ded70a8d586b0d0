// The kernel view: how one number of a conv layer's feature map was computed, with the
// real numbers (computed by the server from the layer's weights and its actual input).

import { el, fmt } from "./api.js";
import { cssColour, textColour } from "./colors.js";

function absMax(arrays) {
  let m = 0;
  for (const a of arrays.flat(3)) m = Math.max(m, Math.abs(a));
  return m;
}

/** A small table of numbers, each cell coloured on `scale`; `padding` greys cells. */
function numbers(matrix, scale, padding = null, className = "") {
  const table = el("table", `nums ${className}`);
  matrix.forEach((row, i) => {
    const tr = el("tr");
    row.forEach((v, j) => {
      const td = el("td", "", fmt(v, 2));
      if (padding && padding[i][j]) {
        td.className = "pad-cell";
        td.title = "zero padding";
      } else {
        td.style.background = cssColour(v, scale);
        td.style.color = textColour(v, scale);
        td.title = String(v);
      }
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}

/** One line of the sum: words, a number (with an id for tests), a note. */
function line(words, value, id, note = "") {
  const row = el("div", "sum-line");
  const number = el("span", "sum-value", fmt(value, 4));
  if (id) { number.id = id; number.dataset.value = String(value); }
  row.append(el("span", "sum-words", words), number);
  if (note) row.append(el("span", "sum-note", note));
  return row;
}

/** Fill `node` with the kernel view of `view` (the /api/kernel answer). */
export function renderKernel(node, view, mapValue, onClose) {
  node.replaceChildren();
  const C = view.window.length;
  const [kh, kw] = [view.kernel[0].length, view.kernel[0][0].length];
  const head = el("header", "kernel-head");
  head.append(el("h4", "", `How ${view.title} computed channel ${view.channel}, ` +
                           `row ${view.row}, column ${view.col}`));
  const close = el("button", "close", "×");
  close.id = "kernel-close";
  close.title = "close";
  close.addEventListener("click", onClose);
  head.append(close);
  const bias = view.has_bias ? " + bias" : "";
  const formula = el("p", "formula",
    `output = Σ over ${C} input channel${C > 1 ? "s" : ""} of Σ over the ${kh}×${kw} window ` +
    `(input × kernel)${bias}. The window starts at row ${view.origin[0]}, column ` +
    `${view.origin[1]} of the input (stride ${view.stride.join("×")}, padding ` +
    `${view.padding_size.join("×")}; grey cells are zero padding).`);
  node.append(head, formula);

  const inputScale = absMax(view.window) || 1;
  const kernelScale = absMax(view.kernel) || 1;
  const productScale = absMax(view.products) || 1;
  const grid = el("div", "channels");
  for (let k = 0; k < C; k++) {
    const block = el("div", "channel");
    const name = view.input_names ? ` (${view.input_names[k]})` : "";
    block.append(el("div", "channel-title", `input channel ${k}${name}`));
    const row = el("div", "channel-row");
    row.append(
      labelled("input window", numbers(view.window[k], inputScale, view.padding)),
      el("span", "op", "×"),
      labelled("kernel", numbers(view.kernel[k], kernelScale)),
      el("span", "op", "="),
      labelled("products", numbers(view.products[k], productScale, view.padding)),
      el("span", "op", "→"),
      labelled("sum", sumCell(view.channel_sums[k], productScale * kh * kw / 2)),
    );
    block.append(row);
    grid.append(block);
  }
  node.append(grid);

  const total = el("div", "sums");
  total.append(line(`sum over the ${C} input channel${C > 1 ? "s" : ""}`, view.sum, "kernel-channel-sum"));
  if (view.has_bias) total.append(line("+ bias", view.bias, "kernel-bias"));
  const ok = Math.abs(view.value - mapValue) <= 1e-4 * Math.max(1, Math.abs(mapValue));
  total.append(line("= output", view.value, "kernel-sum",
                    ok ? "✓ the feature map's value" : "≠ the feature map's value!"));
  total.append(line("the feature map shows", mapValue, "kernel-map-value"));
  for (const step of view.then) {
    total.append(line(`then ${step.title}`, step.value, `kernel-then-${step.layer}`,
                      step.type === "ReLU" ? "max(0, x)" : ""));
  }
  node.append(total);
}

function labelled(words, content) {
  const box = el("div", "labelled");
  box.append(content, el("div", "caption", words));
  return box;
}

function sumCell(value, scale) {
  const cell = el("div", "sum-cell", fmt(value, 3));
  cell.style.background = cssColour(value, scale);
  cell.style.color = textColour(value, scale);
  cell.title = String(value);
  return cell;
}
