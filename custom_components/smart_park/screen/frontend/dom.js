// Small DOM helpers: elements are built once and then changed in place (keyed by id), never re-rendered whole.

/** h("div", {class: "x", dataset: {state: "fire"}, onclick: fn}, child, "text", ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Set text only when it changed (no layout work for the same value). */
export function setText(el, text) {
  const value = String(text ?? "");
  if (el.textContent !== value) el.textContent = value;
}

/** Set (or remove, for null) an attribute only when it changed. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== String(value)) {
    el.setAttribute(name, String(value));
  }
}

/** "恒达机械有限公司" -> "恒达机械": the map's chips show names without the company-form suffix. */
export function shortName(name) {
  return String(name || "")
    .replace(/(股份)?有限(责任)?公司$/u, "")
    .replace(/,?\s*(co\.?,?\s*)?(ltd\.?|limited|inc\.?)$/iu, "")
    .trim() || String(name || "");
}

/** A building's floors, top floor first: those the server lists (basements are negative) and 1..floors. */
export function floorsOf(building) {
  const floors = new Set((building.floor_places || []).map((place) => place.floor));
  for (let floor = 1; floor <= (building.floors || 0); floor += 1) floors.add(floor);
  return [...floors].filter((floor) => floor !== 0 && floor !== null && floor !== undefined).sort((a, b) => b - a);
}

export const STATES = ["fire", "one_key", "gas", "fault", "silenced", "test", "normal"];
