// The room view: fetch `state` every two seconds and draw it, and `plants` (the live
// plants' board) every three. Every string from them goes through textContent, never
// innerHTML: alerts' reasons are participants' own text.
"use strict";

const CLASS = { "correct": "correct", "not yet": "notyet", "not answered": "unanswered" };

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function time(iso, seconds) {
  const shown = { hour: "2-digit", minute: "2-digit",
                  ...(seconds ? { second: "2-digit", hour12: false } : {}) };
  return iso ? new Date(iso).toLocaleTimeString([], shown) : "–";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return s < 600 ? `${s} s` : `${Math.round(s / 60)} min`;  // one short line
}

function stuck(stats) {
  return stats.failed >= 2 && stats.failed > stats.right;
}

const MAX_HELP = 14;  // on a projector; the rest are counted
const MAX_HELP_LIVE = 6;  // with the live plants above them

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
  const most = document.body.classList.contains("live") ? MAX_HELP_LIVE : MAX_HELP;
  const shown = state.needs_help.slice(0, most).map(h => {
    const li = el("li");
    li.append(el("b", h.user), document.createTextNode(` (${h.team}): ${h.reason}`));
    return li;
  });
  if (state.needs_help.length > most) {
    shown.push(el("li", `and ${state.needs_help.length - most} more`));
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

const PLANT_ALERTS = 2;  // the latest alerts shown under each team, on a projector

function drawPlants(board) {
  const live = board.teams.length > 0;
  document.getElementById("plants").hidden = !live;
  document.body.classList.toggle("live", live);
  const rows = [];
  for (const team of board.teams) {
    const row = el("tr", undefined, "team");
    row.dataset.team = team.name;
    const underWay = team.attacks.filter(a => a.state === "under way").map(a => a.id);
    const detected = el("td", `${team.detected} / ${team.attacks_so_far}`);
    detected.title = team.attacks.map(a => `${a.id} ${a.kind} on ${a.targets.join(", ")}: ${a.state}` +
                                           (a.detected ? ` in ${duration(a.time_to_detect)}` : "")).join("\n");
    row.append(el("th", team.name), detected, el("td", underWay.join(", "), "now"),
               el("td", duration(team.median_time_to_detect)),
               el("td", team.false_alarms, team.false_alarms ? "bad" : ""),
               el("td", team.missed, team.missed ? "bad" : ""));
    const red = el("td", team.red_team.writes || "");
    red.title = team.red_team.latest.map(w => `${time(w.at, true)} ${w.by}: ${w.targets.join(", ")}`).join("\n");
    row.append(red);
    rows.push(row);
    for (const alert of team.alerts.slice(0, PLANT_ALERTS)) {
      const cls = alert.verdict.startsWith("detected") ? "hit" : alert.verdict === "false alarm" ? "false" : "";
      const td = el("td");
      td.colSpan = 7;
      td.title = `${alert.user} at ${time(alert.at, true)}: ${alert.reason} [${alert.tags.join(", ")}]`;
      td.append(el("span", time(alert.at, true)), el("span", alert.verdict, "verdict " + cls),
                document.createTextNode(`${alert.user}: ${alert.reason}`));
      const line = el("tr", undefined, "alert");
      line.append(td);
      rows.push(line);
    }
  }
  document.querySelector("#plants tbody").replaceChildren(...rows);
}

async function refreshPlants() {
  try {
    const xsrf = document.querySelector('meta[name="xsrf"]').content;
    const answer = await fetch("plants", { cache: "no-store", headers: { "X-XSRFToken": xsrf } });
    if (!answer.ok) throw new Error(`${answer.status} ${answer.statusText}`);
    drawPlants(await answer.json());
    document.getElementById("plants-updated").textContent = "";
  } catch (error) {
    document.getElementById("plants-updated").textContent = "(not updated: " + error.message + ")";
  }
  setTimeout(refreshPlants, 3000);
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
refreshPlants().finally(refresh);  // the room's first drawing knows whether plants are live
