// Home: every dance with a teacher, her attempts and progress, and what to do next.
import { el, getJSON, upload } from "./api.js";
import { scoreAttempt } from "./attempt.js";
import { chartLegend, progressChart } from "./chart.js";

function attemptsTable(attempts) {
  return el("table", { class: "attempts" },
    el("tr", {}, el("th", {}, "#"), el("th", {}, "when"), el("th", {}, "score"),
       el("th", {}, "timing"), el("th", {}, "")),
    attempts.map((a, i) => el("tr", {},
      el("td", {}, `${i + 1}`), el("td", {}, a.scored_at.replace("T", " ").slice(0, 16)),
      el("td", {}, `${a.score}`), el("td", {}, a.timing || "—"),
      el("td", {}, a.report ? el("a", { href: `/reports/${a.report}`, target: "_blank" }, "report") : "")))
    .reverse());
}

function scoreForm(dance, onScored) {
  const box = el("div");
  const input = el("input", { type: "file", accept: "video/*", "aria-label": `a video of you dancing ${dance}` });
  const button = el("button", { class: "primary", type: "submit" }, "Score my video");
  const form = el("form", { class: "row", onsubmit: async (event) => {
    event.preventDefault();
    if (!input.files.length) { box.replaceChildren(el("p", { class: "message error" }, "choose a video of yourself first")); return; }
    button.disabled = true;
    const done = await scoreAttempt(box, dance, input.files[0], input.files[0].name);
    button.disabled = false;
    if (done) onScored();
  } }, input, button);
  return el("div", {}, form, box);
}

function danceCard(item, refresh) {
  const { dance, teacher, attempts } = item;
  const latest = attempts[attempts.length - 1];
  const progress = attempts.length
    ? el("div", { class: "chart" }, progressChart(attempts), chartLegend())
    : el("p", { class: "message" }, "No attempts yet: score a video of yourself dancing it below, ",
         "or practise live and record yourself.");
  const weakest = item.weakest
    ? el("p", { class: "small" }, `Weakest last time: ${item.weakest.what}, at ${item.weakest.teacher_start_s.toFixed(1)}–`,
         `${item.weakest.teacher_end_s.toFixed(1)} s of the teacher's video: "Loop my weakest moment" in Practise live plays it at 0.75x.`)
    : null;
  const summary = latest
    ? el("div", {}, el("p", {}, el("strong", {}, `Latest: ${latest.score}/100`), ` · ${attempts.length} attempt(s)`),
         el("p", { class: "small" }, latest.timing ? `Timing: ${latest.timing}` : "No timing for this attempt"),
         weakest, attemptsTable(attempts))
    : el("p", { class: "small" }, "Your attempts will be listed here, each with its report.");
  return el("section", { class: "card dance", "data-dance": dance },
    el("div", {},
      el("h2", {}, dance), el("p", { class: "small" }, `teacher: ${teacher}`),
      progress,
      el("div", { class: "row" },
        el("a", { class: "button primary", href: `#/practice/${encodeURIComponent(dance)}` }, "Practise live")),
      scoreForm(dance, refresh)),
    summary);
}

function teacherForm(refresh, maxMb) {
  const box = el("div");
  const name = el("input", { type: "text", name: "dance", placeholder: "the dance's name, e.g. wap",
                             "aria-label": "the dance's name", required: true });
  const file = el("input", { type: "file", accept: "video/*", "aria-label": "the teacher's video" });
  const button = el("button", { type: "submit" }, "Add the teacher");
  const form = el("form", { class: "row", onsubmit: async (event) => {
    event.preventDefault();
    if (!file.files.length) { box.replaceChildren(el("p", { class: "message error" }, "choose the teacher's video")); return; }
    button.disabled = true;
    box.replaceChildren(el("p", { class: "small" }, "sending and checking the video (it is posed once, now)…"));
    try {
      await upload(`/api/teachers?dance=${encodeURIComponent(name.value)}&name=${encodeURIComponent(file.files[0].name)}`,
        file.files[0], (share) => { box.firstChild.textContent = `sending ${Math.round(share * 100)} %`; });
      refresh();
    } catch (error) {
      box.replaceChildren(el("p", { class: "message error", role: "alert" }, error.message));
    } finally { button.disabled = false; }
  } }, name, file, button);
  return el("section", { class: "card" }, el("h2", {}, "Add a teacher"),
    el("p", { class: "small" }, `Her video of the dance (any video file up to ${maxMb} MB), and the dance's name. `,
       "It is checked like every video of the lake and kept in its references/ folder."),
    form, box);
}

export async function showHome(view) {
  const refresh = () => showHome(view);
  let data;
  try { data = await getJSON("/api/dances"); } catch (error) {
    view.replaceChildren(el("p", { class: "message error" }, error.message));
    return null;
  }
  document.getElementById("lake").textContent = `lake: ${data.lake}`;
  const dances = data.dances.length
    ? data.dances.map((d) => danceCard(d, refresh))
    : [el("section", { class: "card empty" }, el("h2", {}, "No teacher yet"),
         el("p", {}, "Add your teacher's video of a dance below (or put it in the lake's ",
            el("code", {}, "references/<dance>/"), " folder): then score your own videos against her, ",
            "practise live with your camera, and watch your progress here."))];
  view.replaceChildren(el("h1", {}, "Your dances"), ...dances, teacherForm(refresh, data.max_upload_mb));
  return null;
}
