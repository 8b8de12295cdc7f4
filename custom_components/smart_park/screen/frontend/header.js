// The header: park name, clock, key figures, the sound toggle; an open fire or one-key incident turns it into a
// full-width red banner with the place (pulsing and beeping until it is acknowledged).

const V = new URL(import.meta.url).search;
const { h, setAttr, setText } = await import(`./dom.js${V}`);
const { placeText } = await import(`./i18n.js${V}`);

const SOUND_KEY = "smart_park_screen_sound";
const ALERT_KINDS = new Set(["fire", "one_key"]);

/** A two-tone beep through WebAudio (no sound file); browsers start it only after a user gesture. */
class Beeper {
  constructor() {
    this.on = localStorage.getItem(SOUND_KEY) === "on";
    this.context = null;
  }

  toggle() {
    this.on = !this.on;
    localStorage.setItem(SOUND_KEY, this.on ? "on" : "off");
    if (this.on) this.unlock();
  }

  unlock() {
    if (!this.on) return;
    this.context ||= new AudioContext();
    if (this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  beep() {
    if (!this.on || !this.context || this.context.state !== "running") return;
    const now = this.context.currentTime;
    [880, 660].forEach((frequency, index) => {
      const oscillator = this.context.createOscillator();
      const gain = this.context.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.25, now + index * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.001, now + index * 0.3 + 0.28);
      oscillator.connect(gain).connect(this.context.destination);
      oscillator.start(now + index * 0.3);
      oscillator.stop(now + index * 0.3 + 0.3);
    });
  }
}

export class Header {
  /** ctx: {t, fmt, onMenu(), onIncident(id)} */
  constructor(el, ctx) {
    this.el = el;
    this.ctx = ctx;
    this.beeper = new Beeper();
    this.figures = new Map();
    this.alerting = false;
  }

  render(title) {
    const { t } = this.ctx;
    this.title = h("h1", {}, title || t("title"));
    this.time = h("span", { class: "time" });
    this.date = h("span", { class: "date" });
    this.figureBox = h("div", { class: "figures" });
    this.figures.clear();
    this.sound = h("button", { class: "sound", onclick: () => { this.beeper.toggle(); this._soundLabel(); } });
    this.banner = h("div", { class: "banner", role: "alert", onclick: () => this.bannerIncident && this.ctx.onIncident(this.bannerIncident) });
    this.el.replaceChildren(
      h("button", { class: "menu", title: t("menu"), "aria-label": t("menu"), onclick: () => this.ctx.onMenu() }, "☰"),
      this.title, h("div", { class: "clock" }, this.time, this.date), this.figureBox, this.sound, this.banner,
    );
    this._soundLabel();
    this.tick();
  }

  _soundLabel() {
    const { t } = this.ctx;
    setText(this.sound, this.beeper.on ? t("sound_on") : t("sound_off"));
    setAttr(this.sound, "aria-pressed", this.beeper.on ? "true" : "false");
  }

  setTitle(text) {
    setText(this.title, text);
  }

  /** Called every second: the clock, and the beep while an alarm is unacknowledged. */
  tick() {
    const now = new Date();
    setText(this.time, this.ctx.fmt.clock(now));
    setText(this.date, this.ctx.fmt.day(now));
    if (this.alerting && now.getSeconds() % 2 === 0) this.beeper.beep();
  }

  unlockSound() {
    this.beeper.unlock();
  }

  _figure(key, label, value, level, title) {
    let figure = this.figures.get(key);
    if (!figure) {
      const labelEl = h("span", { class: "label" });
      const valueEl = h("span", { class: "value" });
      figure = { el: h("div", { class: "figure", dataset: { figure: key } }, labelEl, valueEl), labelEl, valueEl };
      this.figures.set(key, figure);
      this.figureBox.append(figure.el);
    }
    setText(figure.labelEl, label);
    setText(figure.valueEl, value);
    figure.el.className = `figure ${level || ""}`.trim();
    setAttr(figure.el, "title", title || null);
  }

  /** The key figures of every park shown (summed when there are several). */
  setFigures(list) {
    const { t, fmt } = this.ctx;
    const sum = (key) => list.reduce((total, f) => total + (Number(f?.[key]) || 0), 0);
    const tanks = list.flatMap((f) => f?.tanks || []);
    const air = list.flatMap((f) => f?.air || []);
    const alarms = sum("alarms_today");
    const open = sum("open_incidents");
    const offline = sum("devices_offline");
    this._figure("alarms_today", t("alarms_today"), alarms, alarms ? "warn" : "");
    this._figure("open_incidents", t("open_incidents"), open, open ? "bad" : "");
    const low = tanks.filter((tank) => tank.low || (tank.state && tank.state !== "normal"));
    this._figure("tanks", t("tanks"), low.length ? `${low.length} ${t("low")}` : `${tanks.length} ✓`, low.length ? "bad" : "",
      tanks.map((tank) => `${tank.name}: ${fmt.number(tank.level)} m / ${fmt.number(tank.low_limit)} m, ${fmt.number(tank.pressure)} kPa`).join("\n"));
    const exceeded = [...new Set(air.flatMap((station) => station.exceeded || []))];
    this._figure("air", t("air"), exceeded.length ? t("exceeded", { what: exceeded.join(", ").toUpperCase() }) : t("within_limits"), exceeded.length ? "warn" : "",
      air.map((s) => `${s.name}: SO2 ${fmt.number(s.so2)}/${s.limits?.so2 ?? "—"}, PM2.5 ${fmt.number(s.pm25)}/${s.limits?.pm25 ?? "—"}, PM10 ${fmt.number(s.pm10)}/${s.limits?.pm10 ?? "—"}`).join("\n"));
    this._figure("devices_offline", t("devices_offline"), `${offline} / ${sum("devices_total")}`, offline ? "warn" : "");
    const syncStates = list.map((f) => f?.sync?.state || "unknown");
    const sync = syncStates.includes("late") ? "late" : syncStates.every((s) => s === "ok") && syncStates.length ? "ok" : "unknown";
    const lastSeen = list.map((f) => f?.sync?.last_seen).filter(Boolean).sort().pop();
    this._figure("sync", t("sync"), t(`sync_${sync}`), sync === "late" ? "warn" : "", lastSeen ? fmt.time(lastSeen) : "");
    this._figure("volunteers", t("volunteers_on_duty"), `${sum("volunteers_on_duty")} / ${sum("volunteers_total")}`, "");
  }

  /** incidents: every park's incidents; the newest open fire or one-key alarm becomes the banner. */
  setIncidents(incidents) {
    const { t } = this.ctx;
    const live = incidents
      .filter((i) => ALERT_KINDS.has(i.kind) && !i.closed_at && i.state !== "closed")
      .sort((a, b) => String(b.opened_at).localeCompare(String(a.opened_at)));
    const unacknowledged = live.filter((i) => !i.acknowledged_at && i.state !== "acknowledged");
    const shown = unacknowledged[0] || live[0];
    this.alerting = unacknowledged.length > 0;
    if (unacknowledged[0] && unacknowledged[0].id !== this.lastAlert) this.beeper.beep(); // a new alarm: at once
    this.lastAlert = unacknowledged[0]?.id ?? null;
    this.el.classList.toggle("alarm", Boolean(shown));
    this.el.classList.toggle("one_key", Boolean(shown) && shown.kind === "one_key" && !live.some((i) => i.kind === "fire"));
    this.el.classList.toggle("acknowledged", Boolean(shown) && !this.alerting);
    this.bannerIncident = shown?.id || null;
    if (!shown) return setText(this.banner, "");
    const place = shown.place || shown;
    const more = live.length > 1 ? `  (${t("banner_more", { count: live.length - 1 })})` : "";
    setText(this.banner, `${t("banner", { kind: t(`kind_${shown.kind}`), place: placeText(t, place) })}${more}`);
    setAttr(this.banner, "data-incident", shown.id);
  }
}
