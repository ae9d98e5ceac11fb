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

function drawGrid(state) {
  const table = document.querySelector("#grid table");
  const head = table.tHead, body = table.tBodies[0];
  const exercises = state.modules.flatMap(m => m.exercises);
  const modules = el("tr"), names = el("tr"), counts = el("tr", undefined, "counts");
  modules.append(el("th", "", "who"));
  names.append(el("th", "participant", "who"));
  counts.append(el("th", "right / not yet / median tries", "who"));
  for (const module of state.modules) {
    const th = el("th", module.title, "module");
    th.colSpan = module.exercises.length;
    modules.append(th);
  }
  for (const name of exercises) {
    const stats = state.exercises[name];
    const th = el("th", name.split(".").slice(1).join("."), "ex" + (stuck(stats) ? " stuck" : ""));
    th.title = `${name}: ${stats.right} right, ${stats.failed} not yet, median ${stats.median_attempts ?? "–"} tries`;
    names.append(th);
    const td = el("td", `${stats.right}/${stats.failed}`);
    td.title = th.title;
    counts.append(td);
  }
  head.replaceChildren(modules, names, counts);
  const rows = [];
  for (const team of state.teams) {
    const tr = el("tr", undefined, "team");
    const th = el("th", `${team.name}: ${team.modules_done} of ${state.modules.length} modules`);
    th.colSpan = exercises.length + 1;
    tr.append(th);
    rows.push(tr);
    for (const member of team.members) {
      const row = el("tr");
      row.dataset.user = member.user;
      const who = el("th", undefined, "who");
      who.append(el("span", "", "dot " + member.server), el("span", member.user));
      who.title = `server ${member.server}; last self-check ${time(member.last_check)}`;
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
    }
  }
  body.replaceChildren(...rows);
}

function drawSide(state) {
  const help = document.getElementById("help");
  help.replaceChildren(...(state.needs_help.length ? state.needs_help.map(h => {
    const li = el("li");
    li.append(el("b", h.user), document.createTextNode(` (${h.team}): ${h.reason}`));
    return li;
  }) : [el("li", "nobody right now")]));
  const teams = document.querySelector("#teams tbody");
  teams.replaceChildren(...state.teams.map(t => {
    const tr = el("tr");
    tr.append(el("td", t.name), el("td", `${t.modules_done} / ${state.modules.length}`),
              el("td", time(t.last_homework)), el("td", time(t.last_capstone)), el("td", t.rank ?? "–"));
    return tr;
  }));
  if (window.Plotly) {
    const names = state.modules.flatMap(m => m.exercises);
    const short = names.map(n => n.split(".").slice(1).join("."));
    Plotly.react("chart", [
      { type: "bar", name: "right", x: short, y: names.map(n => state.exercises[n].right), marker: { color: "#2e9e4f" } },
      { type: "bar", name: "not yet", x: short, y: names.map(n => state.exercises[n].failed), marker: { color: "#e4572e" } },
    ], { barmode: "stack", margin: { l: 30, r: 10, t: 10, b: 90 }, legend: { orientation: "h", y: 1.1 } },
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
