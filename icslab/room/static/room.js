// The room view: fetch `state` every two seconds and draw it. Every string from the
// state goes through textContent, never innerHTML.
"use strict";

const CLASS = { "correct": "correct", "not yet": "notyet", "not answered": "unanswered" };

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "–";
}

function stuck(stats) {
  return stats.failed >= 2 && stats.failed > stats.right;
}

const MAX_HELP = 14;  // on a projector; the rest are counted

function drawGrid(state) {
  const table = document.querySelector("#grid table");
  const head = table.tHead, body = table.tBodies[0];
  const exercises = state.modules.flatMap(m => m.exercises);
  const modules = el("tr"), names = el("tr");
  const right = el("tr", undefined, "counts right"), failed = el("tr", undefined, "counts failed");
  for (const row of [modules, names]) row.append(el("th", "", "who"), el("th", "", "who"));
  right.append(el("th", ""), el("th", "right", "who"));
  failed.append(el("th", ""), el("th", "not yet", "who"));
  for (const module of state.modules) {
    const th = el("th", module.title, "module");
    th.title = module.title;
    th.colSpan = module.exercises.length;
    modules.append(th);
  }
  for (const name of exercises) {
    const stats = state.exercises[name];
    const th = el("th", name.split(".").slice(1).join("."), "ex" + (stuck(stats) ? " stuck" : ""));
    th.title = `${name}: ${stats.right} right, ${stats.failed} not yet, median ${stats.median_attempts ?? "–"} tries`;
    names.append(th);
    right.append(Object.assign(el("td", stats.right || ""), { title: th.title }));
    failed.append(Object.assign(el("td", stats.failed || ""), { title: th.title }));
  }
  head.replaceChildren(modules, names, right, failed);
  const rows = [];
  for (const team of state.teams) {
    team.members.forEach((member, index) => {
      const row = el("tr", undefined, index === 0 ? "first" : "");
      row.dataset.user = member.user;
      if (index === 0) {
        const th = el("th", team.name, "team");
        th.rowSpan = team.members.length;
        th.title = `${team.name}: ${team.modules_done} of ${state.modules.length} modules done`;
        row.append(th);
      }
      const who = el("th", undefined, "who");
      who.append(el("span", "", "dot " + member.server), el("span", member.user));
      who.title = `server ${member.server}, last used ${time(member.last_activity)}; ` +
                  `last self-check ${time(member.last_check)}`;
      row.append(who);
      for (const name of exercises) {
        const cell = member.cells[name];
        const td = el("td", cell && cell.verdict === "not yet" ? cell.attempts : "",
                      cell ? CLASS[cell.verdict] : "none");
        td.dataset.exercise = name;
        if (cell) td.title = `${member.user} · ${name}: ${cell.verdict}, ${cell.attempts} tries` +
                             (cell.hinted ? ", hint shown" : "") + ` (${time(cell.at)})`;
        row.append(td);
      }
      rows.push(row);
    });
  }
  body.replaceChildren(...rows);
}

function drawSide(state) {
  const help = document.getElementById("help");
  const shown = state.needs_help.slice(0, MAX_HELP).map(h => {
    const li = el("li");
    li.append(el("b", h.user), document.createTextNode(` (${h.team}): ${h.reason}`));
    return li;
  });
  if (state.needs_help.length > MAX_HELP) {
    shown.push(el("li", `and ${state.needs_help.length - MAX_HELP} more`));
  }
  help.replaceChildren(...(shown.length ? shown : [el("li", "nobody right now")]));
  const teams = document.querySelector("#teams tbody");
  teams.replaceChildren(...state.teams.map(t => {
    const tr = el("tr");
    tr.append(el("td", t.name), el("td", `${t.modules_done} / ${state.modules.length}`),
              el("td", time(t.last_homework)), el("td", time(t.last_capstone)), el("td", t.rank ?? "–"));
    return tr;
  }));
  if (window.Plotly) {
    const names = state.modules.flatMap(m => m.exercises);
    Plotly.react("chart", [
      { type: "bar", name: "right", x: names, y: names.map(n => state.exercises[n].right), marker: { color: "#2e9e4f" } },
      { type: "bar", name: "not yet", x: names, y: names.map(n => state.exercises[n].failed), marker: { color: "#e4572e" } },
    ], { barmode: "stack", margin: { l: 30, r: 10, t: 10, b: 10 }, xaxis: { showticklabels: false }, legend: { orientation: "h", y: 1.1 } },
    { displayModeBar: false, responsive: true });
  }
}

async function refresh() {
  try {
    const xsrf = document.querySelector('meta[name="xsrf"]').content;
    const answer = await fetch("state", { cache: "no-store", headers: { "X-XSRFToken": xsrf } });
    if (!answer.ok) throw new Error(`${answer.status} ${answer.statusText}`);
    const state = await answer.json();
    drawGrid(state);
    drawSide(state);
    document.getElementById("updated").textContent =
      "updated " + new Date(state.generated).toLocaleTimeString();
    document.body.dataset.generated = state.generated;
  } catch (error) {
    document.getElementById("updated").textContent = "not updated: " + error.message;
  }
  setTimeout(refresh, 2000);
}
refresh();
