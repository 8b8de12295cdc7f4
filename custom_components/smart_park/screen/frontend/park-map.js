// One map: the park's buildings as columns of floors (top floor on top), each floor a cell with its enterprises,
// coloured by the worst state; tanks with level and pressure; the air station and duty room beside them.
// Built once per snapshot; deltas change the keyed cells in place.

const V = new URL(import.meta.url).search;
const { h, setAttr, setText, shortName, floorsOf, STATES } = await import(`./dom.js${V}`);

const MIN_COLUMN_PX = 118; // a building column wide enough for a 4-character name chip and a second one

export class ParkMap {
  /** ctx: {t, fmt, onBuilding(id), onEnterprise(id)} */
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.buildings = new Map(); // id -> {el, name, tank, floors: Map(floor -> {el, ents})}
    this.chips = new Map(); // enterprise id -> chip element
    this.specials = new Map(); // special place id -> element
    this.tankOf = new Map(); // device id -> special place (tank or air station)
  }

  render(park) {
    const { t } = this.ctx;
    this.buildings.clear();
    this.chips.clear();
    this.specials.clear();
    this.tankOf.clear();
    const legend = h("span", { class: "legend" },
      STATES.map((state) => h("span", {}, h("i", { class: "dot", dataset: { state } }), t(`state_${state}`))));
    const grid = h("div", { class: "buildings" });
    for (const building of park.buildings || []) grid.append(this._building(park, building));
    const specials = h("div", { class: "specials" });
    for (const place of park.special_places || []) {
      this.tankOf.set(place.device, place);
      if (place.kind === "tank" && this.buildings.has(place.building)) continue; // drawn in its building
      const el = h("div", { class: "special", dataset: { place: place.id, state: place.state || "normal" } });
      this.specials.set(place.id, el);
      specials.append(el);
    }
    for (const place of park.special_places || []) this._special(park, place);
    this.section.replaceChildren(h("h2", {}, t("map"), legend), grid, specials);
    this.grid = grid;
    this._columns();
    this.resize ||= new ResizeObserver(() => this._columns());
    this.resize.observe(this.section);
  }

  /** Columns balanced over as few rows as the width allows (14 buildings: two rows of 7, not 13 + 1). */
  _columns() {
    const count = this.buildings.size || 1;
    const width = this.section.clientWidth || 1000;
    const perRow = Math.max(1, Math.floor(width / MIN_COLUMN_PX));
    const rows = Math.ceil(count / perRow);
    this.grid?.style.setProperty("--columns", String(Math.ceil(count / rows)));
    this.ctx.onMapRows?.(rows);
  }

  _building(park, building) {
    const { t } = this.ctx;
    const name = h("div", { class: "name", title: building.name, dataset: { state: building.state || "normal" } }, building.name);
    const tank = h("div", { class: "tank", hidden: true });
    const el = h("div", { class: "building", dataset: { building: building.id, worst: building.state || "normal" }, onclick: () => this.ctx.onBuilding(building.id) }, name, tank);
    const floors = new Map();
    const places = new Map((building.floor_places || []).map((place) => [place.floor, place]));
    for (const floor of floorsOf(building)) {
      const place = places.get(floor) || { floor, state: "normal", enterprises: [] };
      const ents = h("div", { class: "ents" });
      for (const id of place.enterprises || []) {
        const enterprise = park.enterprises?.[id];
        const chip = h("span", {
          class: "ent", title: enterprise?.name || id, dataset: { enterprise: id, state: enterprise?.state || "normal" },
          onclick: (event) => { event.stopPropagation(); this.ctx.onEnterprise(id); },
        }, shortName(enterprise?.name || id));
        this.chips.set(id, chip);
        ents.append(chip);
      }
      const cell = h("div", { class: "floor", title: `${building.name} ${t("floor_long", { floor })}`, dataset: { floor, state: place.state || "normal" } },
        h("span", { class: "num" }, t("floor", { floor })), ents);
      floors.set(floor, { el: cell, ents });
      el.append(cell);
    }
    this.buildings.set(building.id, { el, name, tank, floors });
    return el;
  }

  /** A tank drawn in its building's column, or an entry of the "other places" row. */
  _special(park, place) {
    const { t, fmt } = this.ctx;
    const values = park.devices?.[place.device]?.values || {};
    const parts = [];
    if ("level" in values) parts.push(t("level", { value: fmt.number(values.level) }));
    if ("pressure" in values) parts.push(t("pressure", { value: fmt.number(values.pressure) }));
    for (const key of ["so2", "pm25", "pm10"]) if (key in values) parts.push(`${key.toUpperCase()} ${fmt.number(values[key])}`);
    const state = place.state || "normal";
    const building = this.buildings.get(place.building);
    if (place.kind === "tank" && building) {
      building.tank.hidden = false;
      const level = "level" in values ? `${fmt.number(values.level)} m` : "";
      const pressure = "pressure" in values ? `${fmt.number(values.pressure)} kPa` : "";
      building.tank.replaceChildren(h("b", {}, t("tank")), [level, pressure].filter(Boolean).join(" · "));
      setAttr(building.tank, "title", place.name);
      setAttr(building.tank, "data-state", state === "normal" ? null : state);
      return;
    }
    const el = this.specials.get(place.id);
    if (el) {
      setText(el, [place.name, ...parts].join(" · "));
      setAttr(el, "data-state", state);
    }
  }

  /** Delta: [{building, floor|null, state}]. */
  applyPlaces(places) {
    for (const { building, floor, state } of places || []) {
      const entry = this.buildings.get(building);
      if (!entry) continue;
      if (floor === null || floor === undefined) {
        setAttr(entry.name, "data-state", state);
        setAttr(entry.el, "data-worst", state);
      } else {
        const cell = entry.floors.get(floor);
        if (cell) setAttr(cell.el, "data-state", state);
      }
    }
  }

  /** Delta: a building's state, or the whole building when enterprises moved floor (its column is redrawn). */
  applyBuilding(park, building, whole) {
    const entry = this.buildings.get(building.id);
    if (!entry) return;
    if (whole) {
      const column = this._building(park, building);
      entry.el.replaceWith(column);
      return;
    }
    if (building.state) {
      setAttr(entry.name, "data-state", building.state);
      setAttr(entry.el, "data-worst", building.state);
    }
  }

  applyEnterprise(id, enterprise) {
    const chip = this.chips.get(id);
    if (!chip) return;
    if (enterprise.state) setAttr(chip, "data-state", enterprise.state);
    if (enterprise.name) {
      setText(chip, shortName(enterprise.name));
      setAttr(chip, "title", enterprise.name);
    }
  }

  /** A device changed: redraw the tank or station it belongs to (values, state). */
  applyDevice(park, id) {
    const place = this.tankOf.get(id);
    if (place) this._special(park, place);
  }

  applySpecial(park, place) {
    this.tankOf.set(place.device, place);
    this._special(park, place);
  }
}
