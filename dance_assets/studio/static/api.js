// The studio's API, as the page uses it.

export async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// Send a file as the request body (the server streams it to disk), telling `onProgress`
// the share sent so far; resolves with the JSON answer, rejects with the server's words.
export function upload(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch { /* not JSON: say the status */ }
      if (request.status < 300) resolve(body);
      else reject(new Error(body.error || `the studio answered ${request.status}`));
    };
    request.onerror = () => reject(new Error("the studio did not answer: is it still running?"));
    request.send(file);
  });
}

// Wait for an attempt to be scored, telling `onStage` each stage; resolves with the job.
export async function followAttempt(id, onStage) {
  for (;;) {
    const job = await getJSON(`/api/attempts/${id}`);
    onStage(job);
    if (job.stage === "done" || job.stage === "refused") return job;
    await new Promise((r) => setTimeout(r, 700));
  }
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== false && value != null) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c != null));
  return node;
}
