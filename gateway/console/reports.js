// The reports tab: revenue by day as a table and a bar chart drawn in SVG, utilisation per car.

const SVG = "http://www.w3.org/2000/svg";

export function money(cents) {
  return (cents / 100).toLocaleString("pt-BR", { style: "currency", currency: "BRL" });
}

function table(node, headings, rows) {
  const head = document.createElement("tr");
  for (const [text, numeric] of headings) {
    const th = document.createElement("th");
    th.textContent = text;
    if (numeric) th.className = "num";
    head.append(th);
  }
  const body = rows.map((cells) => {
    const tr = document.createElement("tr");
    cells.forEach((text, index) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (headings[index][1]) td.className = "num";
      tr.append(td);
    });
    return tr;
  });
  node.replaceChildren(head, ...body);
}

function chart(svg, points) {
  const width = 600;
  const height = 140;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const max = Math.max(1, ...points.map((point) => point.value));
  const slot = width / Math.max(1, points.length);
  const bars = points.map((point, index) => {
    const barHeight = ((height - 20) * point.value) / max;
    const group = document.createElementNS(SVG, "g");
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", (index * slot + slot * 0.15).toFixed(1));
    rect.setAttribute("y", (height - 14 - barHeight).toFixed(1));
    rect.setAttribute("width", (slot * 0.7).toFixed(1));
    rect.setAttribute("height", barHeight.toFixed(1));
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${point.label}: ${money(point.value)}`;
    rect.append(title);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", (index * slot + slot / 2).toFixed(1));
    label.setAttribute("y", String(height - 2));
    label.setAttribute("text-anchor", "middle");
    label.textContent = point.label.slice(5);
    group.append(rect, label);
    return group;
  });
  svg.replaceChildren(...bars);
}

// Local dates (Florianópolis) of a range as the API's RFC 3339 bounds.
export function bounds(fromDate, toDate) {
  const from = new Date(`${fromDate}T00:00:00-03:00`);
  const to = new Date(`${toDate}T00:00:00-03:00`);
  to.setUTCDate(to.getUTCDate() + 1);
  return { from: from.toISOString(), to: to.toISOString() };
}

export async function renderReports(api, nodes, fromDate, toDate, platesById) {
  const { from, to } = bounds(fromDate, toDate);
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const [revenue, utilisation, summary] = await Promise.all([
    api.get(`/v1/reports/revenue?${range}&group_by=day`),
    api.get(`/v1/reports/utilisation?${range}`),
    api.get(`/v1/reports/summary?${range}`),
  ]);
  const days = revenue.rows.map((row) => ({ label: row.key, value: row.revenue_cents, reservations: row.reservations }));
  table(nodes.revenue, [["Dia", false], ["Locações", true], ["Receita", true]], [
    ...days.map((day) => [day.label, String(day.reservations), money(day.value)]),
    ["Total", "", money(revenue.total_cents)],
  ]);
  nodes.revenue.dataset.totalCents = String(revenue.total_cents);
  chart(nodes.chart, days);
  table(nodes.utilisation, [["Carro", false], ["Horas locadas", true], ["Horas em serviço", true], ["Utilização", true]],
    utilisation.cars.map((car) => [
      car.plate ?? platesById.get(car.vehicle_id) ?? car.vehicle_id,
      car.hours_rented.toFixed(1),
      car.hours_in_service.toFixed(1),
      `${(car.utilisation * 100).toFixed(0)} %`,
    ]));
  table(nodes.summary, [["", false], ["", true]], [
    ["Não comparecimentos", `${summary.no_shows} (${money(summary.no_show_fees_cents)})`],
    ["Cancelamentos", String(summary.cancellations)],
    ["Devoluções atrasadas", `${summary.late_returns} (${money(summary.overtime_cents)})`],
    ["Clientes com saldo devedor", `${summary.customers_owing} (${money(summary.outstanding_cents)})`],
  ]);
}
