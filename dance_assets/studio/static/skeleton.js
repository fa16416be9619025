// Her skeleton over the camera frame it was found in: each bone in its body part's
// colour, on a dark outline (legible on any clothes), as the report's video draws it.

const OUTLINE = "#141414";
const NOT_COMPARED = "#f0f0f0"; // before she dances: the report's neutral colour
const SEEN = 0.35; // MediaPipe's visibility under which a landmark is not drawn (movement.UNSEEN)

export function drawSkeleton(canvas, frame, landmarks, bones, colours) {
  const context = canvas.getContext("2d");
  context.drawImage(frame, 0, 0, canvas.width, canvas.height);
  if (!landmarks) return;
  const w = canvas.width, h = canvas.height;
  const at = (i) => [landmarks[i][0] * w, landmarks[i][1] * h];
  const seen = (i) => landmarks[i][2] >= SEEN;
  const lines = bones.filter(([a, b]) => seen(a) && seen(b)).map(([a, b, part]) => [at(a), at(b), part]);
  if (seen(0) && seen(11) && seen(12)) {
    const neck = [(at(11)[0] + at(12)[0]) / 2, (at(11)[1] + at(12)[1]) / 2];
    lines.push([neck, at(0), "head"]);
  }
  const width = Math.max(3, Math.round(h / 110));
  context.lineCap = "round";
  for (const [outline, extra] of [[true, 3], [false, 0]]) {
    for (const [start, end, part] of lines) {
      context.strokeStyle = outline ? OUTLINE : (colours ? colours[part] : NOT_COMPARED);
      context.lineWidth = width + extra;
      context.beginPath();
      context.moveTo(...start);
      context.lineTo(...end);
      context.stroke();
    }
  }
}
