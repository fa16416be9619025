// A new attempt: her video sent, scored in the background with its stages shown, and
// her report opened when it is ready.
import { el, followAttempt, upload } from "./api.js";

const STAGES = ["sending", "checking the video", "posing", "putting in step", "the report"];

export async function scoreAttempt(box, dance, file, name) {
  const stages = el("ol", { class: "stages" }, STAGES.map((s) => el("li", {}, s)));
  const note = el("p", { class: "small" }, `${name}: sending…`);
  box.replaceChildren(stages, note);
  const show = (stage) => {
    const at = STAGES.indexOf(stage);
    [...stages.children].forEach((li, i) => { li.className = i < at ? "past" : i === at ? "now" : ""; });
  };
  show("sending");
  try {
    const job = await upload(`/api/attempts?dance=${encodeURIComponent(dance)}&name=${encodeURIComponent(name)}`,
      file, (share) => { note.textContent = `${name}: sending ${Math.round(share * 100)} %`; });
    const done = await followAttempt(job.id, (j) => {
      show(j.stage);
      note.textContent = STAGES.includes(j.stage) ? `${name}: ${j.stage}…` : `${name}: ${j.stage}`;
    });
    if (done.stage === "refused") throw new Error(done.message);
    const report = `/reports/${done.report}`;
    box.replaceChildren(el("p", { class: "message" }, `Scored ${done.score}/100. `,
      el("a", { href: report, target: "_blank", id: "new-report" }, "Open the report")));
    window.open(report, "_blank");
    return done;
  } catch (error) {
    box.replaceChildren(el("p", { class: "message error", role: "alert" }, error.message));
    return null;
  }
}
