// The dashboard's only script: follows a run's or a job's event stream and updates the page
// in place, follows a job's output, and sends the stop forms without leaving the page. Every
// page works without it (the forms post and redirect); this only makes them live. It also
// runs a remote access session's screen (`remoteScreen`), which needs it.
"use strict";

function setBadge(el, value) {
  if (!el) return;
  el.textContent = value;
  el.dataset.value = value;
}

function setText(el, value) {
  if (el && value !== undefined && value !== null) el.textContent = value;
}

function applyCard(card, job) {
  if (!card) return;
  card.dataset.status = job.status;
  card.dataset.result = job.result;
  setBadge(card.querySelector(".status"), job.status);
  setBadge(card.querySelector(".result"), job.result);
  const bar = card.querySelector("progress");
  if (bar) {
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    bar.textContent = job.done + " of " + job.total;
  }
  setText(card.querySelector(".done"), String(job.done));
  setText(card.querySelector(".total"), String(job.total));
  setText(card.querySelector(".minutes"), job.minutes);
  setText(card.querySelector(".message"), job.message || "");
  if (job.completed) card.querySelectorAll("form.stop-job").forEach((f) => f.remove());
}

// The header of a run page or a job page ("run" or "job"): its section, the facts
// `layout::facts` rendered with ids `{prefix}-status` and so on, its message, its stop form.
function applyHeader(prefix, state) {
  const section = document.getElementById(prefix);
  section.dataset.status = state.status;
  section.dataset.result = state.result;
  setBadge(document.getElementById(prefix + "-status"), state.status);
  setBadge(document.getElementById(prefix + "-result"), state.result);
  setText(document.getElementById(prefix + "-counters"), state.counters);
  setText(document.getElementById(prefix + "-minutes"), state.minutes);
  setText(document.getElementById(prefix + "-message"), state.message || "");
  if (state.completed) {
    const stop = document.getElementById("stop-" + prefix);
    if (stop) stop.remove();
  }
}

function applyRun(run) {
  applyHeader("run", run);
  for (const job of run.jobs) {
    applyCard(document.querySelector('article.job[data-job-arn="' + CSS.escape(job.arn) + '"]'), job);
  }
}

// Fragments rendered (and escaped) by the server from the same values as the first page.
function replaceWith(id, html) {
  const el = document.getElementById(id);
  if (!el || html === null || html === undefined) return;
  const parsed = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
  el.replaceChildren(...parsed.body.firstChild.childNodes);
}

function follow(section, name, apply) {
  if (!section || !section.dataset.events || section.dataset.status === "COMPLETED") return;
  const events = new EventSource(section.dataset.events);
  events.addEventListener(name, (e) => {
    const data = JSON.parse(e.data);
    apply(data);
    const done = name === "run" ? data.completed : data.job.completed;
    if (done) events.close();
  });
}

function followOutput(pre) {
  if (!pre || !pre.dataset.src || !window.fetch) return;
  fetch(pre.dataset.src, { credentials: "same-origin" }).then(async (response) => {
    if (!response.ok || !response.body) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(decoder.decode(value, { stream: true }));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    if (!pre.textContent) pre.textContent = "(no test spec output)";
    pre.dataset.ended = "true";
  }).catch(() => {});
}

function say(form, message) {
  let note = form.querySelector(".form-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "form-error";
    note.setAttribute("role", "alert");
    form.append(note);
  }
  note.textContent = message;
}

function sendStop(form) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
      });
      if (!response.ok) {
        say(form, (await response.text()).replace(/<[^>]*>/g, " ").trim().slice(0, 300) || "The stop was refused.");
        if (button) button.disabled = false;
        return;
      }
      const answer = await response.json();
      if (form.id === "stop-run") {
        setBadge(document.getElementById("run-status"), answer.status);
        document.getElementById("run").dataset.status = answer.status;
      } else if (form.id === "stop-job") {
        applyHeader("job", answer);
      } else {
        applyCard(form.closest("article.job"), answer);
      }
    } catch (err) {
      say(form, "The server could not be reached.");
      if (button) button.disabled = false;
    }
  });
}

// A remote access session's screen: pictures from the session's WebSocket drawn on the
// canvas (H.264 decoded by WebCodecs, or PNG), and the viewer's clicks, drags, keys and text
// sent back as input. Points are sent as fractions of the picture; the server maps them to
// the device's pixels. `window.farmhandRemote` counts what happened, for tests and benchmarks.
function remoteScreen(section) {
  const canvas = document.getElementById("screen");
  const draw = canvas ? canvas.getContext("2d") : null;
  const status = document.getElementById("remote-status");
  const stats = { painted: 0, acks: 0, refused: 0, sent: 0, paints: [], inputs: {}, codec: null, ended: false };
  window.farmhandRemote = stats;
  let decoder = null;
  let png = false;
  let waitingForKey = true;
  let seq = 0;
  let rotation = 0;
  const url = new URL(section.dataset.ws, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  // WebCodecs exists only in secure contexts (https, or http on localhost); elsewhere the
  // server sends the same pictures as fragmented MP4 for Media Source Extensions.
  const mse = !("VideoDecoder" in window) && "MediaSource" in window;
  if (mse) url.searchParams.set("format", "fmp4");
  let video = null;
  let buffer = null;
  const segments = [];
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const tell = (text) => { if (status) status.textContent = text; };

  function painted(timestamp) {
    stats.painted += 1;
    stats.paints.push([timestamp, performance.timeOrigin + performance.now()]);
    if (stats.paints.length > 2000) stats.paints.splice(0, 1000);
  }

  function paint(image, timestamp) {
    if (canvas.width !== image.displayWidth && image.displayWidth) {
      canvas.width = image.displayWidth;
      canvas.height = image.displayHeight;
    } else if (image.width && canvas.width !== image.width) {
      canvas.width = image.width;
      canvas.height = image.height;
    }
    draw.drawImage(image, 0, 0, canvas.width, canvas.height);
    painted(timestamp);
  }

  function appendNext() {
    if (!buffer || buffer.updating || !segments.length) return;
    buffer.appendBuffer(segments.shift());
  }

  // Plays fragmented MP4 in a <video> in the canvas's place, kept at the live edge.
  function playFragments(config) {
    if (!video) {
      video = document.createElement("video");
      video.id = "screen-video";
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      video.setAttribute("aria-label", canvas.getAttribute("aria-label"));
      video.tabIndex = 0;
      canvas.after(video);
      canvas.style.display = "none";
      const counted = (now, meta) => { painted(meta.mediaTime * 1000); video.requestVideoFrameCallback(counted); };
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(counted);
    }
    const source = new MediaSource();
    segments.length = 0;
    buffer = null;
    video.src = URL.createObjectURL(source);
    source.addEventListener("sourceopen", () => {
      buffer = source.addSourceBuffer('video/mp4; codecs="' + config.codec + '"');
      buffer.mode = "segments";
      buffer.addEventListener("updateend", () => {
        const ranges = buffer.buffered;
        if (ranges.length && ranges.end(ranges.length - 1) - video.currentTime > 0.3) {
          video.currentTime = ranges.end(ranges.length - 1) - 0.05;
        }
        video.play().catch(() => {});
        appendNext();
      });
      appendNext();
    });
  }

  function configure(config) {
    stats.codec = config.codec;
    stats.container = config.container;
    if (!canvas) return;
    canvas.width = config.width;
    canvas.height = config.height;
    waitingForKey = true;
    png = config.codec === "png";
    if (decoder && decoder.state !== "closed") decoder.close();
    decoder = null;
    if (config.container === "fmp4") { playFragments(config); return; }
    if (png) return;
    if (!("VideoDecoder" in window)) {
      tell("This browser can decode the device's H.264 stream neither with WebCodecs (which needs https, or http on localhost) nor with Media Source Extensions.");
      return;
    }
    decoder = new VideoDecoder({
      output: (frame) => { paint(frame, frame.timestamp / 1000); frame.close(); },
      error: (e) => tell("The screen could not be decoded: " + e.message),
    });
    decoder.configure({ codec: config.codec, optimizeForLatency: true });
  }

  function picture(bytes) {
    if (!canvas) return;
    if (bytes[0] === 2) { segments.push(bytes.subarray(9)); appendNext(); return; }
    const key = (bytes[0] & 1) === 1;
    const at = Number(new DataView(bytes.buffer, bytes.byteOffset + 1, 8).getBigUint64(0));
    const data = bytes.subarray(9);
    if (png) {
      createImageBitmap(new Blob([data], { type: "image/png" })).then((image) => { paint(image, at); image.close(); });
      return;
    }
    if (!decoder || decoder.state !== "configured") return;
    if (waitingForKey && !key) return;
    waitingForKey = false;
    decoder.decode(new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp: at * 1000, data }));
  }

  function ended(message) {
    stats.ended = true;
    tell(message || "The session has ended.");
    section.dataset.ended = "true";
    section.querySelectorAll("button, input").forEach((el) => { el.disabled = true; });
    if (document.getElementById("stop-session")) setTimeout(() => location.reload(), 800);
  }

  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string") { picture(new Uint8Array(e.data)); return; }
    const m = JSON.parse(e.data);
    if (m.type === "hello") {
      rotation = m.rotation || 0;
      setBadge(document.querySelector("#session-status .badge"), "RUNNING");
      section.dataset.mode = m.mode;
      tell("Connected to " + m.device.name + (m.mode === "VIDEO_ONLY" ? " (view only)" : ""));
    } else if (m.type === "status") {
      tell("The session is " + m.status + "…");
      setBadge(document.querySelector("#session-status .badge"), m.status);
    }
    else if (m.type === "config") configure(m);
    else if (m.type === "ack") { stats.acks += 1; stats.inputs[m.seq] = { ...(stats.inputs[m.seq] || {}), acked: performance.now() }; }
    else if (m.type === "refused") { stats.refused += 1; tell("Refused: " + m.message); }
    else if (m.type === "ended") ended(m.message);
  });
  ws.addEventListener("close", () => { if (!stats.ended) tell("Disconnected from the device."); });

  // `event` is the browser event the input comes from: its time is when the person acted.
  function send(input, event) {
    if (ws.readyState !== WebSocket.OPEN) return;
    seq += 1;
    stats.sent += 1;
    const acted = performance.timeOrigin + (event ? event.timeStamp : performance.now());
    stats.inputs[seq] = { sent: performance.now(), acted, input };
    ws.send(JSON.stringify({ op: "input", seq, input }));
  }

  if (canvas) {
    let down = null;
    const wrap = canvas.parentElement;
    const surface = () => (video ? video : canvas);
    const point = (e) => {
      const box = surface().getBoundingClientRect();
      const clamp = (v) => Math.min(1, Math.max(0, v));
      return { x: clamp((e.clientX - box.left) / box.width), y: clamp((e.clientY - box.top) / box.height) };
    };
    wrap.addEventListener("pointerdown", (e) => {
      surface().focus();
      wrap.setPointerCapture(e.pointerId);
      down = { ...point(e), at: performance.now() };
    });
    wrap.addEventListener("pointerup", (e) => {
      if (!down) return;
      const up = point(e);
      const ms = Math.round(performance.now() - down.at);
      const moved = Math.hypot(up.x - down.x, up.y - down.y) > 0.02;
      if (moved) send({ type: "swipe", x1: down.x, y1: down.y, x2: up.x, y2: up.y, ms: Math.min(Math.max(ms, 50), 10000) }, e);
      else if (ms >= 500) send({ type: "long_press", x: down.x, y: down.y, ms: Math.min(ms, 10000) }, e);
      else send({ type: "tap", x: down.x, y: down.y }, e);
      down = null;
    });
    wrap.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const keys = { Enter: "enter", Backspace: "delete", Escape: "back", Home: "home" };
      if (keys[e.key]) send({ type: "key", key: keys[e.key] }, e);
      else if (e.key.length === 1 && e.key >= " " && e.key <= "~") send({ type: "text", text: e.key }, e);
      else return;
      e.preventDefault();
    });
  }
  section.querySelectorAll("button[data-key]").forEach((b) => b.addEventListener("click", () => send({ type: "key", key: b.dataset.key })));
  const rotate = document.getElementById("rotate");
  if (rotate) rotate.addEventListener("click", () => { rotation = (rotation + 90) % 360; send({ type: "rotate", rotation: String(rotation) }); });
  const form = document.getElementById("remote-text");
  if (form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const field = document.getElementById("remote-text-input");
      if (field.value) send({ type: "text", text: field.value });
      field.value = "";
    });
  }
  const stop = document.getElementById("remote-stop");
  if (stop && !document.getElementById("stop-session")) {
    stop.addEventListener("click", () => { stop.disabled = true; ws.send(JSON.stringify({ op: "stop" })); tell("Stopping…"); });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const remote = document.getElementById("remote");
  if (remote) remoteScreen(remote);
  follow(document.getElementById("run"), "run", applyRun);
  follow(document.getElementById("job"), "job", (data) => {
    applyHeader("job", data.job);
    replaceWith("suites", data.suites_html);
    replaceWith("artifacts", data.artifacts_html);
  });
  followOutput(document.getElementById("output"));
  document.querySelectorAll("form.stop-job, form#stop-run, form#stop-job").forEach(sendStop);
});
