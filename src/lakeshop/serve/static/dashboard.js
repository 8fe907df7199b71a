// lakeshop dashboards: fills the server-rendered shell from the dashboards' API.
// No inline script (the Content-Security-Policy allows scripts from this origin only); every
// value from data is put in with textContent, never as HTML.
"use strict";

(function () {
  const body = document.body;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.status === 401) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new Error("not logged in");
    }
    const data = await response.json();
    if (!response.ok) {
      const error = new Error(data.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // --- login ---------------------------------------------------------------------------------

  function login() {
    const form = document.getElementById("login");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = new FormData(form);
      const response = await fetch("/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: fields.get("user"), token: fields.get("token") }),
      });
      if (!response.ok) {
        document.getElementById("login-error").textContent = "Wrong user or token.";
        return;
      }
      const next = new URLSearchParams(location.search).get("next") || "/";
      location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
    });
  }

  // --- values --------------------------------------------------------------------------------

  function numeric(value) {
    return value !== null && value !== "" && !isNaN(Number(value));
  }

  function show(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number" || (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value))) {
      const n = Number(value);
      return Number.isInteger(n) ? n.toLocaleString("en-US")
        : n.toLocaleString("en-US", { maximumFractionDigits: 4 });
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  // --- filters -------------------------------------------------------------------------------

  function buildFilters(form, filters) {
    const params = new URLSearchParams(location.search);
    for (const f of filters) {
      const box = el("fieldset", { "data-filter": f.name });
      box.appendChild(el("legend", {}, f.label));
      if (f.kind === "date_range") {
        const [from, to] = f.default || [null, null];
        for (const [param, initial] of [[f.parameters[0], from], [f.parameters[1], to]]) {
          const input = el("input", { type: "date", name: param, "aria-label": f.label + " " + param });
          if (f.bounds) { input.min = f.bounds[0]; input.max = f.bounds[1]; }
          input.value = params.get(param) || initial || "";
          box.appendChild(input);
        }
      } else {
        const select = el("select", { name: f.parameters[0], "aria-label": f.label });
        select.appendChild(el("option", { value: "" }, "All"));
        for (const option of f.options || []) select.appendChild(el("option", { value: option }, option));
        select.value = params.get(f.parameters[0]) || "";
        box.appendChild(select);
      }
      if (f.note) box.appendChild(el("small", { class: "note" }, f.note));
      form.appendChild(box);
    }
    form.dataset.state = "ready";
  }

  function filterQuery(form) {
    const query = new URLSearchParams();
    for (const input of form.querySelectorAll("input, select")) {
      if (input.value) query.set(input.name, input.value);
    }
    return query;
  }

  // --- tiles ---------------------------------------------------------------------------------

  function drawNumber(target, tile, data) {
    const column = tile.value || (data.columns[0] || {}).name;
    const row = data.rows[0] || {};
    target.replaceChildren(el("p", { class: "value", "data-column": column }, show(row[column])));
  }

  function drawTable(target, data) {
    const table = el("table");
    const head = el("tr");
    for (const c of data.columns) head.appendChild(el("th", { scope: "col" }, c.name));
    table.appendChild(el("thead")).appendChild(head);
    const rows = table.appendChild(el("tbody"));
    for (const row of data.rows) {
      const tr = el("tr");
      for (const c of data.columns) {
        tr.appendChild(el("td", numeric(row[c.name]) ? { class: "num" } : {}, show(row[c.name])));
      }
      rows.appendChild(tr);
    }
    if (data.truncated) target.appendChild(el("p", { class: "note" }, "Cut at the role's row cap."));
    target.replaceChildren(table);
  }

  function drawChart(target, tile, data) {
    const traces = [];
    const kind = tile.chart === "bar" ? "bar" : "scatter";
    const style = tile.chart === "area" ? { fill: "tozeroy", mode: "lines" }
      : tile.chart === "line" ? { mode: "lines+markers" } : {};
    const value = (v) => (numeric(v) ? Number(v) : v);
    if (tile.series) {
      const groups = new Map();
      for (const row of data.rows) {
        const key = String(row[tile.series]);
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(row);
      }
      for (const [name, rows] of groups) {
        traces.push({ type: kind, name: name, x: rows.map((r) => r[tile.x]),
                      y: rows.map((r) => value(r[tile.y[0]])), ...style });
      }
    } else {
      for (const column of tile.y) {
        traces.push({ type: kind, name: column, x: data.rows.map((r) => r[tile.x]),
                      y: data.rows.map((r) => value(r[column])), ...style });
      }
    }
    const layout = { margin: { l: 60, r: 10, t: 10, b: 60 }, height: 300, barmode: "group",
                     showlegend: traces.length > 1, legend: { orientation: "h" },
                     xaxis: { automargin: true }, yaxis: { automargin: true, rangemode: "tozero" } };
    target.replaceChildren();
    if (!data.rows.length) { target.appendChild(el("p", { class: "note" }, "No rows.")); return; }
    Plotly.react(target, traces, layout, { displayModeBar: false, responsive: true });
  }

  async function loadTile(name, tile, query) {
    const box = document.getElementById("tile-" + tile.id);
    const target = box.querySelector(".body");
    const link = box.querySelector("a.csv");
    if (!tile.allowed) {
      box.dataset.state = "denied";
      link.remove();
      target.replaceChildren(el("p", { class: "withheld" }, "Not available to your role."));
      return;
    }
    const suffix = query.toString() ? "?" + query.toString() : "";
    link.href = tile.link + ".csv" + suffix;
    box.dataset.state = "loading";
    try {
      const data = await getJSON(tile.link + suffix);
      if (tile.chart === "number") drawNumber(target, tile, data);
      else if (tile.chart === "table") drawTable(target, data);
      else drawChart(target, tile, data);
      box.dataset.rows = String(data.row_count);
      box.dataset.state = "ready";
    } catch (error) {
      box.dataset.state = error.status === 403 ? "denied" : "error";
      target.replaceChildren(el("p", { class: "error" }, error.message));
    }
  }

  // --- catalog -------------------------------------------------------------------------------

  function tableLink(entry, select) {
    if (!entry.link) return el("span", { class: "hidden-table" }, entry.name);
    const a = el("a", { href: "#" + entry.name }, entry.name);
    a.addEventListener("click", (event) => { event.preventDefault(); select(entry.name); });
    return a;
  }

  // the lineage graph laid out by the server (columns by depth, upstream on the left), drawn
  // with plotly: a marker and a label per table, an arrow per edge; a click opens that table
  function drawLineage(target, graph, focus, select) {
    const sizes = new Map();
    for (const n of graph.nodes) sizes.set(n.depth, (sizes.get(n.depth) || 0) + 1);
    const tallest = Math.max(...sizes.values());
    const at = new Map(graph.nodes.map((n) => [n.name, [n.depth, (tallest - sizes.get(n.depth)) / 2 + n.row]]));
    const depths = [...sizes.keys()];
    const annotations = graph.edges.map(([from, to]) => ({
      x: at.get(to)[0], y: at.get(to)[1], ax: at.get(from)[0], ay: at.get(from)[1],
      xref: "x", yref: "y", axref: "x", ayref: "y", text: "", showarrow: true,
      arrowhead: 2, arrowwidth: 1, arrowcolor: "#9aa5b1", standoff: 7, startstandoff: 7,
    }));
    const schemas = [...new Set(graph.nodes.map((n) => n.schema))];
    const traces = schemas.map((schema) => {
      const nodes = graph.nodes.filter((n) => n.schema === schema);
      return {
        type: "scatter", mode: "markers+text", name: schema, cliponaxis: false,
        x: nodes.map((n) => at.get(n.name)[0]), y: nodes.map((n) => at.get(n.name)[1]),
        text: nodes.map((n) => n.name), customdata: nodes.map((n) => n.name),
        textposition: nodes.map((n) => (n.row % 2 ? "bottom center" : "top center")),
        textfont: { size: 11 }, hovertemplate: "%{customdata}<extra></extra>",
        marker: { size: nodes.map((n) => (n.name === focus ? 18 : 11)),
                  line: { width: nodes.map((n) => (n.name === focus ? 2 : 0)), color: "#1f2933" } },
      };
    });
    const layout = {
      height: Math.max(220, tallest * 68 + 80), margin: { l: 20, r: 20, t: 10, b: 10 },
      showlegend: true, legend: { orientation: "h" }, annotations: annotations, hovermode: "closest",
      xaxis: { visible: false, range: [Math.min(...depths) - 0.7, Math.max(...depths) + 0.7] },
      yaxis: { visible: false, range: [tallest - 0.4, -0.6] },
    };
    Plotly.react(target, traces, layout, { displayModeBar: false, responsive: true }).then(() => {
      target.on("plotly_click", (event) => {
        const point = (event.points || [])[0];
        if (point && point.customdata !== focus) select(point.customdata);
      });
      target.dataset.nodes = String(graph.nodes.length);
      target.dataset.edges = String(graph.edges.length);
      target.dataset.state = "ready";
    });
  }

  // the catalog page's "expectations" tile (when the role may read it), by table
  async function passRates(page) {
    const tile = page.tiles.find((t) => t.id === "expectations" && t.allowed);
    if (!tile) return new Map();
    const data = await getJSON(tile.link);
    return new Map(data.rows.map((r) => [r.table_name, r]));
  }

  async function loadCatalog(box, page) {
    const [tables, rates] = await Promise.all([getJSON("/api/tables"), passRates(page).catch(() => new Map())]);
    const byName = new Map(tables.map((t) => [t.name, t]));
    const list = el("ul", { class: "tables" });
    const detail = el("article", { class: "table-detail" });
    box.replaceChildren(el("p", { class: "count" }, tables.length + " tables"), list, detail);
    function select(name) {
      const t = byName.get(name);
      if (!t) return;
      history.replaceState(null, "", "#" + name);
      for (const a of list.querySelectorAll("a")) a.toggleAttribute("aria-current", a.textContent === name);
      const when = t.last_commit_ms ? new Date(t.last_commit_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–";
      const parts = [el("h2", {}, t.name), el("p", { class: "lead" }, t.description || ""),
        el("p", { class: "facts" }, `${t.kind} · ${show(t.rows)} rows${t.rows_filtered ? " (your row filters)" : ""} · version ${show(t.version)} · last commit ${when}`)];
      const rate = rates.get(t.name);
      if (rate) {
        parts.push(el("p", { class: "expectations" },
          `expectations of the latest run: ${show(rate.expectations)}, ${show(rate.passed)} rows passed, ${show(rate.failed)} failed, pass rate ${show(rate.pass_rate)}`));
      }
      const lineage = el("div", { class: "lineage" });
      const column = (title, entries) => {
        const col = el("div", {}); col.appendChild(el("h3", {}, title));
        if (!entries.length) col.appendChild(el("p", { class: "note" }, "none"));
        for (const e of entries) col.appendChild(el("p", { class: "node" })).appendChild(tableLink(e, select));
        return col;
      };
      lineage.append(column("Upstream", t.upstream || []),
                     column("This table", [{ name: t.name, link: null }]),
                     column("Downstream", t.downstream || []));
      const graph = el("div", { id: "lineage-graph", class: "lineage-graph", "data-state": "loading" });
      parts.push(el("h3", { class: "graph-title" }, "Lineage: every table upstream and downstream that your role may read"),
                 graph, lineage);
      const cols = el("table", { class: "columns" });
      const head = el("tr");
      for (const h of ["column", "type", "masked", "definition"]) head.appendChild(el("th", {}, h));
      cols.appendChild(el("thead")).appendChild(head);
      const rows = cols.appendChild(el("tbody"));
      for (const c of t.columns || []) {
        const tr = el("tr");
        tr.append(el("td", {}, c.name), el("td", {}, c.type), el("td", {}, c.masked ? "masked" : ""),
                  el("td", {}, c.description || ""));
        rows.appendChild(tr);
      }
      parts.push(cols);
      detail.replaceChildren(...parts);
      if (t.lineage) drawLineage(graph, t.lineage, t.name, select);
      detail.dataset.table = name;
    }
    for (const t of tables) list.appendChild(el("li")).appendChild(tableLink(t, select));
    select(decodeURIComponent(location.hash.slice(1)) || (tables[0] || {}).name);
    box.dataset.state = "ready";
  }

  // --- the page ------------------------------------------------------------------------------

  async function dashboard() {
    const name = body.dataset.dashboard;
    document.getElementById("logout").addEventListener("click", async () => {
      await fetch("/logout", { method: "POST", credentials: "same-origin",
                               headers: { "X-CSRF-Token": cookie("lakeshop_csrf") } });
      location.assign("/login");
    });
    getJSON("/api/me").then((me) => {
      document.getElementById("who").textContent = me.user + " (" + me.role + ")";
    }).catch(() => {});
    const page = await getJSON("/api/dashboards/" + encodeURIComponent(name));
    const form = document.getElementById("filters");
    buildFilters(form, page.filters);
    const catalog = document.getElementById("catalog");
    if (catalog) loadCatalog(catalog, page).catch((e) => { catalog.dataset.state = "error"; catalog.textContent = e.message; });
    const refresh = () => {
      const query = filterQuery(form);
      history.replaceState(null, "", location.pathname + (query.toString() ? "?" + query : "") + location.hash);
      return Promise.all(page.tiles.map((t) => loadTile(name, t, query)));
    };
    form.addEventListener("change", refresh);
    form.addEventListener("submit", (event) => event.preventDefault());
    await refresh();
    body.dataset.state = "ready";
  }

  if (body.dataset.page === "login") login();
  else if (body.dataset.page === "dashboard") dashboard();
})();
