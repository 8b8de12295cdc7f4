// The enterprises table: this month's electricity and water, output value, tax, energy intensity and status;
// sortable by any column, filtered by a search box; one keyed row per enterprise, updated in place.

const V = new URL(import.meta.url).search;
const { h, setAttr, setText } = await import(`./dom.js${V}`);

const COLLATOR = new Intl.Collator("zh-CN", { numeric: true });

const COLUMNS = [
  { key: "name", label: "col_name", text: true },
  { key: "location", label: "col_location", text: true },
  { key: "electricity_kwh", label: "col_electricity" },
  { key: "water_m3", label: "col_water" },
  { key: "output_value", label: "col_output", money: true },
  { key: "tax", label: "col_tax", money: true },
  { key: "energy_intensity", label: "col_intensity" },
  { key: "status", label: "col_status", text: true },
];

export class EnterpriseTable {
  /** ctx: {t, fmt, onEnterprise(id)} */
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.rows = new Map(); // id -> {tr, cells, enterprise}
    this.sort = { key: "location", dir: 1 };
    this.query = "";
  }

  render(park) {
    const { t } = this.ctx;
    this.park = park;
    this.rows.clear();
    this.buildingNames = new Map((park.buildings || []).map((b) => [b.id, b.name]));
    this.buildingOrder = new Map((park.buildings || []).map((b, index) => [b.id, index]));
    this.heads = new Map();
    const head = h("tr", {}, COLUMNS.map((column) => {
      const th = h("th", {
        class: column.text ? undefined : "num", dataset: { sort: column.key },
        onclick: () => this.sortBy(column.key),
      }, t(column.label));
      this.heads.set(column.key, th);
      return th;
    }));
    this.body = h("tbody");
    const search = h("input", {
      type: "search", placeholder: t("search"), "aria-label": t("search"), value: this.query,
      oninput: (event) => { this.query = event.target.value; this._filter(); },
    });
    const months = new Set(Object.values(park.enterprises || {}).map((e) => e.month).filter(Boolean));
    const month = months.size === 1 ? h("span", { class: "sub" }, t("month", { month: [...months][0] })) : null;
    this.section.replaceChildren(
      h("h2", {}, t("enterprises"), month, h("span", { class: "tools" }, search)),
      h("div", { class: "scroll" }, h("table", {}, h("thead", {}, head), this.body)),
    );
    for (const enterprise of Object.values(park.enterprises || {})) this.upsert(enterprise.id, enterprise, false);
    this._sort();
    this._filter();
  }

  _value(enterprise, key) {
    if (key === "location") {
      // The profile's order of buildings, then floor and unit: "2号楼" before "10号楼".
      const building = this.buildingOrder.get(enterprise.building) ?? 9999;
      return `${String(building).padStart(4, "0")} ${String((enterprise.floor ?? 0) + 100).padStart(4, "0")} ${enterprise.unit ?? ""}`;
    }
    return enterprise[key];
  }

  upsert(id, partial, resort = true) {
    const { t, fmt } = this.ctx;
    let row = this.rows.get(id);
    if (!row) {
      const cells = Object.fromEntries(COLUMNS.map((c) => [c.key, h("td", { class: c.text ? c.key : `num ${c.key}` })]));
      const dot = h("i", { class: "dot" });
      cells.name.append(dot, " ", h("span"));
      const tr = h("tr", { dataset: { enterprise: id }, onclick: () => this.ctx.onEnterprise(id) }, Object.values(cells));
      row = { tr, cells, dot, enterprise: {} };
      this.rows.set(id, row);
      this.body.append(tr);
    }
    const e = (row.enterprise = { ...row.enterprise, ...partial, id });
    setAttr(row.dot, "data-state", e.state || "normal");
    setText(row.cells.name.lastChild, e.name || id);
    const building = this.buildingNames.get(e.building) || e.building || "";
    setText(row.cells.location, [building, e.floor ? t("floor", { floor: e.floor }) : "", e.unit || ""].filter(Boolean).join(" "));
    for (const column of COLUMNS) {
      if (column.text) continue;
      setText(row.cells[column.key], column.money ? fmt.money(e[column.key]) : fmt.number(e[column.key]));
    }
    // Output value, tax and intensity are of the latest month reported: its month shows on hover.
    for (const [key, month] of [["output_value", e.figures_month], ["tax", e.figures_month], ["energy_intensity", e.intensity_month]]) {
      setAttr(row.cells[key], "title", month || null);
    }
    setText(row.cells.status, e.status ? t(`status_${e.status}`) : t("none"));
    if (resort && COLUMNS.some((c) => c.key === this.sort.key && this.sort.key in partial)) this._sort();
    if (resort && this.query) this._filterRow(row);
  }

  sortBy(key) {
    this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : 1 };
    this._sort();
  }

  _sort() {
    const { key, dir } = this.sort;
    const rows = [...this.rows.values()];
    const value = (row) => this._value(row.enterprise, key);
    rows.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1; // empty figures last, either way
      if (y === null || y === undefined) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : COLLATOR.compare(String(x), String(y))) * dir;
    });
    rows.forEach((row, index) => {
      if (this.body.children[index] !== row.tr) this.body.insertBefore(row.tr, this.body.children[index] || null);
    });
    for (const [column, th] of this.heads) setAttr(th, "aria-sort", column === key ? (dir > 0 ? "ascending" : "descending") : null);
  }

  _filterRow(row) {
    const q = this.query.trim().toLowerCase();
    const e = row.enterprise;
    const haystack = [e.id, e.name, e.building, this.buildingNames.get(e.building), e.unit].join(" ").toLowerCase();
    row.tr.hidden = Boolean(q) && !haystack.includes(q);
  }

  _filter() {
    for (const row of this.rows.values()) this._filterRow(row);
  }
}
