// The incidents table: open incidents first (unacknowledged, then acknowledged), then those closed in the last
// 24 hours; one keyed row per incident, changed in place; the buttons call the integration's actions.

const V = new URL(import.meta.url).search;
const { h, setAttr, setText } = await import(`./dom.js${V}`);
const { placeText } = await import(`./i18n.js${V}`);

const RANK = { open: 0, acknowledged: 1, closed: 2 };

function incidentState(incident) {
  if (incident.state) return incident.state;
  if (incident.closed_at) return "closed";
  return incident.acknowledged_at ? "acknowledged" : "open";
}

function placeOf(incident) {
  return incident.place || {
    building: incident.building, building_name: incident.building_name, floor: incident.floor,
    enterprise: incident.enterprise, enterprise_name: incident.enterprise_name,
  };
}

export class IncidentTable {
  /** ctx: {t, fmt, act(service, data, options), linkageGroup(building) -> group id | null} */
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.rows = new Map(); // incident id -> {tr, cells, incident}
  }

  render(park) {
    const { t } = this.ctx;
    this.park = park;
    this.rows.clear();
    this.body = h("tbody");
    this.empty = h("div", { class: "notice" }, t("no_incidents"));
    const head = h("thead", {}, h("tr", {},
      ["col_kind", "col_place", "col_opened", "col_repeats", "col_acknowledged", "col_volunteers", "col_actions"]
        .map((key) => h("th", { class: key === "col_repeats" ? "num" : undefined }, t(key)))));
    this.section.replaceChildren(h("h2", {}, t("incidents")), h("table", { class: "incident-table" }, head, this.body), this.empty);
    for (const incident of park.incidents || []) this.upsert(incident, false);
    this._order();
  }

  /** An opened or changed incident (a delta carries whole incidents). */
  upsert(incident, reorder = true) {
    let row = this.rows.get(incident.id);
    if (!row) {
      row = this._row(incident);
      this.rows.set(incident.id, row);
      this.body.append(row.tr);
    }
    row.incident = { ...row.incident, ...incident };
    this._fill(row);
    if (reorder) this._order();
  }

  _row(incident) {
    const cells = {
      kind: h("td", { class: "kind" }, h("span", { class: "badge" }), h("span", { class: "sub" })),
      place: h("td", { class: "place" }),
      opened: h("td", { class: "opened" }),
      repeats: h("td", { class: "num repeats" }),
      acknowledged: h("td", { class: "acknowledged" }),
      volunteers: h("td", { class: "volunteers" }),
      actions: h("td", { class: "actions-cell" }),
    };
    const tr = h("tr", { class: "incident", dataset: { incident: incident.id } }, Object.values(cells));
    return { tr, cells, incident, actionsKey: "" };
  }

  _fill(row) {
    const { t, fmt } = this.ctx;
    const { incident, tr, cells } = row;
    const state = incidentState(incident);
    const place = placeOf(incident);
    tr.className = `incident ${state}`;
    setAttr(tr, "data-kind", incident.kind);
    setAttr(tr, "data-state", null);
    setAttr(tr, "data-building", place.building ?? null);
    setAttr(tr, "data-incident-state", state);
    setAttr(cells.kind.firstChild, "data-state", state === "closed" ? null : incident.kind);
    setText(cells.kind.firstChild, t(`kind_${incident.kind}`));
    setText(cells.kind.lastChild, t(`incident_${state}`));
    setText(cells.place, placeText(t, place));
    setText(cells.opened, fmt.time(incident.opened_at));
    setText(cells.repeats, incident.repeats || 0);
    setText(cells.acknowledged, incident.acknowledged_by_name || (incident.acknowledged_at ? t("none") : ""));
    this._volunteers(row);
    this._actions(row, state, place);
  }

  _volunteers(row) {
    const { t } = this.ctx;
    const { incident, cells } = row;
    const rollcall = incident.rollcall;
    const responders = incident.responders || [];
    const key = JSON.stringify([rollcall, responders, incidentState(incident)]);
    if (row.volunteersKey === key) return; // unchanged: keep the DOM
    row.volunteersKey = key;
    const parts = [];
    if (rollcall && rollcall.asked) {
      parts.push(h("div", { class: "counts" }, t("asked", {
        answering: rollcall.on_my_way ?? 0, arrived: rollcall.arrived ?? 0, asked: rollcall.asked,
      })));
    }
    if (responders.length) {
      parts.push(h("div", { class: "responders" }, responders.map((person, index) => {
        const what = person.arrived ? "arrived" : person.response;
        const arrive = !person.arrived && person.user_id && incidentState(incident) !== "closed"
          ? h("button", { class: "arrive", onclick: () => this.ctx.act("record_response", {
            incident_id: incident.id, user_id: person.user_id, response: "arrived",
          }, { label: t("mark_arrived") }) }, t("mark_arrived"))
          : null;
        return h("span", {}, index ? " · " : "", person.name, what ? ` ${t(`response_${what}`)}` : "", arrive);
      })));
    }
    cells.volunteers.replaceChildren(...parts);
  }

  _actions(row, state, place) {
    const { t } = this.ctx;
    const { incident, cells } = row;
    const group = state === "closed" ? null : this.ctx.linkageGroup(place.building);
    const key = `${state}|${group}`;
    if (row.actionsKey === key) return;
    row.actionsKey = key;
    const entry = this.park?.config_entry_id ? { config_entry_id: this.park.config_entry_id } : {};
    const button = (label, service, data, options = {}) => h("button", {
      class: `${service} ${options.primary ? "primary" : ""}`.trim(),
      onclick: () => this.ctx.act(service, { ...data, ...entry }, { label: t(label), ...options }),
    }, t(label));
    const buttons = [];
    if (state === "open") buttons.push(button("acknowledge", "acknowledge_incident", { incident_id: incident.id }, { primary: true }));
    if (state !== "closed") {
      buttons.push(button("close", "close_incident", { incident_id: incident.id }));
      buttons.push(button("call_everyone", "dispatch_volunteers", { incident_id: incident.id, everyone: true }));
    }
    if (group) {
      const pin = { pin: true, group: place.building_name || group };
      buttons.push(button("silence", "silence_alarm", { group }, pin));
      buttons.push(button("reset", "reset_alarm", { group }, pin));
      buttons.push(button("test_bells", "test_bells", { group }, pin));
    }
    cells.actions.replaceChildren(h("div", { class: "actions" }, buttons));
  }

  /** Open first (unacknowledged, then acknowledged), newest first; rows move only when out of place. */
  _order() {
    const rows = [...this.rows.values()].sort((a, b) => {
      const rank = RANK[incidentState(a.incident)] - RANK[incidentState(b.incident)];
      return rank || String(b.incident.opened_at).localeCompare(String(a.incident.opened_at));
    });
    rows.forEach((row, index) => {
      if (this.body.children[index] !== row.tr) this.body.insertBefore(row.tr, this.body.children[index] || null);
    });
    this.empty.hidden = rows.length > 0;
  }

  remove(id) {
    this.rows.get(id)?.tr.remove();
    this.rows.delete(id);
    this.empty.hidden = this.rows.size > 0;
  }

  /** Linkage groups changed: the bell buttons follow. */
  refreshActions() {
    for (const row of this.rows.values()) {
      row.actionsKey = "";
      this._fill(row);
    }
  }
}
