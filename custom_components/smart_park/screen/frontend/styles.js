// The screen's CSS: HA's theme variables where they exist, one colour per state ("worst" order: fire, one_key,
// gas, fault, silenced, test, normal), a wall-screen grid and a one-column phone layout.

export const STYLES = `
:host {
  --sp-fire: #d32f2f;
  --sp-one-key: #ef6c00;
  --sp-gas: #7b1fa2;
  --sp-fault: #8d8d8d;
  --sp-silenced: #ffb300;
  --sp-test: #1e88e5;
  --sp-normal: #2e7d32;
  --sp-bg: var(--primary-background-color, #f5f5f5);
  --sp-card: var(--card-background-color, #fff);
  --sp-text: var(--primary-text-color, #212121);
  --sp-muted: var(--secondary-text-color, #6b6b6b);
  --sp-line: var(--divider-color, rgba(0, 0, 0, 0.12));
  display: block;
  min-height: 100vh;
  background: var(--sp-bg);
  color: var(--sp-text);
  font-family: var(--ha-font-family-body, Roboto, "Noto Sans CJK SC", "Noto Sans SC", sans-serif);
  font-size: 14px;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
button {
  font: inherit; cursor: pointer; border-radius: 6px; border: 1px solid var(--sp-line);
  background: var(--sp-card); color: var(--sp-text); padding: 4px 10px; min-height: 30px;
}
button:hover { filter: brightness(0.95); }
button.primary { background: var(--primary-color, #03a9f4); color: #fff; border-color: transparent; }
button.danger { color: var(--sp-fire); border-color: var(--sp-fire); }
button[disabled] { opacity: 0.5; cursor: default; }

/* ---- header and alarm banner ---- */
header {
  position: sticky; top: 0; z-index: 5; display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px;
  padding: 8px 16px; background: #263238; color: #fff; box-shadow: 0 2px 4px rgba(0, 0, 0, 0.25);
}
header .menu { display: none; background: transparent; color: inherit; border: none; font-size: 22px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; white-space: nowrap; }
header .clock { font-variant-numeric: tabular-nums; white-space: nowrap; }
header .clock .time { font-size: 22px; font-weight: 600; margin-right: 6px; }
header .figures { display: flex; flex-wrap: wrap; gap: 6px; flex: 1; }
.figure {
  display: flex; flex-direction: column; padding: 2px 10px; border-radius: 6px;
  background: rgba(255, 255, 255, 0.1); min-width: 84px;
}
.figure .label { font-size: 11px; opacity: 0.8; }
.figure .value { font-size: 17px; font-weight: 600; white-space: nowrap; }
.figure.warn { background: rgba(255, 179, 0, 0.35); }
.figure.bad { background: rgba(211, 47, 47, 0.7); }
header .sound { background: transparent; color: inherit; border-color: rgba(255, 255, 255, 0.5); }
header .banner { display: none; width: 100%; font-size: 28px; font-weight: 700; letter-spacing: 0.5px; }
header.alarm { background: var(--sp-fire); animation: sp-pulse 1s ease-in-out infinite alternate; }
header.alarm.one_key { background: var(--sp-one-key); }
header.alarm.acknowledged { animation: none; }
header.alarm .banner { display: block; }
@keyframes sp-pulse { from { filter: brightness(1); } to { filter: brightness(1.25); } }

/* ---- the page ---- */
main {
  display: grid; gap: 12px; padding: 12px;
  grid-template-columns: minmax(0, 11fr) minmax(0, 9fr);
  grid-template-rows: auto minmax(0, 1fr);
  grid-template-areas: "map incidents" "map enterprises";
  align-items: start;
}
section { background: var(--sp-card); border-radius: 10px; padding: 10px 12px; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.15); min-width: 0; }
section h2 { margin: 0 0 8px; font-size: 17px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
section h2 .sub { font-size: 12px; font-weight: normal; color: var(--sp-muted); }
.map { grid-area: map; }
.incidents { grid-area: incidents; overflow: auto; max-height: 45vh; }
.enterprises { grid-area: enterprises; align-self: stretch; display: flex; flex-direction: column; }
.notice { padding: 24px; text-align: center; color: var(--sp-muted); font-size: 16px; }
.errors { position: fixed; right: 16px; bottom: 16px; z-index: 20; display: flex; flex-direction: column; gap: 8px; max-width: min(480px, 90vw); }
.error, .toast {
  display: flex; gap: 12px; align-items: flex-start; padding: 10px 14px; border-radius: 8px; color: #fff;
  background: var(--sp-fire); box-shadow: 0 2px 8px rgba(0, 0, 0, 0.3); font-size: 15px;
}
.toast { background: #37474f; }
.error .text, .toast .text { flex: 1; }
.error button, .toast button { background: transparent; color: #fff; border-color: rgba(255, 255, 255, 0.6); }

/* ---- the map ---- */
.legend { display: flex; gap: 10px; flex-wrap: wrap; font-size: 12px; font-weight: normal; }
.legend span { display: inline-flex; gap: 4px; align-items: center; }
.buildings { display: grid; grid-template-columns: repeat(var(--columns, 7), minmax(0, 1fr)); gap: 6px; align-items: end; }
.building { display: flex; flex-direction: column; gap: 2px; cursor: pointer; border-radius: 6px; padding: 2px; border: 1px solid var(--sp-line); }
.building > .name { font-weight: 600; text-align: center; padding: 2px; border-radius: 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.building > .tank { font-size: 11px; text-align: center; color: var(--sp-muted); border-radius: 4px; font-variant-numeric: tabular-nums; }
.building > .tank b { font-weight: 600; margin-right: 3px; }
.building[data-worst="fire"] { border-color: var(--sp-fire); box-shadow: 0 0 0 2px var(--sp-fire); }
.building[data-worst="one_key"] { border-color: var(--sp-one-key); box-shadow: 0 0 0 2px var(--sp-one-key); }
.building[data-worst="gas"] { border-color: var(--sp-gas); box-shadow: 0 0 0 2px var(--sp-gas); }
.building > .tank[data-state] { color: inherit; }
.floor { display: flex; gap: 3px; min-height: 26px; padding: 2px; border-radius: 4px; background: rgba(46, 125, 50, 0.08); }
.floor > .num { font-size: 10px; color: var(--sp-muted); width: 18px; flex: none; align-self: center; text-align: right; }
.floor[data-state]:not([data-state="normal"]) > .num { color: inherit; }
.floor > .ents { display: flex; flex-wrap: wrap; gap: 2px; flex: 1; min-width: 0; }
.ent {
  font-size: 11px; line-height: 1.3; padding: 1px 3px; border-radius: 3px; background: rgba(0, 0, 0, 0.05);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 100%; cursor: pointer;
}
.specials { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.special { padding: 4px 8px; border-radius: 6px; border: 1px solid var(--sp-line); font-size: 12px; }

/* ---- tables ---- */
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--sp-line); vertical-align: top; }
th { font-size: 12px; color: var(--sp-muted); font-weight: 600; white-space: nowrap; position: sticky; top: 0; background: var(--sp-card); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; font-weight: 700; padding: 2px 8px; border-radius: 4px; background: rgba(0, 0, 0, 0.08); }
tr.incident .badge + .sub { display: block; font-size: 12px; color: var(--sp-muted); margin-top: 2px; }
tr.incident.closed { opacity: 0.55; }
tr.incident td.place { min-width: 120px; }
tr.incident td.actions-cell { min-width: 190px; }
tr.incident td.volunteers { min-width: 120px; font-size: 13px; }
tr.incident .actions { display: flex; flex-wrap: wrap; gap: 4px; }
tr.incident .actions button { padding: 2px 8px; min-height: 28px; font-size: 13px; }
tr.incident .responders { font-size: 12px; color: var(--sp-muted); }
.enterprises .tools { display: flex; gap: 8px; align-items: center; }
.enterprises input[type="search"] { font: inherit; padding: 4px 8px; border-radius: 6px; border: 1px solid var(--sp-line); min-width: 220px; background: var(--sp-card); color: var(--sp-text); }
.enterprises .scroll { flex: 1 1 0; min-height: 280px; overflow: auto; }
.enterprises table { font-size: 13px; }
.enterprises td.name { white-space: nowrap; }
/* A map of one row of buildings leaves room below it: the enterprises table then spans the page. */
:host([map-rows="1"]) main { grid-template-areas: "map incidents" "enterprises enterprises"; grid-template-rows: auto auto; }
:host([map-rows="1"]) .enterprises .scroll { flex: none; max-height: calc(100vh - 420px); }
.enterprises th[data-sort] { cursor: pointer; user-select: none; }
.enterprises th[aria-sort="ascending"]::after { content: " ▲"; }
.enterprises th[aria-sort="descending"]::after { content: " ▼"; }
.enterprises tbody tr { cursor: pointer; }
.enterprises tbody tr:hover { background: rgba(0, 0, 0, 0.04); }

/* ---- dialogs (details, PIN) ---- */
.backdrop { position: fixed; inset: 0; z-index: 10; background: rgba(0, 0, 0, 0.45); display: flex; align-items: center; justify-content: center; padding: 16px; }
.dialog { background: var(--sp-card); color: var(--sp-text); border-radius: 12px; padding: 16px; max-width: min(1100px, 96vw); max-height: 92vh; overflow: auto; min-width: min(360px, 92vw); box-shadow: 0 8px 30px rgba(0, 0, 0, 0.4); }
.dialog h3 { margin: 0 0 10px; font-size: 20px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.dialog .bar { display: flex; gap: 8px; justify-content: flex-end; margin-top: 12px; flex-wrap: wrap; }
.dialog input { font: inherit; font-size: 20px; padding: 6px 10px; width: 100%; border-radius: 6px; border: 1px solid var(--sp-line); }
.detail-floors { display: flex; flex-direction: column; gap: 6px; }
.detail-floor { display: flex; gap: 10px; padding: 8px; border-radius: 8px; background: rgba(46, 125, 50, 0.08); align-items: flex-start; }
.detail-floor > .num { font-size: 18px; font-weight: 700; width: 48px; flex: none; }
.detail-floor .ents { display: flex; flex-wrap: wrap; gap: 6px; }
.detail-floor .ent { font-size: 15px; padding: 6px 10px; border-radius: 6px; white-space: normal; background: rgba(0, 0, 0, 0.06); }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin-bottom: 12px; }
.kv dt { color: var(--sp-muted); }
.kv dd { margin: 0; font-variant-numeric: tabular-nums; }

/* ---- states: a place is coloured by its worst state ---- */
:host [data-state="fire"] { background: var(--sp-fire); color: #fff; animation: sp-blink 0.8s steps(2, jump-none) infinite alternate; }
:host [data-state="one_key"] { background: var(--sp-one-key); color: #fff; }
:host [data-state="gas"] { background: var(--sp-gas); color: #fff; }
:host [data-state="fault"] { background: repeating-linear-gradient(45deg, #9e9e9e 0 6px, #c4c4c4 6px 12px); color: #222; }
:host [data-state="silenced"] { outline: 3px solid var(--sp-silenced); outline-offset: -3px; background: rgba(255, 179, 0, 0.15); }
:host [data-state="test"] { background: rgba(30, 136, 229, 0.22); outline: 2px dashed var(--sp-test); outline-offset: -2px; }
@keyframes sp-blink { from { background: var(--sp-fire); } to { background: #ff6f60; } }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; background: var(--sp-normal); vertical-align: middle; }
:host .dot[data-state] { animation: none; outline: none; }
:host .dot[data-state="fire"] { background: var(--sp-fire); }
:host .dot[data-state="one_key"] { background: var(--sp-one-key); }
:host .dot[data-state="gas"] { background: var(--sp-gas); }
:host .dot[data-state="silenced"] { background: var(--sp-silenced); }
:host .dot[data-state="test"] { background: var(--sp-test); }
:host .dot[data-state="fault"] { background: var(--sp-fault); }


/* ---- phone: one column ---- */
:host([narrow]) main, :host([compact]) main { grid-template-columns: minmax(0, 1fr); grid-template-rows: none; grid-template-areas: "incidents" "map" "enterprises"; padding: 6px; gap: 8px; }
:host([narrow]) header .menu { display: block; }
:host([narrow]) header, :host([compact]) header { padding: 6px 8px; gap: 4px 10px; }
:host([narrow]) header .banner, :host([compact]) header .banner { font-size: 20px; }
:host([narrow]) header .figures, :host([compact]) header .figures { flex-basis: 100%; order: 5; gap: 4px; }
:host([narrow]) header .banner, :host([compact]) header .banner { order: 4; }
:host([narrow]) header h1, :host([compact]) header h1 { font-size: 18px; white-space: normal; }
:host([narrow]) header .clock .time, :host([compact]) header .clock .time { font-size: 18px; }
:host([narrow]) .figure, :host([compact]) .figure { min-width: 0; padding: 2px 6px; }
:host([narrow]) .figure .value, :host([compact]) .figure .value { font-size: 14px; }
:host([narrow]) .incidents, :host([compact]) .incidents { max-height: none; }
:host([narrow]) .enterprises .scroll, :host([compact]) .enterprises .scroll { max-height: 70vh; }
:host([narrow]) .buildings, :host([compact]) .buildings { grid-template-columns: repeat(auto-fill, minmax(100px, 1fr)); }
:host([narrow]) .enterprises input[type="search"], :host([compact]) .enterprises input[type="search"] { min-width: 0; width: 100%; }
:host([narrow]) table.incident-table thead, :host([compact]) table.incident-table thead { display: none; }
:host([narrow]) table.incident-table tr, :host([compact]) table.incident-table tr { display: grid; grid-template-columns: 1fr 1fr; border-bottom: 2px solid var(--sp-line); padding: 4px 0; }
:host([narrow]) table.incident-table td, :host([compact]) table.incident-table td { border: none; padding: 2px 4px; }
:host([narrow]) table.incident-table td.place, :host([narrow]) table.incident-table td.actions-cell,
:host([compact]) table.incident-table td.place, :host([compact]) table.incident-table td.actions-cell { grid-column: 1 / -1; }
`;
