// The operators' console: signs an admin in, draws the fleet from one overview, keeps it
// current from the domain-event stream, and shows rentals, alerts and reports.

import { Api } from "./api.js";
import { FleetMap } from "./map.js";
import { renderAlerts, renderRentals } from "./panels.js";
import { renderReports } from "./reports.js";
import { EventStream } from "./stream.js";

const STATES = {
  available: "disponível",
  reserved: "reservado",
  in_use: "em uso",
  late: "atrasado",
  low_battery: "bateria baixa",
  offline: "offline",
  maintenance: "manutenção",
};
// Events that may change a car's colour or a list: the overview is read again after them.
const RELOAD_ON = ["reservation.", "rental.", "command.", "vehicle.registered", "vehicle.retired", "unlock."];

const api = new Api();
const $ = (id) => document.getElementById(id);
const view = { settings: null, map: null, overview: null, clockOffset: 0, stream: null, reload: null, selected: null };

function show(signedIn) {
  $("login").hidden = signedIn;
  $("console").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  $("login-error").textContent = "";
  try {
    await api.login(form.email.value, form.password.value, form.totp_code.value.trim());
    form.reset();
    $("totp-row").hidden = true;
    await start();
  } catch (error) {
    if (error.is?.("totp-required")) {
      $("totp-row").hidden = false;
      form.totp_code.focus();
      $("login-error").textContent = "Informe o código do autenticador.";
    } else {
      $("login-error").textContent = error.message;
    }
  }
}

function now() {
  return Date.now() + view.clockOffset;
}

function platesById() {
  return new Map((view.overview?.cars ?? []).map((car) => [car.id, car.plate]));
}

function render() {
  const overview = view.overview;
  if (!overview) return;
  for (const car of overview.cars) view.map.show(car);
  view.map.forgetMissing(new Set(overview.cars.map((car) => car.id)));
  renderRentals($("rentals"), overview.cars, now(), $("only-late").checked);
  renderAlerts({ offline: $("offline"), commands: $("commands"), incidents: $("incidents") }, overview, platesById());
  const counts = Object.entries(overview.counts).map(([state, count]) => `${STATES[state] ?? state}: ${count}`);
  $("fleet-summary").textContent = `${overview.cars.length} carros · ${counts.join(" · ")}${overview.truncated ? " · (frota maior que o mapa)" : ""}`;
}

async function loadOverview() {
  const overview = await api.get("/v1/fleet/overview");
  view.clockOffset = new Date(overview.now).getTime() - Date.now();
  view.overview = overview;
  render();
}

function reloadSoon() {
  clearTimeout(view.reload);
  view.reload = setTimeout(() => loadOverview().catch(() => {}), 300);
}

function onEvent(type, event) {
  if (type === "vehicle.moved" && view.overview) {
    const car = view.overview.cars.find((candidate) => candidate.id === event.vehicle_id);
    if (car) {
      car.position = { lat: event.data.lat, lon: event.data.lon, speed_kmh: event.data.speed_kmh, recorded_at: event.data.recorded_at };
      if (event.data.battery_pct != null) car.battery_pct = event.data.battery_pct;
      view.map.show(car);
    } else {
      reloadSoon();
    }
    return;
  }
  if (RELOAD_ON.some((prefix) => type.startsWith(prefix))) reloadSoon();
}

function legend() {
  $("legend").replaceChildren(
    ...Object.entries(STATES).map(([state, name]) => {
      const span = document.createElement("span");
      span.className = `state-${state}`;
      span.textContent = name;
      return span;
    }),
  );
}

function tabs() {
  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tabs button")) {
        const selected = other === button;
        other.setAttribute("aria-selected", String(selected));
        $(`tab-${other.dataset.tab}`).hidden = !selected;
      }
      if (button.dataset.tab === "reports") showReports().catch(() => {});
    });
  }
}

async function showReports(event) {
  event?.preventDefault();
  const form = $("report-range");
  $("report-error").textContent = "";
  try {
    await renderReports(api, { revenue: $("revenue"), chart: $("revenue-chart"), utilisation: $("utilisation"), summary: $("summary") }, form.from.value, form.to.value, platesById());
  } catch (error) {
    $("report-error").textContent = error.message;
  }
}

function defaultRange() {
  const form = $("report-range");
  const local = (offsetDays) => new Date(now() - 3 * 3600e3 + offsetDays * 86400e3).toISOString().slice(0, 10);
  form.from.value = local(-6);
  form.to.value = local(0);
}

async function start() {
  show(true);
  if (!view.settings) {
    const answer = await fetch("/console/settings.json");
    view.settings = await answer.json();
    view.map = new FleetMap($("map"), view.settings, (id) => {
      view.selected = id;
      view.map.select(id);
    });
  }
  await loadOverview();
  defaultRange();
  view.stream?.stop();
  view.stream = new EventStream(api, {
    onEvent,
    onStatus: (state) => {
      $("stream-status").dataset.state = state;
      $("stream-status").textContent = state === "live" ? "ao vivo" : "reconectando";
    },
  });
  view.stream.start();
}

function stop() {
  view.stream?.stop();
  view.overview = null;
  show(false);
}

// A rental turns late by the passing of time alone, with no event to say so: the same rule as
// the server's (in use past the end is late) applied every second, and the whole overview read
// again every minute for what else time changes (stale batteries).
function tick() {
  $("clock").textContent = new Date(now()).toLocaleTimeString("pt-BR", { timeZone: "America/Sao_Paulo" });
  if (!view.overview) return;
  for (const car of view.overview.cars) {
    if (car.state === "in_use" && car.rental && new Date(car.rental.end_at).getTime() < now()) {
      car.state = "late";
      view.map.show(car);
    }
  }
  renderRentals($("rentals"), view.overview.cars, now(), $("only-late").checked);
  view.ticks = (view.ticks ?? 0) + 1;
  if (view.ticks % 60 === 0) loadOverview().catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  legend();
  tabs();
  api.onSignedOut = stop;
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", async () => {
    await api.logout();
    stop();
  });
  $("only-late").addEventListener("change", render);
  $("report-range").addEventListener("submit", showReports);
  setInterval(tick, 1000);
  if (api.signedIn) start().catch(() => stop());
  else show(false);
});
