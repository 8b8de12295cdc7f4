// The map's close-ups: a building (its floors and enterprises enlarged, its bells' buttons) and an enterprise
// (its devices and figures). Small enough to redraw whole while open when the park changes.

const V = new URL(import.meta.url).search;
const { h, floorsOf } = await import(`./dom.js${V}`);

/** "Output (CNY) (2026-10)": output value and tax are of the latest month reported, not always this one. */
function monthOf(t, label, month) {
  return month ? t("figures_month", { what: t(label), month }) : t(label);
}

export class Details {
  /** ctx: {t, fmt, act(service, data, options), linkage(building) -> {group, state} | null} */
  constructor(host, ctx) {
    this.host = host;
    this.ctx = ctx;
    this.view = null; // {kind: "building" | "enterprise", id, back}
  }

  open(park, kind, id, back = null) {
    this.view = { kind, id, back };
    this.refresh(park);
  }

  close() {
    this.view = null;
    this.host.replaceChildren();
  }

  refresh(park) {
    if (!this.view || !park) return;
    const { kind, id } = this.view;
    const body = kind === "building" ? this._building(park, id) : this._enterprise(park, id);
    if (!body) return this.close();
    const dialog = h("div", { class: "dialog", role: "dialog", "aria-modal": "true", dataset: { detail: kind, id } }, body);
    const backdrop = h("div", { class: "backdrop", onclick: (event) => event.target === backdrop && this.close() }, dialog);
    const scroll = this.host.querySelector(".dialog")?.scrollTop || 0;
    this.host.replaceChildren(backdrop);
    dialog.scrollTop = scroll;
  }

  _bar(extra = []) {
    const { t } = this.ctx;
    const back = this.view.back;
    return h("div", { class: "bar" }, extra,
      back ? h("button", { onclick: () => { this.view = back; this.refresh(this.park); } }, t("back")) : null,
      h("button", { class: "close-dialog", onclick: () => this.close() }, t("close_dialog")));
  }

  _building(park, id) {
    const { t, fmt } = this.ctx;
    this.park = park;
    const building = (park.buildings || []).find((b) => b.id === id);
    if (!building) return null;
    const linkage = this.ctx.linkage(id);
    const entry = park.config_entry_id ? { config_entry_id: park.config_entry_id } : {};
    const bells = linkage ? [
      h("span", { class: "sub" }, t("linkage", { state: t(`linkage_${linkage.state}`) })),
      ...[["silence", "silence_alarm"], ["reset", "reset_alarm"], ["test_bells", "test_bells"]].map(([label, service]) =>
        h("button", { class: service, onclick: () => this.ctx.act(service, { group: linkage.group, ...entry }, { label: t(label), pin: true, group: building.name }) }, t(label))),
    ] : [];
    const places = new Map((building.floor_places || []).map((p) => [p.floor, p]));
    const floors = [];
    for (const floor of floorsOf(building)) {
      const place = places.get(floor) || { state: "normal", enterprises: [], devices: [] };
      const enterprises = (place.enterprises || []).map((eid) => {
        const e = park.enterprises?.[eid] || { name: eid };
        return h("span", { class: "ent", dataset: { enterprise: eid, state: e.state || "normal" }, onclick: () => this.open(park, "enterprise", eid, { ...this.view }) }, e.name);
      });
      const devices = (place.devices || []).map((did) => park.devices?.[did]).filter((d) => d && !d.enterprise)
        .map((d) => h("span", { class: "ent", dataset: { device: d.id, state: d.available === false ? "fault" : d.state || "normal" } }, d.name));
      floors.push(h("div", { class: "detail-floor", dataset: { floor, state: place.state || "normal" } },
        h("span", { class: "num" }, t("floor", { floor })), h("div", { class: "ents" }, enterprises, devices)));
    }
    const tanks = (park.special_places || []).filter((p) => p.building === id && p.kind === "tank").map((p) => {
      const values = park.devices?.[p.device]?.values || {};
      return h("span", { class: "special", dataset: { state: p.state || "normal" } },
        `${p.name} · ${t("level", { value: fmt.number(values.level) })} · ${t("pressure", { value: fmt.number(values.pressure) })}`);
    });
    return [
      h("h3", {}, h("span", { dataset: { state: building.state || "normal" }, class: "name" }, building.name), bells),
      h("div", { class: "specials" }, tanks),
      h("div", { class: "detail-floors" }, floors),
      this._bar(),
    ];
  }

  _enterprise(park, id) {
    const { t, fmt } = this.ctx;
    this.park = park;
    const e = park.enterprises?.[id];
    if (!e) return null;
    const building = (park.buildings || []).find((b) => b.id === e.building);
    const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
    const figures = h("dl", { class: "kv" },
      row(t("col_location"), [building?.name || e.building, e.floor ? t("floor", { floor: e.floor }) : "", e.unit || ""].filter(Boolean).join(" ")),
      row(t("col_status"), e.status ? t(`status_${e.status}`) : t("none")),
      row(t("col_month"), e.month || t("none")),
      row(t("col_electricity"), fmt.number(e.electricity_kwh)),
      row(t("col_water"), fmt.number(e.water_m3)),
      row(monthOf(t, "col_output", e.figures_month), fmt.money(e.output_value)),
      row(monthOf(t, "col_tax", e.figures_month), fmt.money(e.tax)),
      row(monthOf(t, "col_intensity", e.intensity_month), fmt.number(e.energy_intensity)));
    const devices = Object.values(park.devices || {}).filter((d) => d.enterprise === id);
    const table = h("table", {}, h("tbody", {}, devices.map((d) => {
      const state = d.available === false ? "fault" : d.state || "normal";
      const values = Object.entries(d.values || {}).map(([k, v]) => `${k} ${typeof v === "number" ? fmt.number(v) : v}`).join(" · ");
      return h("tr", { dataset: { device: d.id } },
        h("td", {}, h("i", { class: "dot", dataset: { state } }), " ", d.name),
        h("td", {}, d.available === false ? t("unavailable") : t(`state_${state}`)),
        h("td", {}, values));
    })));
    return [
      h("h3", {}, h("span", { class: "name", dataset: { state: e.state || "normal" } }, e.name)),
      h("h4", {}, t("figures")), figures,
      h("h4", {}, t("devices")), table,
      this._bar(),
    ];
  }
}
