// The side lists: rentals under way (late ones first), units offline, pending commands and
// incidents. Every value goes in as text, never as markup.

function item(text, detail, className = "") {
  const li = document.createElement("li");
  if (className) li.className = className;
  const main = document.createElement("span");
  main.textContent = text;
  const side = document.createElement("span");
  side.textContent = detail;
  li.append(main, side);
  return li;
}

function empty(list, text) {
  const li = document.createElement("li");
  li.className = "empty";
  li.textContent = text;
  list.replaceChildren(li);
}

// "1 h 05 min" from milliseconds.
export function duration(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const hours = Math.floor(minutes / 60);
  const rest = String(minutes % 60).padStart(2, "0");
  return hours ? `${hours} h ${rest} min` : `${minutes} min`;
}

export function time(iso) {
  return new Date(iso).toLocaleString("pt-BR", { timeZone: "America/Sao_Paulo", dateStyle: "short", timeStyle: "short" });
}

export function renderRentals(list, cars, now, onlyLate) {
  const rentals = cars
    .filter((car) => car.rental && (car.state === "in_use" || car.state === "late" || car.state === "reserved"))
    .filter((car) => !onlyLate || car.state === "late")
    .sort((a, b) => (a.state === "late") - (b.state === "late") || new Date(a.rental.end_at) - new Date(b.rental.end_at))
    .sort((a, b) => (b.state === "late") - (a.state === "late"));
  if (rentals.length === 0) return empty(list, onlyLate ? "Nenhuma locação atrasada" : "Nenhuma locação em curso");
  list.replaceChildren(
    ...rentals.map((car) => {
      const end = new Date(car.rental.end_at).getTime();
      const left = end - now;
      const when = car.state === "late" ? `atrasada ${duration(-left)}` : car.state === "reserved" ? `reservada até ${time(car.rental.end_at)}` : `faltam ${duration(left)}`;
      const entry = item(`${car.plate} · ${car.rental.customer}`, when, car.state === "late" ? "late" : "");
      entry.dataset.vehicle = car.id;
      entry.dataset.state = car.state;
      return entry;
    }),
  );
}

export function renderAlerts(lists, overview, platesById) {
  const offline = overview.cars.filter((car) => !car.unit_connected);
  if (offline.length === 0) empty(lists.offline, "Todas as unidades conectadas");
  else lists.offline.replaceChildren(...offline.map((car) => item(car.plate, car.position ? `visto ${time(car.position.recorded_at)}` : "nunca reportou")));
  if (overview.pending_commands.length === 0) empty(lists.commands, "Nenhum comando pendente");
  else lists.commands.replaceChildren(...overview.pending_commands.map((command) => item(`${platesById.get(command.vehicle_id) ?? command.vehicle_id} · ${command.action}`, `expira ${time(command.expires_at)}`)));
  if (overview.incidents.length === 0) empty(lists.incidents, "Nenhum incidente");
  else lists.incidents.replaceChildren(...overview.incidents.map((incident) => item(`${platesById.get(incident.vehicle_id) ?? ""} ${incident.kind}`, time(incident.at))));
}
