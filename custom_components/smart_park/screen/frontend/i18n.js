// Every label of the duty-room screen, in English and Simplified Chinese (one dictionary), and the formatting
// helpers that follow the HA user's language and time zone.

const LABELS = {
  en: {
    title: "Duty room",
    connecting: "Connecting…",
    no_park: "No park is loaded.",
    subscribe_failed: "The live data could not be loaded: {error}",
    alarms_today: "Alarms today",
    open_incidents: "Open",
    tanks: "Tanks",
    air: "Air",
    devices_offline: "Offline",
    sync: "Sync",
    volunteers_on_duty: "On duty",
    sync_ok: "ok",
    sync_late: "late",
    sync_unknown: "unknown",
    within_limits: "within limits",
    low: "low",
    exceeded: "over: {what}",
    sound_on: "Sound on",
    sound_off: "Sound off",
    menu: "Menu",
    map: "Park map",
    special_places: "Other places",
    floor: "{floor}F",
    floor_long: "Floor {floor}",
    basement: "B{floor}",
    basement_long: "Basement {floor}",
    level: "level {value} m",
    pressure: "{value} kPa",
    incidents: "Incidents",
    no_incidents: "No incident in the last 24 hours.",
    col_kind: "Kind",
    col_place: "Place",
    col_opened: "Opened",
    col_repeats: "Repeats",
    col_acknowledged: "Acknowledged by",
    col_volunteers: "Volunteers",
    col_actions: "Actions",
    enterprises: "Enterprises",
    search: "Search enterprises",
    col_name: "Name",
    col_location: "Building / floor",
    col_electricity: "Electricity (kWh)",
    col_water: "Water (m³)",
    col_output: "Output (CNY)",
    col_tax: "Tax (CNY)",
    col_intensity: "kWh per 10k CNY",
    col_status: "Status",
    month: "Month {month}",
    col_month: "Month",
    figures_month: "{what} ({month})",
    tank: "Tank",
    kind_fire: "Fire",
    kind_one_key: "One-key alarm",
    kind_gas: "Gas",
    state_fire: "Fire alarm",
    state_one_key: "One-key alarm",
    state_gas: "Gas",
    state_fault: "Fault / offline",
    state_silenced: "Silenced",
    state_test: "Test / drill",
    state_normal: "Normal",
    incident_open: "open",
    incident_acknowledged: "acknowledged",
    incident_closed: "closed",
    status_active: "active",
    status_moved_out: "moved out",
    acknowledge: "Acknowledge",
    close: "Close",
    silence: "Silence",
    reset: "Reset",
    test_bells: "Test bells",
    call_everyone: "Call everyone",
    mark_arrived: "arrived",
    asked: "on the way {answering} · arrived {arrived} · asked {asked}",
    response_on_my_way: "on the way",
    response_cannot_come: "cannot come",
    response_arrived: "arrived",
    banner: "{kind} · {place}",
    banner_more: "+{count} more",
    pin_title: "Operator PIN",
    pin_prompt: "{action} for {group}: enter the operator PIN (administrators need none).",
    pin_label: "PIN",
    ok: "OK",
    cancel: "Cancel",
    dismiss: "Dismiss",
    done: "{action}: done",
    devices: "Devices",
    figures: "Figures",
    unavailable: "offline",
    back: "Back",
    close_dialog: "Close",
    linkage: "Bells: {state}",
    linkage_normal: "normal",
    linkage_alarm: "alarm",
    linkage_silenced: "silenced",
    linkage_fault: "fault",
    linkage_disabled: "disabled",
    linkage_test: "test",
    linkage_pre_alarm: "pre-alarm",
    none: "—",
  },
  "zh-Hans": {
    title: "值班室",
    connecting: "正在连接…",
    no_park: "没有已加载的园区。",
    subscribe_failed: "无法加载实时数据：{error}",
    alarms_today: "今日报警",
    open_incidents: "未关闭",
    tanks: "水箱",
    air: "大气",
    devices_offline: "离线设备",
    sync: "数据同步",
    volunteers_on_duty: "在岗队员",
    sync_ok: "正常",
    sync_late: "延迟",
    sync_unknown: "未知",
    within_limits: "未超限",
    low: "偏低",
    exceeded: "超限：{what}",
    sound_on: "声音开",
    sound_off: "声音关",
    menu: "菜单",
    map: "园区一张图",
    special_places: "其他场所",
    floor: "{floor}层",
    floor_long: "{floor}层",
    basement: "B{floor}",
    basement_long: "地下{floor}层",
    level: "液位 {value} 米",
    pressure: "{value} kPa",
    incidents: "警情",
    no_incidents: "近 24 小时没有警情。",
    col_kind: "类型",
    col_place: "位置",
    col_opened: "发生时间",
    col_repeats: "重复",
    col_acknowledged: "确认人",
    col_volunteers: "应急队员",
    col_actions: "操作",
    enterprises: "企业一张表",
    search: "搜索企业",
    col_name: "企业名称",
    col_location: "楼栋 / 楼层",
    col_electricity: "本月用电（千瓦时）",
    col_water: "本月用水（立方米）",
    col_output: "产值（元）",
    col_tax: "税收（元）",
    col_intensity: "万元产值电耗",
    col_status: "状态",
    month: "{month} 月度",
    col_month: "月份",
    figures_month: "{what}（{month}）",
    tank: "水箱",
    kind_fire: "火警",
    kind_one_key: "一键报警",
    kind_gas: "燃气泄漏",
    state_fire: "火警",
    state_one_key: "一键报警",
    state_gas: "燃气",
    state_fault: "故障 / 离线",
    state_silenced: "已消音",
    state_test: "测试 / 演练",
    state_normal: "正常",
    incident_open: "未确认",
    incident_acknowledged: "已确认",
    incident_closed: "已关闭",
    status_active: "在园",
    status_moved_out: "已迁出",
    acknowledge: "确认",
    close: "关闭",
    silence: "消音",
    reset: "复位",
    test_bells: "试铃",
    call_everyone: "呼叫全体",
    mark_arrived: "已到达",
    asked: "赶来 {answering} · 到达 {arrived} · 呼叫 {asked}",
    response_on_my_way: "正在赶来",
    response_cannot_come: "无法前来",
    response_arrived: "已到达",
    banner: "{kind} · {place}",
    banner_more: "另有 {count} 起",
    pin_title: "操作员 PIN",
    pin_prompt: "{group}：{action}，请输入操作员 PIN（管理员无需 PIN）。",
    pin_label: "PIN",
    ok: "确定",
    cancel: "取消",
    dismiss: "关闭",
    done: "{action}：已完成",
    devices: "设备",
    figures: "数据",
    unavailable: "离线",
    back: "返回",
    close_dialog: "关闭",
    linkage: "警铃：{state}",
    linkage_normal: "正常",
    linkage_alarm: "报警",
    linkage_silenced: "已消音",
    linkage_fault: "故障",
    linkage_disabled: "已停用",
    linkage_test: "测试",
    linkage_pre_alarm: "预警",
    none: "—",
  },
};

/** "zh-Hans" when the HA user's language starts with "zh", else "en". */
export function pickLanguage(language) {
  return String(language || "").toLowerCase().startsWith("zh") ? "zh-Hans" : "en";
}

/** A translator for one language: t("key", {placeholder: value}); unknown keys show as themselves.
 * A negative floor is a basement: t("floor", {floor: -1}) is "B1". */
export function translator(language) {
  const labels = LABELS[language] || LABELS.en;
  return (key, vars = {}) => {
    if ((key === "floor" || key === "floor_long") && Number(vars.floor) < 0) {
      return translator(language)(key === "floor" ? "basement" : "basement_long", { floor: -Number(vars.floor) });
    }
    const text = labels[key] ?? LABELS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
  };
}

/** Formatters for numbers and times in the user's language and (HA's setting) time zone. */
export function formatters(language, timeZone) {
  const locale = language === "zh-Hans" ? "zh-CN" : "en-GB";
  const zone = timeZone ? { timeZone } : {};
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const money = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, ...zone });
  const day = new Intl.DateTimeFormat(locale, { year: "numeric", month: "2-digit", day: "2-digit", weekday: "short", ...zone });
  const stamp = new Intl.DateTimeFormat(locale, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, ...zone });
  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
  return {
    number: (v) => (isNumber(v) ? number.format(v) : "—"),
    money: (v) => (isNumber(v) ? money.format(v) : "—"),
    clock: (d) => clock.format(d),
    day: (d) => day.format(d),
    // Today's times as HH:MM:SS; older ones with their date.
    time: (iso) => {
      if (!iso) return "—";
      const d = new Date(iso);
      return day.format(d) === day.format(new Date()) ? clock.format(d) : stamp.format(d);
    },
  };
}

/** "1号楼 3层 恒达机械有限公司" / "Building 1, 3F, …": the place of an incident or a device. */
export function placeText(t, place) {
  if (!place) return "—";
  const parts = [];
  if (place.building_name || place.building) parts.push(place.building_name || place.building);
  if (place.floor !== null && place.floor !== undefined) parts.push(t("floor", { floor: place.floor }));
  if (place.enterprise_name || place.enterprise) parts.push(place.enterprise_name || place.enterprise);
  return parts.join(" ") || "—";
}
