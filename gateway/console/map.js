// The fleet map: the configured service area and place names drawn in SVG in Web Mercator (so
// optional map tiles line up), one marker per car coloured by its state.

const SVG = "http://www.w3.org/2000/svg";
const WORLD = 256; // Web Mercator world size at zoom 0, in pixels

function mercator(lon, lat) {
  const sin = Math.sin((lat * Math.PI) / 180);
  return [
    ((lon + 180) / 360) * WORLD,
    (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * WORLD,
  ];
}

function element(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

export class FleetMap {
  constructor(svg, settings, onSelect) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.markers = new Map();
    const points = settings.service_area.map(([lon, lat]) => mercator(lon, lat));
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const pad = (Math.max(...xs) - Math.min(...xs)) * 0.06;
    this.box = {
      x: Math.min(...xs) - pad,
      y: Math.min(...ys) - pad,
      w: Math.max(...xs) - Math.min(...xs) + 2 * pad,
      h: Math.max(...ys) - Math.min(...ys) + 2 * pad,
    };
    // Markers and labels are sized in screen pixels: one viewBox unit is this many pixels.
    this.scale = 1000 / this.box.w;
    svg.setAttribute("viewBox", `0 0 ${1000} ${(this.box.h * this.scale).toFixed(1)}`);
    if (settings.tile_url) this.drawTiles(settings.tile_url);
    this.drawArea(points);
    this.drawPlaces(settings.neighbourhoods);
    this.layer = element("g", { class: "cars" });
    svg.append(this.layer);
  }

  project(lon, lat) {
    const [x, y] = mercator(lon, lat);
    return [(x - this.box.x) * this.scale, (y - this.box.y) * this.scale];
  }

  drawTiles(template) {
    // The zoom at which the area spans about four tiles across.
    const zoom = Math.max(0, Math.min(18, Math.round(Math.log2((4 * WORLD) / this.box.w))));
    const size = WORLD / 2 ** zoom;
    const group = element("g", { class: "tiles" });
    for (let tx = Math.floor(this.box.x / size); tx * size < this.box.x + this.box.w; tx += 1) {
      for (let ty = Math.floor(this.box.y / size); ty * size < this.box.y + this.box.h; ty += 1) {
        const href = template.replace("{z}", zoom).replace("{x}", tx).replace("{y}", ty);
        group.append(element("image", {
          href,
          x: (tx * size - this.box.x) * this.scale,
          y: (ty * size - this.box.y) * this.scale,
          width: size * this.scale,
          height: size * this.scale,
        }));
      }
    }
    this.svg.append(group);
  }

  drawArea(points) {
    const path = points
      .map(([x, y], index) => `${index ? "L" : "M"}${((x - this.box.x) * this.scale).toFixed(1)},${((y - this.box.y) * this.scale).toFixed(1)}`)
      .join(" ");
    this.svg.append(element("path", { d: `${path} Z`, class: "area" }));
  }

  drawPlaces(places) {
    for (const place of places) {
      const [x, y] = this.project(place.lon, place.lat);
      const label = element("text", { x: x.toFixed(1), y: y.toFixed(1), class: "place" });
      label.textContent = place.name;
      this.svg.append(label);
    }
  }

  // Draws or updates one car; a car without a position is not drawn.
  show(car) {
    let marker = this.markers.get(car.id);
    if (!car.position) {
      marker?.remove();
      this.markers.delete(car.id);
      return;
    }
    if (!marker) {
      marker = element("circle", { r: 7, "data-id": car.id });
      marker.append(element("title"));
      marker.addEventListener("click", () => this.onSelect(car.id));
      this.layer.append(marker);
      this.markers.set(car.id, marker);
    }
    const [x, y] = this.project(car.position.lon, car.position.lat);
    marker.setAttribute("cx", x.toFixed(1));
    marker.setAttribute("cy", y.toFixed(1));
    marker.setAttribute("class", `car state-${car.state}`);
    marker.setAttribute("data-state", car.state);
    marker.setAttribute("data-plate", car.plate);
    marker.firstChild.textContent = `${car.plate} · ${car.model} · ${car.state}`;
    // Cars that need attention are drawn over the others parked at the same spot.
    if (car.state === "late" || car.state === "in_use") this.layer.append(marker);
  }

  forgetMissing(ids) {
    for (const [id, marker] of this.markers) {
      if (!ids.has(id)) {
        marker.remove();
        this.markers.delete(id);
      }
    }
  }

  select(id) {
    for (const [markerId, marker] of this.markers) marker.classList.toggle("selected", markerId === id);
  }
}
