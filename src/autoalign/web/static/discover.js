// The Discover pages. On /discover: asks the server for the columns of the chosen table (it refuses
// a table it could not fit there and then), builds the target and units fields, and starts a fit
// or a demo of the gallery. On a run's page: polls the run until it ends, showing its progress, then
// renders what it found: each law (MathML the server sanitized), its Pareto front as an SVG plot
// and a table, and a demo's summary variables and check against the truth. Column and sensor
// names are untrusted: besides that MathML, everything reaches the page through textContent.
"use strict";
(() => {
  const POLL_MS = 1000;
  const SVG = "http://www.w3.org/2000/svg";
  const part = (name) => document.querySelector(`[data-discover="${name}"]`);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const plural = (n, noun, many = `${noun}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? noun : many}`;

  // Errors and R² near 1 need their digits; other numbers read best short.
  function number(x, digits = 3) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    if (x === 0) return "0";
    const size = Math.abs(x);
    return size >= 1e5 || size < 1e-3 ? x.toExponential(digits - 1) : Number(x.toPrecision(digits)).toString();
  }

  const r2 = (x) => (x === null || x === undefined ? "–" : x.toFixed(6));

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function request(url, body = undefined) {
    const init = { method: body ? "POST" : "GET", headers: { Accept: "application/json" }, body };
    const response = await fetch(url, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    return data;
  }

  function show(box, message) {
    box.textContent = message;
    box.hidden = !message;
  }

  // -- /discover: choosing a table and starting runs --------------------------------------------
  function unitField(name) {
    const label = el("label", "discover-unit");
    const input = el("input");
    input.name = "unit";
    input.placeholder = "units";
    input.autocomplete = "off";
    label.append(el("span", "discover-column", name), input);
    return label;
  }

  function showColumns(form, table) {
    part("table-summary").textContent =
      `${table.file}: ${plural(table.rows, "row")}, ${plural(table.columns.length, "column")}`;
    const select = form.elements.target;
    select.replaceChildren(
      ...table.columns.map((name) => {
        const option = el("option", "", name);
        option.value = name;
        return option;
      }),
    );
    select.value = table.columns[table.columns.length - 1];
    part("units").replaceChildren(...table.columns.map(unitField));
  }

  async function readColumns(form) {
    const file = form.elements.file.files[0];
    part("fit-options").hidden = true;
    show(part("fit-error"), "");
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    try {
      showColumns(form, await request("/api/discover/columns", body));
      part("fit-options").hidden = false;
    } catch (error) {
      show(part("fit-error"), error.message);
    }
  }

  async function start(form, url, errorBox) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    show(errorBox, "");
    try {
      const run = await request(url, new FormData(form));
      window.location.assign(run.url);
    } catch (error) {
      show(errorBox, error.message);
      button.disabled = false;
    }
  }

  function setUpForms(fitForm) {
    fitForm.elements.file.addEventListener("change", () => readColumns(fitForm));
    fitForm.addEventListener("submit", (event) => {
      event.preventDefault();
      start(fitForm, "/api/discover/fit", part("fit-error"));
    });
    const demoForm = part("demo-form");
    demoForm.addEventListener("submit", (event) => {
      event.preventDefault();
      start(demoForm, "/api/discover/demo", part("demo-error"));
    });
  }

  // -- a run's page: following it ---------------------------------------------------------------
  function stateText(run) {
    const seconds = (end) => Math.max(0, end - run.created_at).toFixed(0);
    switch (run.status) {
      case "running":
        return `Running for ${seconds(Date.now() / 1000)} s (time budget ${run.params.time_budget_s} s)…`;
      case "done":
        return `Done in ${seconds(run.finished_at)} s.`;
      case "failed":
        return "Failed.";
      default:
        return "Interrupted: the server stopped while this run was going. Start it again from the Discover page.";
    }
  }

  function showProgress(run) {
    part("state").textContent = stateText(run);
    part("state").dataset.status = run.status;
    part("progress").replaceChildren(...run.progress.map((message) => el("li", "", message)));
    show(part("error"), run.error || "");
  }

  async function follow(box) {
    for (;;) {
      let run;
      try {
        run = await request(box.dataset.runUrl);
      } catch (error) {
        part("state").textContent = `Cannot reach the server (${error.message}); trying again…`;
        await sleep(POLL_MS * 3);
        continue;
      }
      showProgress(run);
      if (run.status !== "running") {
        if (run.status === "done") part("result").replaceChildren(...resultSections(run));
        return;
      }
      await sleep(POLL_MS);
    }
  }

  function resultSections(run) {
    const result = run.result;
    if (run.kind === "fit") return [lawSection(result, "Law"), paretoSection(result)];
    const sections = [variablesSection(result)];
    if (!result.laws.length) {
      const none = el("section", "card discover-law");
      const why = "No summary variable depends on the others: there is no law to find between them.";
      none.append(el("h2", "", "Law"), el("p", "", why));
      sections.push(none);
    }
    for (const law of result.laws) {
      const heading = `Law of ${law.target}, in ${law.inputs.join(", ")}`;
      sections.push(lawSection(law, heading, law.proportionality), paretoSection(law));
    }
    if (result.check) sections.push(checkSection(result));
    return sections;
  }

  // -- the law ----------------------------------------------------------------------------------
  function lawSection(law, heading, proportionality = null) {
    const section = el("section", "card discover-law");
    section.append(el("h2", "", heading));
    if (!law.found) {
      const best = r2(law.best_r2);
      const why = `No law found: the best candidate explains R² = ${best} of the held-out rows, too little for a law.`;
      section.append(el("p", "discover-none", why));
      return section;
    }
    const math = el("div", "discover-math");
    math.innerHTML = law.mathml; // MathML elements only, with names escaped: sanitized by the server
    const facts = `held-out R² ${r2(law.held_out_r2)} · searched for ${number(law.seconds)} s`;
    section.append(math, el("p", "discover-facts", facts));
    if (proportionality) section.append(el("p", "discover-proportional", `In proportion: ${proportionality}`));
    const source = el("pre", "discover-latex");
    source.append(el("code", "", law.equation_latex));
    section.append(el("h3", "", "LaTeX"), source);
    return section;
  }

  // -- the Pareto front -------------------------------------------------------------------------
  function paretoSection(law) {
    const section = el("section", "card discover-pareto");
    section.append(el("h2", "", "Pareto front"));
    const front = law.pareto_front;
    if (!front.length) {
      section.append(el("p", "muted", "The search produced no candidate."));
      return section;
    }
    section.append(
      el("p", "muted", "The most accurate candidate at each size; the law is the simplest within reach of the best."),
    );
    const hover = el("p", "discover-hover", "Point at a candidate to see it.");
    hover.setAttribute("aria-live", "polite");
    section.append(paretoPlot(front, law.chosen, hover), hover, paretoTable(front, law.chosen));
    return section;
  }

  const SUPERSCRIPTS = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  const superscript = (n) => [...String(n)].map((c) => SUPERSCRIPTS[c]).join("");

  // Ticks at whole numbers from `low` to `high`, at most `most` of them.
  function ticks(low, high, most) {
    const step = Math.max(1, Math.ceil((high - low) / most));
    const out = [];
    for (let t = Math.ceil(low / step) * step; t <= high; t += step) out.push(t);
    return out;
  }

  function paretoPlot(front, chosen, hover) {
    const W = 640;
    const H = 300;
    const M = { left: 64, right: 16, top: 14, bottom: 46 };
    // An exact fit has an RMSE of 0, which a log axis cannot show: it sits a decade below the rest.
    const positive = front.map((p) => p.test_rmse).filter((e) => e > 0);
    const floor = positive.length ? Math.min(...positive) / 10 : 1e-12;
    const logError = (p) => Math.log10(Math.max(p.test_rmse, floor));
    const sizes = front.map((p) => p.complexity);
    const x0 = Math.min(...sizes) - 0.5;
    const x1 = Math.max(...sizes) + 0.5;
    const y0 = Math.floor(Math.min(...front.map(logError)));
    const y1 = Math.max(Math.ceil(Math.max(...front.map(logError))), y0 + 1);
    const sx = (x) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
    const sy = (y) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
    const middle = (M.top + H - M.bottom) / 2;

    const plot = svg("svg", {
      class: "discover-plot",
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-label": "Pareto front: held-out RMSE (log scale) against complexity",
    });
    for (const t of ticks(y0, y1, 8)) {
      plot.append(svg("line", { class: "grid", x1: M.left, x2: W - M.right, y1: sy(t), y2: sy(t) }));
      const label = `10${superscript(t)}`;
      plot.append(svg("text", { class: "tick", x: M.left - 8, y: sy(t) + 4, "text-anchor": "end" }, label));
    }
    for (const t of ticks(Math.ceil(x0), Math.floor(x1), 12)) {
      plot.append(svg("text", { class: "tick", x: sx(t), y: H - M.bottom + 18, "text-anchor": "middle" }, String(t)));
    }
    plot.append(
      svg("line", { class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }),
      svg("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }),
      svg("text", { class: "label", x: (M.left + W - M.right) / 2, y: H - 8, "text-anchor": "middle" }, "complexity"),
      svg(
        "text",
        { class: "label", "text-anchor": "middle", transform: `translate(14 ${middle}) rotate(-90)` },
        "held-out RMSE",
      ),
    );
    // A staircase: the best error to be had at each complexity, from one candidate to the next.
    const steps = front.map((p, i) => `${i ? "H" : "M"}${sx(p.complexity)} ${i ? "V" : ""}${sy(logError(p))}`);
    plot.append(svg("path", { class: "front", d: steps.join(" ") }));
    front.forEach((p, i) => plot.append(paretoPoint(p, i === chosen, sx(p.complexity), sy(logError(p)), hover)));
    return plot;
  }

  function describe(p) {
    const scores = `held-out RMSE ${number(p.test_rmse)} · R² ${r2(p.test_r2)}`;
    return `complexity ${p.complexity} · ${scores} · ${p.expression}`;
  }

  function paretoPoint(p, isLaw, x, y, hover) {
    const point = svg("circle", { class: isLaw ? "point law" : "point", cx: x, cy: y, r: isLaw ? 7 : 5, tabindex: 0 });
    const text = (isLaw ? "The law: " : "") + describe(p);
    point.append(svg("title", {}, text));
    const see = () => {
      hover.textContent = text;
    };
    point.addEventListener("pointerenter", see);
    point.addEventListener("focus", see);
    return point;
  }

  function row(cells, className = "") {
    const tr = el("tr", className);
    tr.append(...cells.map((cell) => (cell instanceof Node ? cell : el("td", "", cell))));
    return tr;
  }

  function headRow(labels) {
    const thead = el("thead");
    const tr = el("tr");
    tr.append(...labels.map((label) => el("th", "", label)));
    thead.append(tr);
    return thead;
  }

  function paretoTable(front, chosen) {
    const table = el("table", "discover-table");
    table.append(headRow(["complexity", "held-out RMSE", "held-out R²", "expression", "found by"]));
    const body = el("tbody");
    front.forEach((p, i) => {
      const expression = el("td", "discover-expression", p.expression);
      const cells = [String(p.complexity), number(p.test_rmse), r2(p.test_r2), expression, p.source];
      body.append(row(cells, i === chosen ? "law" : ""));
    });
    table.append(body);
    return table;
  }

  // -- a demo's check against the simulation's truth --------------------------------------------
  function checkSection(result) {
    const check = result.check;
    const section = el("section", "card discover-check");
    const verdict = check.passed ? "Recovered: every group pure, every law the truth." : "Not recovered.";
    section.append(el("h2", "", "Check against the simulation"), el("p", "discover-verdict", verdict));
    const table = el("table", "discover-table");
    table.append(headRow(["summary variable", "stands for", "pure", "irrelevant sensors"]));
    const body = el("tbody");
    for (const g of check.groups) {
      body.append(row([g.variable, g.quantity, `${Math.round(g.purity * 100)}%`, String(g.irrelevant)]));
    }
    table.append(body);
    section.append(table);
    if (check.missing_quantities.length) {
      section.append(el("p", "", `No summary variable stands for: ${check.missing_quantities.join(", ")}.`));
    }
    for (const law of check.laws) {
      section.append(el("p", "", `${law.target}: ${law.solved ? "solved" : "not solved"} (${law.why}).`));
    }
    const truth = Object.entries(result.apparatus.laws).map(([q, law]) => `${q} = ${law}`);
    section.append(el("p", "muted", `The true laws: ${truth.join("; ")}.`));
    return section;
  }

  // -- a demo's summary variables ---------------------------------------------------------------
  const counts = (measures) => Object.entries(measures).map(([quantity, n]) => `${quantity} (${n})`).join(", ");

  function members(variable) {
    const details = el("details");
    details.append(
      el("summary", "", plural(variable.sensors, "sensor")),
      el("p", "discover-members", variable.members.join(", ")),
    );
    const cell = el("td");
    cell.append(details);
    return cell;
  }

  function variablesSection(result) {
    const section = el("section", "card discover-variables");
    const variables = result.variables;
    const independent = plural(result.n_independent, "independent quantity", "independent quantities");
    const count = `${plural(variables.length, "summary variable")}, ${independent}.`;
    section.append(el("h2", "", "Summary variables"), el("p", "discover-count", count));
    const table = el("table", "discover-table");
    table.append(
      headRow(["variable", "units", "sensors", "quality (mean R²)", "its sensors really measure", "members"]),
    );
    const body = el("tbody");
    for (const v of variables) {
      // What the sensors really measure is known only for a simulated apparatus (a demo).
      const measures = v.measures ? counts(v.measures) : "not known";
      const cells = [v.name, v.units || "unknown", String(v.sensors), r2(v.quality), measures, members(v)];
      body.append(row(cells));
    }
    table.append(body);
    section.append(table);
    for (const d of result.dependences) {
      const text = `${d.variable} is a function of ${d.of.join(", ")} (cross-validated R² ${r2(d.r2)}).`;
      section.append(el("p", "", text));
    }
    for (const note of result.maybe_one_quantity) section.append(el("p", "discover-note", `Note: ${note}.`));
    const irrelevant = el("p", "discover-irrelevant");
    const lone = result.irrelevant_sensors;
    irrelevant.append(el("strong", "", `Irrelevant sensors (${lone.length}): `), lone.join(", ") || "none");
    if (lone.length && result.irrelevant_measure) {
      irrelevant.append(` — they really measure: ${counts(result.irrelevant_measure)}.`);
    }
    section.append(irrelevant);
    return section;
  }

  const fitForm = part("fit-form");
  if (fitForm) setUpForms(fitForm);
  const runBox = document.querySelector("[data-run-url]");
  if (runBox) follow(runBox);
})();
