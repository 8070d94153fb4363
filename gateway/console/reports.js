// The reports tab: revenue by day as a table and a bar chart drawn in SVG, utilisation per car.

const SVG = "http://www.w3.org/2000/svg";

export function money(cents) {
  return (cents / 100).toLocaleString("pt-BR", { style: "currency", currency: "BRL" });
}

function rowsOf(answer) {
  if (Array.isArray(answer)) return answer;
  const list = Object.values(answer ?? {}).find(Array.isArray);
  return list ?? [];
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
  const [revenue, utilisation] = await Promise.all([
    api.get(`/v1/reports/revenue?${range}&group_by=day`),
    api.get(`/v1/reports/utilisation?${range}`),
  ]);
  const days = rowsOf(revenue).map((row) => ({
    label: String(row.day ?? row.key ?? row.date ?? ""),
    value: Number(row.revenue_cents ?? row.amount_cents ?? 0),
    rentals: row.rentals ?? row.count ?? "",
  }));
  table(nodes.revenue, [["Dia", false], ["Locações", true], ["Receita", true]], days.map((day) => [day.label, String(day.rentals), money(day.value)]));
  nodes.revenue.dataset.totalCents = String(days.reduce((sum, day) => sum + day.value, 0));
  chart(nodes.chart, days);
  const cars = rowsOf(utilisation).map((row) => {
    const plate = row.plate ?? platesById.get(row.vehicle_id) ?? row.vehicle_id;
    const ratio = Number(row.utilisation ?? row.ratio ?? 0);
    return [plate, Number(row.hours_rented ?? 0).toFixed(1), Number(row.hours_in_service ?? 0).toFixed(1), `${(ratio * 100).toFixed(0)} %`];
  });
  table(nodes.utilisation, [["Carro", false], ["Horas locadas", true], ["Horas em serviço", true], ["Utilização", true]], cars);
}
