// The duty-room screen (一张图、一张表、一张屏): a Home Assistant panel, plain ES modules, no build step.
// HA gives the element `hass`, `narrow`, `route` and `panel`. The park arrives over the websocket subscription
// smart_park/screen/subscribe: a snapshot, then deltas applied to the keyed elements already drawn (the map is
// never redrawn whole). Sibling modules are loaded with this module's own ?v= so a new version busts the cache.

const V = new URL(import.meta.url).search;
const load = (name) => import(`./${name}.js${V}`);
const [{ STYLES }, i18n, { h }, { ParkMap }, { IncidentTable }, { EnterpriseTable }, { Header }, { Details }, { Actions }] =
  await Promise.all(["styles", "i18n", "dom", "park-map", "incidents", "enterprises", "header", "details", "actions"].map(load));

const DAY_MS = 24 * 3600 * 1000;
const COMPACT_WIDTH = 900; // below this the page is one column, whatever HA says about `narrow`

function upsertById(list, item, key = "id") {
  const index = list.findIndex((x) => x[key] === item[key]);
  if (index < 0) list.push(item);
  else list[index] = { ...list[index], ...item };
  return index < 0 ? item : list[index];
}

class SmartParkScreen extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._parks = new Map(); // park_id -> Park, kept up to date by the deltas
    this._parkId = null;
    this._language = null;
    this._unsubscribe = null;
    this._subscribing = false;
    this._built = false;
    // HA may set its properties before this module has defined the element (its siblings load first):
    // those are own properties of the instance then, shadowing the setters below; hand them to the setters.
    for (const name of ["hass", "narrow", "route", "panel"]) {
      if (Object.prototype.hasOwnProperty.call(this, name)) {
        const value = this[name];
        delete this[name];
        this[name] = value;
      }
    }
  }

  set hass(hass) {
    this._hass = hass;
    const language = i18n.pickLanguage(hass?.language);
    if (this._built && language !== this._language) this._setLanguage(language, true);
    if (this.isConnected) this._subscribe();
  }

  get hass() {
    return this._hass;
  }

  set narrow(value) {
    this.toggleAttribute("narrow", Boolean(value));
  }

  set panel(value) {
    this._panel = value;
  }

  set route(value) {
    this._route = value;
  }

  connectedCallback() {
    if (!this._built) this._build();
    this._clock = setInterval(() => {
      this.header.tick();
      if (new Date().getSeconds() === 0) this._prune();
    }, 1000);
    this._resize = new ResizeObserver(([entry]) => this.toggleAttribute("compact", entry.contentRect.width < COMPACT_WIDTH));
    this._resize.observe(this);
    this._subscribe();
  }

  disconnectedCallback() {
    clearInterval(this._clock);
    this._resize?.disconnect();
    const unsubscribe = this._unsubscribe;
    this._unsubscribe = null;
    // A connection already closed rejects the unsubscribe: nothing is left to release then.
    Promise.resolve().then(unsubscribe).catch(() => {});
  }

  // --- the page ------------------------------------------------------------------------------------------

  _build() {
    this._built = true;
    const root = this.shadowRoot;
    this.headerEl = h("header");
    this.status = h("div", { class: "notice status" });
    this.mapEl = h("section", { class: "map" });
    this.incidentsEl = h("section", { class: "incidents" });
    this.enterprisesEl = h("section", { class: "enterprises" });
    this.main = h("main", { hidden: true }, this.mapEl, this.incidentsEl, this.enterprisesEl);
    this.detailHost = h("div", { class: "details" });
    this.pinHost = h("div", { class: "pin-host" });
    this.messages = h("div", { class: "errors" });
    root.replaceChildren(h("style", {}, STYLES), this.headerEl, this.status, this.main, this.detailHost, this.pinHost, this.messages);
    root.addEventListener("pointerdown", () => this.header.unlockSound());
    this.ctx = {
      hass: () => this._hass,
      act: (service, data, options) => this.actions.act(service, data, options),
      onBuilding: (id) => this.details.open(this._park(), "building", id),
      onEnterprise: (id) => this.details.open(this._park(), "enterprise", id),
      onIncident: (id) => this._showIncident(id),
      onMenu: () => this.dispatchEvent(new Event("hass-toggle-menu", { bubbles: true, composed: true })),
      onMapRows: (rows) => this.setAttribute("map-rows", String(rows)),
      linkageGroup: (building) => this._linkage(building)?.group ?? null,
      linkage: (building) => this._linkage(building),
      dialogHost: this.pinHost,
      messageHost: this.messages,
    };
    this.header = new Header(this.headerEl, this.ctx);
    this.map = new ParkMap(this.mapEl, this.ctx);
    this.incidents = new IncidentTable(this.incidentsEl, this.ctx);
    this.enterprises = new EnterpriseTable(this.enterprisesEl, this.ctx);
    this.details = new Details(this.detailHost, this.ctx);
    this.actions = new Actions(this.ctx);
    this._setLanguage(i18n.pickLanguage(this._hass?.language), false);
  }

  _setLanguage(language, redraw) {
    this._language = language;
    const zone = this._hass?.locale?.time_zone === "server" ? this._hass?.config?.time_zone : undefined;
    this.ctx.t = i18n.translator(language);
    this.ctx.fmt = i18n.formatters(language, zone);
    this.setAttribute("lang", language);
    this.header.render(this.ctx.t("title"));
    if (!this._parks.size) this.status.textContent = this.ctx.t("connecting");
    if (redraw) this._renderAll();
  }

  _park() {
    return this._parks.get(this._parkId);
  }

  _linkage(building) {
    return (this._park()?.linkage || []).find((l) => l.building === building) || null;
  }

  _renderAll() {
    const park = this._park();
    this.status.hidden = Boolean(park);
    this.main.hidden = !park;
    if (!park) {
      this.status.textContent = this.ctx.t("no_park");
      return;
    }
    this.header.render(`${park.name} · ${this.ctx.t("title")}`);
    this._parkChooser();
    this.header.setFigures([park.figures]);
    this.header.setIncidents(this._allIncidents());
    this.map.render(park);
    this.incidents.render(park);
    this.enterprises.render(park);
    this.details.refresh(park);
  }

  _parkChooser() {
    if (this._parks.size < 2) return;
    const select = h("select", { class: "park", onchange: (event) => { this._parkId = event.target.value; this._renderAll(); } },
      [...this._parks.values()].map((p) => h("option", { value: p.park_id, selected: p.park_id === this._parkId }, p.name)));
    this.header.title.after(select);
  }

  /** Incidents closed more than a day ago leave the screen (the server's next snapshot no longer has them). */
  _prune() {
    const before = Date.now() - DAY_MS;
    for (const park of this._parks.values()) {
      const old = (park.incidents || []).filter((i) => i.closed_at && Date.parse(i.closed_at) < before);
      if (!old.length) continue;
      park.incidents = park.incidents.filter((i) => !old.includes(i));
      if (park.park_id === this._parkId) old.forEach((i) => this.incidents.remove(i.id));
    }
  }

  _allIncidents() {
    return [...this._parks.values()].flatMap((p) => p.incidents || []);
  }

  _showIncident(id) {
    for (const park of this._parks.values()) {
      if ((park.incidents || []).some((i) => i.id === id) && park.park_id !== this._parkId) {
        this._parkId = park.park_id;
        this._renderAll();
      }
    }
    const row = this.incidentsEl.querySelector(`tr[data-incident="${CSS.escape(id)}"]`);
    row?.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  // --- live data -----------------------------------------------------------------------------------------

  async _subscribe() {
    const connection = this._hass?.connection;
    if (!connection || this._unsubscribe || this._subscribing) return;
    this._subscribing = true;
    try {
      this._replaceNext = true;
      const unsubscribe = await connection.subscribeMessage((message) => this._onMessage(message), { type: "smart_park/screen/subscribe" });
      // HA re-subscribes after a reconnect: the snapshot that follows has every park again.
      const ready = () => { this._replaceNext = true; };
      connection.addEventListener("ready", ready);
      this._unsubscribe = () => {
        connection.removeEventListener("ready", ready);
        unsubscribe();
      };
      if (!this.isConnected) this.disconnectedCallback(); // removed while subscribing
    } catch (error) {
      this.status.hidden = false;
      this.status.textContent = this.ctx.t("subscribe_failed", { error: error?.message || error?.code || String(error) });
    } finally {
      this._subscribing = false;
    }
  }

  _onMessage(message) {
    if (message.type === "snapshot") this._snapshot(message.parks || []);
    else if (message.type === "delta") this._delta(message);
    else if (message.type === "removed") this._removed(message.park_id);
  }

  /** The first snapshot (and the one after a reconnect) has every park; a later one, a park loaded since. */
  _snapshot(parks) {
    if (this._replaceNext) this._parks.clear();
    this._replaceNext = false;
    for (const park of parks) this._parks.set(park.park_id, park);
    if (!this._parks.has(this._parkId)) this._parkId = parks[0]?.park_id ?? this._parks.keys().next().value ?? null;
    this._renderAll();
    if (!this.hasAttribute("ready")) {
      // Marked once the first snapshot is drawn and painted (the benchmark's time to first render).
      requestAnimationFrame(() => {
        performance.mark("smart-park-screen:first-render");
        this.setAttribute("ready", "");
      });
    }
  }

  _removed(parkId) {
    this._parks.delete(parkId);
    if (this._parkId === parkId) this._parkId = this._parks.keys().next().value ?? null;
    this._renderAll();
  }

  _delta(delta) {
    const park = this._parks.get(delta.park_id);
    if (!park) return;
    const shown = park.park_id === this._parkId;
    const buildings = new Map((park.buildings || []).map((b) => [b.id, b]));
    for (const place of delta.places || []) {
      const building = buildings.get(place.building);
      if (!building) continue;
      if (place.floor === null || place.floor === undefined) building.state = place.state;
      else upsertById((building.floor_places ||= []), { floor: place.floor, state: place.state }, "floor");
    }
    for (const changed of delta.buildings || []) upsertById((park.buildings ||= []), changed); // whole or {id, state}
    for (const [id, partial] of Object.entries(delta.enterprises || {})) {
      park.enterprises[id] = { ...park.enterprises[id], ...partial };
    }
    for (const [id, partial] of Object.entries(delta.devices || {})) {
      park.devices[id] = { ...park.devices[id], ...partial, values: { ...park.devices[id]?.values, ...partial.values } };
      const place = (park.special_places || []).find((p) => p.device === id);
      if (place && partial.state) place.state = partial.state;
    }
    for (const place of delta.special_places || []) upsertById((park.special_places ||= []), place);
    for (const incident of delta.incidents || []) upsertById((park.incidents ||= []), incident);
    if (delta.figures) park.figures = { ...park.figures, ...delta.figures };
    for (const group of delta.linkage || []) upsertById((park.linkage ||= []), group, "group");
    if (delta.incidents?.length) this.header.setIncidents(this._allIncidents());
    if (shown) this._show(park, delta);
  }

  /** Apply a delta of the park on screen to the elements already drawn. */
  _show(park, delta) {
    this.map.applyPlaces(delta.places);
    for (const changed of delta.buildings || []) {
      const building = (park.buildings || []).find((b) => b.id === changed.id);
      if (building) this.map.applyBuilding(park, building, "floor_places" in changed);
    }
    for (const [id, partial] of Object.entries(delta.enterprises || {})) {
      this.map.applyEnterprise(id, partial);
      this.enterprises.upsert(id, partial);
    }
    for (const id of Object.keys(delta.devices || {})) this.map.applyDevice(park, id);
    for (const place of delta.special_places || []) this.map.applySpecial(park, place);
    for (const incident of delta.incidents || []) this.incidents.upsert(incident);
    if (delta.figures) this.header.setFigures([park.figures]);
    if (delta.linkage?.length) this.incidents.refreshActions();
    this.details.refresh(park);
  }
}

if (!customElements.get("smart-park-screen")) customElements.define("smart-park-screen", SmartParkScreen);
