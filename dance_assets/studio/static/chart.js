// Her score and each body part over her attempts, as inline SVG (no chart library).

const SVG = "http://www.w3.org/2000/svg";
// One colour per body part, apart from the score bands' green, amber and red.
export const PART_COLOURS = {
  "left arm": "#2563eb", "right arm": "#7c3aed", "left leg": "#0891b2",
  "right leg": "#db2777", "torso": "#65a30d", "head": "#a16207",
};

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function line(values, x, y, colour, width) {
  const points = values.map((v, i) => (v == null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
  return svg("polyline", { points: points.join(" "), fill: "none", stroke: colour,
                           "stroke-width": width, "stroke-linejoin": "round" });
}

export function progressChart(attempts) {
  const width = 560, height = 200, left = 30, right = 10, top = 10, bottom = 24;
  const n = attempts.length;
  const x = (i) => left + (n === 1 ? (width - left - right) / 2 : i * (width - left - right) / (n - 1));
  const y = (v) => top + (100 - v) * (height - top - bottom) / 100;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
                             "aria-label": "her score and body parts over her attempts" });
  for (const v of [0, 40, 75, 100]) {  // the report's bands: 75 and 40
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: "#e3e5ea" }));
    const label = svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#5b616e" });
    label.textContent = v;
    chart.append(label);
  }
  attempts.forEach((_, i) => {
    const label = svg("text", { x: x(i), y: height - 6, "text-anchor": "middle", "font-size": 10, fill: "#5b616e" });
    label.textContent = `#${i + 1}`;
    chart.append(label);
  });
  for (const [part, colour] of Object.entries(PART_COLOURS)) {
    const values = attempts.map((a) => a.body_parts[part]);
    chart.append(line(values, x, y, colour, 1.5));
    values.forEach((v, i) => v != null && chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.5, fill: colour })));
  }
  chart.append(line(attempts.map((a) => a.score), x, y, "#1d1f24", 3.5));
  attempts.forEach((a, i) => chart.append(svg("circle", { cx: x(i), cy: y(a.score), r: 4.5, fill: "#1d1f24" })));
  return chart;
}

export function chartLegend() {
  const legend = document.createElement("div");
  legend.className = "legend";
  const entries = [["score", "#1d1f24"], ...Object.entries(PART_COLOURS)];
  for (const [name, colour] of entries) {
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${colour}"></i>`;
    item.append(name);
    legend.append(item);
  }
  return legend;
}
