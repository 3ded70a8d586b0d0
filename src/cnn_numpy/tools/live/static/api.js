// Talking to the server: JSON requests, and float32 arrays sent as base64.

/** The session token (sent with Stop); set from /api/info. */
export const session = { token: "" };

/** GET a JSON answer. */
export async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

/** POST a JSON body; resolves to {ok, status, body}. */
export async function postJSON(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Token": session.token },
    body: JSON.stringify(payload),
  });
  let body = {};
  try { body = await response.json(); } catch (err) { body = { error: String(err) }; }
  return { ok: response.ok, status: response.status, body };
}

/** base64 of little-endian float32 numbers -> Float32Array. */
export function decodeFloats(text) {
  const bytes = base64ToBytes(text);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes) {
  let binary = "";
  const chunk = 0x8000;            // String.fromCharCode takes a limited number of arguments
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** A number for people: 3 significant digits, no "-0". */
export function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Object.is(value, -0) || Math.abs(value) < 5e-13) return "0";
  const abs = Math.abs(value);
  if (abs >= 1000 || abs < 0.001) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

/** An element with a class and text. */
export function el(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}
