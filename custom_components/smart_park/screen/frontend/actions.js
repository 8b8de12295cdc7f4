// Acting from the screen: only the integration's actions through hass.callService, so their authorisation
// (administrator or operator PIN) and audit apply. A PIN prompt for non-administrators; errors are shown as
// HA returns them, translated into the user's language from the integration's own exception texts.

const V = new URL(import.meta.url).search;
const { h } = await import(`./dom.js${V}`);

const ERROR_SECONDS = 20;
const TOAST_SECONDS = 3;

export class Actions {
  /** ctx: {hass() -> hass, t, dialogHost, messageHost} */
  constructor(ctx) {
    this.ctx = ctx;
    this.localize = null; // the integration's exception texts in the user's language, once loaded
    this.language = null;
  }

  async _localizer() {
    const hass = this.ctx.hass();
    if (this.localize && this.language === hass.language) return this.localize;
    this.language = hass.language;
    try {
      this.localize = await hass.loadBackendTranslation("exceptions", "smart_park");
    } catch {
      this.localize = null;
    }
    return this.localize;
  }

  /** The message to show for a refused call: HA's translation of its key, else the message as sent. */
  async message(error) {
    if (error?.translation_key && (error.translation_domain || "smart_park") === "smart_park") {
      const localize = await this._localizer();
      const text = localize?.(`component.smart_park.exceptions.${error.translation_key}.message`, error.translation_placeholders || {});
      if (text) return text;
    }
    return error?.message || error?.body?.message || String(error);
  }

  /** Call smart_park.<service>; options: {label, pin: ask non-admins for the PIN, group: shown in the prompt}. */
  async act(service, data, options = {}) {
    const hass = this.ctx.hass();
    const payload = { ...data };
    if (options.pin && !hass.user?.is_admin) {
      const pin = await this.askPin(options);
      if (pin === null) return false; // cancelled
      if (pin) payload.pin = pin;
    }
    try {
      // notifyOnError false: the screen shows the refusal itself (HA would add a toast of its own).
      await hass.callService("smart_park", service, payload, undefined, false);
      this.toast(this.ctx.t("done", { action: options.label || service }));
      return true;
    } catch (error) {
      this.error(await this.message(error), service);
      return false;
    }
  }

  /** Resolves to the PIN typed ("" when left empty), or null when cancelled. */
  askPin(options) {
    const { t, dialogHost } = this.ctx;
    return new Promise((resolve) => {
      const input = h("input", { type: "password", inputmode: "numeric", autocomplete: "off", name: "pin", "aria-label": t("pin_label") });
      const finish = (value) => { dialogHost.replaceChildren(); resolve(value); };
      const form = h("form", { onsubmit: (event) => { event.preventDefault(); finish(input.value); } },
        h("h3", {}, t("pin_title")),
        h("p", {}, t("pin_prompt", { action: options.label || "", group: options.group || "" })),
        input,
        h("div", { class: "bar" },
          h("button", { type: "button", class: "cancel", onclick: () => finish(null) }, t("cancel")),
          h("button", { type: "submit", class: "primary ok" }, t("ok"))));
      dialogHost.replaceChildren(h("div", { class: "backdrop pin" }, h("div", { class: "dialog", role: "dialog", "aria-modal": "true" }, form)));
      input.focus();
    });
  }

  _message(className, text, seconds, data = {}) {
    const { t, messageHost } = this.ctx;
    const el = h("div", { class: className, role: className === "error" ? "alert" : "status", dataset: data },
      h("span", { class: "text" }, text),
      h("button", { onclick: () => el.remove() }, t("dismiss")));
    messageHost.append(el);
    setTimeout(() => el.remove(), seconds * 1000);
  }

  error(text, service = "") {
    this._message("error", text, ERROR_SECONDS, { service });
  }

  toast(text) {
    this._message("toast", text, TOAST_SECONDS);
  }
}
