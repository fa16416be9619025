// Live practice: the teacher's video beside her mirrored camera, her skeleton coloured
// by the server's verdict on each pose, a running score, and the controls dancers ask
// for (mirror, speed, A-B loop, her weakest moment, a countdown, recording).
import { el, getJSON } from "./api.js";
import { scoreAttempt } from "./attempt.js";
import { drawSkeleton } from "./skeleton.js";

const FRAME_EVERY_MS = 100; // ten poses a second at most: the rate score poses a video at
const WEAKEST_SPEED = 0.75;

function frameMessage(header, jpeg) {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const length = new DataView(new ArrayBuffer(4));
  length.setUint32(0, text.length, true);
  return new Blob([length.buffer, text, jpeg]);
}

function scaled(video, shortSide, canvas) {
  const scale = Math.min(1, shortSide / Math.min(video.videoWidth, video.videoHeight));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
}

function bandOf(score, [good, fair]) {
  return score == null ? "var(--grey)" : score >= good ? "var(--good)" : score >= fair ? "var(--fair)" : "var(--bad)";
}

function lagWords(ms) {
  if (ms == null) return "";
  if (Math.abs(ms) < 100) return "on time with the teacher";
  return `${Math.abs(ms)} ms ${ms > 0 ? "behind" : "ahead of"} the teacher`;
}

function layout(dance, item) {
  const enc = encodeURIComponent(dance);
  const parts = {
    teacher: el("video", { src: `/api/dances/${enc}/video`, playsinline: true, preload: "auto", class: "mirrored" }),
    camera: el("video", { autoplay: true, muted: true, playsinline: true, class: "mirrored" }),
    canvas: el("canvas", { class: "mirrored", id: "skeleton" }),
    count: el("div", { class: "count" }), advice: el("div", { class: "advice", hidden: true }),
    score: el("div", { class: "live-score", id: "live-score" }, "–"),
    chips: el("div", { class: "parts", id: "live-parts" }),
    lag: el("p", { class: "small", id: "live-lag" }),
    status: el("p", { class: "small", id: "live-status" }, "starting the camera…"),
    results: el("div"),
    weakest: item.weakest,
  };
  return parts;
}

export async function showPractice(view, dance) {
  const data = await getJSON("/api/dances");
  const item = data.dances.find((d) => d.dance === dance);
  if (!item) {
    view.replaceChildren(el("p", { class: "message error" }, `No teacher for ${dance}. `, el("a", { href: "#/" }, "Back home")));
    return null;
  }
  const ui = layout(dance, item);
  const state = { mode: "idle", run: 0, hello: null, inFlight: false, lastSent: 0, advice: null,
                  loopA: null, loopB: null, recorder: null, chunks: [], closed: false, timer: null };
  const controls = buildControls(ui, state, dance);
  view.replaceChildren(
    el("h1", {}, `Practise ${dance} `, el("a", { href: "#/", class: "small" }, "back home")),
    el("div", { class: "stage" },
      el("div", { class: "panel" }, el("span", { class: "label" }, `teacher (${item.teacher})`), ui.teacher),
      el("div", { class: "panel" }, el("span", { class: "label" }, "you"), ui.camera, ui.canvas,
         el("div", { class: "overlay" }, ui.count, ui.advice))),
    controls,
    el("div", { class: "card scoreboard" }, ui.score,
       el("div", {}, el("p", {}, "Your limbs, by their angle from the teacher's: green within 15°, amber 15–30°, red beyond (the report's colours)."),
          ui.chips, ui.lag, ui.status)),
    ui.results);
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    ui.camera.srcObject = stream;
    state.stream = stream;
  } catch (error) {
    ui.status.textContent = `No camera: ${error.message}. Allow the camera for this page and reload.`;
    return () => {};
  }
  connect(ui, state, dance);
  const loop = () => { if (!state.closed) { keepLoop(ui, state); requestAnimationFrame(loop); } };
  requestAnimationFrame(loop);
  return () => {
    state.closed = true;
    state.socket?.close();
    state.stream?.getTracks().forEach((t) => t.stop());
    ui.teacher.pause();
    clearInterval(state.timer);
  };
}

function keepLoop(ui, state) {
  const t = ui.teacher;
  if (state.loopB != null && state.loopA != null && t.currentTime >= state.loopB) t.currentTime = state.loopA;
}

function connect(ui, state, dance) {
  const socket = new WebSocket(`ws://${location.host}/ws/practice/${encodeURIComponent(dance)}`);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  const grab = document.createElement("canvas");
  state.shown = document.createElement("canvas");
  const send = async () => {
    if (state.closed || state.inFlight || socket.readyState !== WebSocket.OPEN || !ui.camera.videoWidth) {
      setTimeout(send, 30);
      return;
    }
    state.inFlight = true;
    state.frame = (state.frame || 0) + 1;
    const header = { frame: state.frame, teacher_s: ui.teacher.currentTime, speed: ui.teacher.playbackRate, run: state.run,
                     scoring: state.mode === "dancing" && !ui.teacher.paused };
    // The frame as she sees it, kept to be shown under its skeleton when the answer comes.
    state.shown.width = ui.camera.videoWidth;
    state.shown.height = ui.camera.videoHeight;
    state.shown.getContext("2d").drawImage(ui.camera, 0, 0);
    const jpeg = await scaled(ui.camera, state.hello.short_side, grab);
    state.lastSent = performance.now();
    socket.send(frameMessage(header, jpeg));
  };
  socket.onmessage = (event) => {
    const reply = JSON.parse(event.data);
    if (reply.ready) {
      state.hello = reply;
      ui.status.textContent = "Ready: press Start. A countdown checks that the camera sees all of you.";
      send();
      return;
    }
    if (!state.hello) { // refused before it was ready: the teacher's video cannot be used
      state.refused = true;
      ui.status.textContent = reply.error;
      return;
    }
    state.inFlight = false;
    show(ui, state, reply);
    setTimeout(send, Math.max(0, FRAME_EVERY_MS - (performance.now() - state.lastSent)));
  };
  socket.onclose = () => {
    if (!state.closed && !state.refused) ui.status.textContent = "The studio closed the connection: reload the page.";
  };
  ui.status.textContent = "loading the teacher's poses…";
}

function show(ui, state, reply) {
  if (reply.error) { ui.status.textContent = reply.error; return; }
  // Her skeleton over the very frame it was found in (a tenth of a second or so ago),
  // not over the live picture, which has moved on: the two always agree.
  ui.canvas.width = state.shown.width;
  ui.canvas.height = state.shown.height;
  const judged = reply.colours && state.mode === "dancing";
  drawSkeleton(ui.canvas, state.shown, reply.landmarks, state.hello.bones, judged ? reply.colours : null);
  state.advice = reply.advice;
  ui.advice.hidden = state.mode !== "countdown" || !reply.advice;
  ui.advice.textContent = reply.advice || "";
  if (!judged) return;
  ui.score.textContent = reply.score ?? "–";
  ui.score.style.borderColor = bandOf(reply.score, state.hello.score_bands);
  ui.chips.dataset.colours = JSON.stringify(reply.colours);
  ui.chips.replaceChildren(...state.hello.parts.map((part) => el("span", {
    style: `background:${reply.colours[part]}`,
    title: reply.errors[part] == null ? "not compared" : `${reply.errors[part]}° from the teacher` }, part)));
  ui.lag.textContent = [lagWords(reply.lag_ms), reply.mirrored ? "dancing the teacher's mirror image" : ""]
    .filter(Boolean).join(" · ");
}

function button(label, onclick, attributes = {}) {
  return el("button", { type: "button", onclick, ...attributes }, label);
}

function buildControls(ui, state, dance) {
  const t = ui.teacher;
  const record = el("input", { type: "checkbox", id: "record" });
  const speeds = [0.5, 0.75, 1].map((s) => button(`${s}x`, () => setSpeed(s), { "data-speed": s, class: s === 1 ? "on" : "" }));
  const setSpeed = (s) => { t.playbackRate = s; speeds.forEach((b) => b.classList.toggle("on", +b.dataset.speed === s)); };
  const mirror = button("Mirror teacher", () => { mirror.classList.toggle("on"); t.classList.toggle("mirrored"); }, { class: "on" });
  const loopWords = el("span", { class: "small" }, "no loop");
  const showLoop = () => { loopWords.textContent = state.loopA == null ? "no loop" :
    `loop ${state.loopA.toFixed(1)}–${state.loopB == null ? "…" : state.loopB.toFixed(1)} s`; };
  const weak = ui.weakest;
  const weakest = button("Loop my weakest moment", () => {
    state.loopA = Math.max(0, weak.teacher_start_s); state.loopB = weak.teacher_end_s;
    t.currentTime = state.loopA; setSpeed(WEAKEST_SPEED); showLoop();
    ui.status.textContent = `Your last report's weakest moment: ${weak.what} (${weak.body_part}).`;
  }, { disabled: !weak, title: weak ? weak.what : "score an attempt against this teacher first" });
  const start = button("Start", () => startCountdown(ui, state, record.checked, start, stop), { class: "primary", id: "start" });
  const stop = button("Stop", () => stopDancing(ui, state, dance, start, stop), { disabled: true, id: "stop" });
  // The teacher's video at its end stops her run too (and scores her recording).
  t.addEventListener("ended", () => { if (state.mode === "dancing") stop.click(); });
  return el("div", { class: "controls" },
    el("div", { class: "group" }, start, stop, el("label", {}, record, " record me")),
    el("div", { class: "group" }, mirror),
    el("div", { class: "group" }, "speed", ...speeds),
    el("div", { class: "group" }, button("A", () => { state.loopA = t.currentTime; state.loopB = null; showLoop(); }),
       button("B", () => { if (state.loopA != null && t.currentTime > state.loopA) state.loopB = t.currentTime; showLoop(); }),
       button("clear", () => { state.loopA = state.loopB = null; showLoop(); }), loopWords),
    el("div", { class: "group" }, weakest));
}

function startCountdown(ui, state, recording, start, stop) {
  state.mode = "countdown";
  start.disabled = true; stop.disabled = false;
  let count = 3;
  ui.count.textContent = count;
  state.timer = setInterval(() => {
    if (state.advice) return; // hold the count until the camera sees all of her
    count -= 1;
    ui.count.textContent = count || "";
    if (count > 0) return;
    clearInterval(state.timer);
    state.mode = "dancing";
    state.run += 1;
    ui.advice.hidden = true;
    ui.teacher.play();
    if (recording) startRecording(state);
    ui.status.textContent = "Dancing: press Stop when you are done.";
  }, 1000);
}

function startRecording(state) {
  state.chunks = [];
  state.recorder = new MediaRecorder(state.stream, { mimeType: "video/webm" });
  state.recorder.ondataavailable = (e) => e.data.size && state.chunks.push(e.data);
  state.recorder.start(1000);
}

function stopDancing(ui, state, dance, start, stop) {
  clearInterval(state.timer);
  ui.count.textContent = "";
  state.mode = "idle";
  ui.teacher.pause();
  start.disabled = false; stop.disabled = true;
  ui.status.textContent = `Stopped. Your running score was ${ui.score.textContent}.`;
  const recorder = state.recorder;
  state.recorder = null;
  if (!recorder) return;
  recorder.onstop = () => {
    const video = new Blob(state.chunks, { type: "video/webm" });
    const name = `practice-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-")}.webm`;
    const running = ui.score.textContent;
    ui.status.textContent += " Your recording is being scored as an attempt.";
    scoreAttempt(ui.results, dance, video, name).then((done) => {
      if (done) ui.status.textContent = `Your report scores ${done.score}; the running score was ${running}. ` +
        "The report puts your whole recording in step with the teacher at once and leaves out the still seconds at either end, so the two differ by a few points.";
    });
  };
  recorder.stop();
}
