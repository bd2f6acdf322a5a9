// natiq web page: speaks through the same public API any client uses.
// The API key (when the server asks for one) is kept in sessionStorage and
// sent as a Bearer header (or a WebSocket subprotocol); nothing else is stored.
//
// Speech comes over the WebSocket /v1/stream: each PCM chunk is scheduled in
// a Web Audio context as it arrives, so playback starts while the rest is
// still being generated; word events (timings) highlight the word being
// heard. When the stream ends the same samples become a WAV file for the
// player (replay, with highlighting) and the download link.
"use strict";

const $ = (id) => document.getElementById(id);
let lastUrl = null;
let live = null; // the generation being played: {context, startedAt, words}
// false once the server said it cannot time words (code "timings_unavailable"): the page
// then speaks without the highlight instead of failing every time
let timingsAvailable = true;
const NO_TIMINGS = "توقيت الكلمات غير متاح على هذا الخادم؛ يُنطق النص بلا تظليل للكلمات.";

function apiKey() {
  return sessionStorage.getItem("natiq-api-key") || "";
}

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function setStatus(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

async function errorText(response) {
  if (response.status === 401) return "المفتاح مفقود أو غير صحيح.";
  if (response.status === 429) return "الخادم مشغول الآن، حاول بعد لحظات.";
  if (response.status === 413) return "الملف أو النص أكبر من الحد المسموح.";
  try {
    const body = await response.json();
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
    return `خطأ ${response.status}: ${detail}`;
  } catch {
    return `خطأ ${response.status}`;
  }
}

// 16-bit mono WAV with exact sizes, from PCM16 bytes.
function wavFile(pcmChunks, sampleRate) {
  const size = pcmChunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, value) => [...value].forEach((c, i) => header.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + size, true);
  text(8, "WAVEfmt ");
  header.setUint32(16, 16, true);
  header.setUint16(20, 1, true);
  header.setUint16(22, 1, true);
  header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * 2, true);
  header.setUint16(32, 2, true);
  header.setUint16(34, 16, true);
  text(36, "data");
  header.setUint32(40, size, true);
  return new Blob([header.buffer, ...pcmChunks], { type: "audio/wav" });
}

function pcmToFloat(bytes) {
  const ints = new Int16Array(bytes);
  const floats = new Float32Array(ints.length);
  for (let i = 0; i < ints.length; i++) floats[i] = ints[i] / 32768;
  return floats;
}

async function loadVoices(selectId) {
  const response = await fetch("/v1/voices", { headers: headers() });
  if (!response.ok) {
    setStatus(await errorText(response), true);
    return;
  }
  const body = await response.json();
  const select = $("voice");
  select.replaceChildren();
  if (body.default_voice) select.append(new Option("الصوت الافتراضي", ""));
  for (const voice of body.voices) {
    select.append(new Option(`${voice.name} (${voice.duration.toFixed(1)} ث)`, voice.id));
  }
  if (!select.options.length) {
    select.append(new Option("لا توجد أصوات — أضف صوتًا من الأسفل", ""));
    $("upload-section").open = true;
  }
  if (selectId) select.value = selectId;
}

async function init() {
  const health = await (await fetch("/health")).json();
  $("text").maxLength = health.max_text_chars;
  if (health.auth) {
    $("key-section").hidden = false;
    $("api-key").value = apiKey();
    if (!apiKey()) {
      setStatus("أدخل مفتاح الخدمة أولًا.");
      $("api-key").focus();
      return;
    }
  }
  await loadVoices();
}

// ----- words highlighted as they are heard
function addWord(word) {
  const span = document.createElement("span");
  span.className = "word";
  span.textContent = word.text;
  span.dataset.start = word.start;
  span.dataset.end = word.end;
  $("words").append(span, " ");
}

function highlightAt(seconds) {
  let current = -1;
  const spans = $("words").querySelectorAll(".word");
  spans.forEach((span, index) => {
    const on = Number(span.dataset.start) <= seconds && seconds < Number(span.dataset.end);
    span.classList.toggle("current", on);
    if (on) current = index;
  });
  // the last word heard stays marked (in a pause, too) until the next one starts
  if (current >= 0 && $("words").dataset.current !== String(current)) {
    $("words").dataset.current = String(current);
  }
}

function followLive() {
  if (!live || live.startedAt === null) return;
  highlightAt(live.context.currentTime - live.startedAt);
  if (live.context.currentTime < live.endsAt + 0.1 || !live.ended) requestAnimationFrame(followLive);
}

function followPlayer() {
  const player = $("player");
  highlightAt(player.currentTime);
  if (!player.paused && !player.ended) requestAnimationFrame(followPlayer);
}

// ----- speaking over the WebSocket
function streamUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`;
}

function generate(event) {
  event.preventDefault();
  speak();
}

function speak() {
  const text = $("text").value.trim();
  if (!text) {
    setStatus("اكتب نصًا أولًا.", true);
    $("text").focus();
    return;
  }
  const button = $("generate");
  button.disabled = true;
  setStatus("جارٍ التوليد…");
  $("player").pause();
  $("words").replaceChildren();
  delete $("words").dataset.current;
  const progress = $("progress");
  delete progress.dataset.firstAudioMs;
  delete progress.dataset.endMs;
  if (live) live.context.close();
  // created inside the click or key press, so the browser lets it play
  live = { context: new AudioContext(), startedAt: null, endsAt: 0, ended: false, pcm: [], rate: 24000 };
  const current = live;
  const started = performance.now();
  const key = apiKey();
  const socket = new WebSocket(streamUrl(), key ? ["natiq", `bearer.${key}`] : ["natiq"]);
  socket.binaryType = "arraybuffer";
  const finish = () => {
    button.disabled = false;
  };
  socket.onopen = () => {
    socket.send(
      JSON.stringify({
        text,
        voice: $("voice").value || null,
        speed: Number($("speed").value),
        timings: timingsAvailable,
      }),
    );
  };
  socket.onmessage = (message) => {
    if (typeof message.data !== "string") {
      playChunk(current, message.data, started);
      return;
    }
    const event = JSON.parse(message.data);
    if (event.type === "start") {
      current.rate = event.sample_rate;
    } else if (event.type === "word") {
      addWord(event);
    } else if (event.type === "end") {
      current.ended = true;
      progress.dataset.endMs = String(Math.round(performance.now() - started));
      socket.close();
      finished(current, event, started);
      finish();
    } else if (event.type === "error" && event.code === "timings_unavailable" && timingsAvailable) {
      // the speech itself can be made: ask again, without word timings
      timingsAvailable = false;
      socket.close();
      current.ended = true;
      finish();
      speak();
    } else if (event.type === "error") {
      setStatus(`خطأ ${event.status}: ${event.detail}`, true);
      socket.close();
      finish();
    }
  };
  socket.onerror = () => {
    setStatus("تعذّر الاتصال بالخادم.", true);
    finish();
  };
}

function playChunk(current, bytes, started) {
  current.pcm.push(bytes);
  const samples = pcmToFloat(bytes);
  if (!samples.length) return;
  const context = current.context;
  const buffer = context.createBuffer(1, samples.length, current.rate);
  buffer.copyToChannel(samples, 0);
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(context.destination);
  if (current.startedAt === null) {
    current.startedAt = context.currentTime + 0.05;
    current.endsAt = current.startedAt;
    $("progress").dataset.firstAudioMs = String(Math.round(performance.now() - started));
    setStatus("يُشغَّل الصوت أثناء توليده…");
    requestAnimationFrame(followLive);
  }
  const at = Math.max(current.endsAt, context.currentTime);
  source.start(at);
  current.endsAt = at + buffer.duration;
}

function finished(current, end, started) {
  const blob = wavFile(current.pcm, current.rate);
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  lastUrl = URL.createObjectURL(blob);
  $("player").src = lastUrl;
  const link = $("download");
  link.href = lastUrl;
  link.download = "natiq.wav";
  link.hidden = false;
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const audio = (end.timings.audio_s || 0).toFixed(2);
  $("timing").textContent = `${audio} ثانية من الصوت في ${seconds} ثانية.`;
  setStatus(`جاهز. اضغط تشغيل للاستماع مرة أخرى.${timingsAvailable ? "" : ` ${NO_TIMINGS}`}`);
}

// ----- voices: a file, or a recording from the microphone
async function uploadClip(file) {
  const form = new FormData();
  form.append("file", file);
  if ($("voice-text").value.trim()) form.append("text", $("voice-text").value.trim());
  if ($("voice-name").value.trim()) form.append("name", $("voice-name").value.trim());
  $("upload").disabled = true;
  setStatus("جارٍ رفع الصوت…");
  try {
    const response = await fetch("/v1/voices", { method: "POST", headers: headers(), body: form });
    if (!response.ok) {
      setStatus(await errorText(response), true);
      return;
    }
    const voice = await response.json();
    await loadVoices(voice.id);
    setStatus(`أضيف الصوت «${voice.name}».`);
    $("text").focus();
  } finally {
    $("upload").disabled = false;
  }
}

async function uploadVoice(event) {
  event.preventDefault();
  const file = $("voice-file").files[0];
  if (!file) {
    setStatus("اختر ملف تسجيل أو سجّل صوتك.", true);
    return;
  }
  await uploadClip(file);
}

// The browser records compressed audio (WebM/Opus in Chromium); it is
// decoded here and sent as a plain WAV, a format the server reads anyway.
let recorder = null;

async function toggleRecording() {
  const button = $("record");
  if (recorder) {
    recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setStatus(`لا يمكن استخدام الميكروفون: ${error.message || error}`, true);
    return;
  }
  const pieces = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => pieces.push(event.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((track) => track.stop());
    recorder = null;
    button.textContent = "سجّل من الميكروفون";
    button.setAttribute("aria-pressed", "false");
    try {
      const recorded = new Blob(pieces, { type: pieces[0]?.type || "audio/webm" });
      const context = new AudioContext();
      const decoded = await context.decodeAudioData(await recorded.arrayBuffer());
      context.close();
      const samples = decoded.getChannelData(0);
      const pcm = new Int16Array(samples.length);
      for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-1, Math.min(1, samples[i])) * 32767;
      const wav = wavFile([pcm.buffer], decoded.sampleRate);
      await uploadClip(new File([wav], "recording.wav", { type: "audio/wav" }));
    } catch (error) {
      setStatus(`تعذّر قراءة التسجيل: ${error.message || error}`, true);
    }
  };
  recorder.start();
  button.textContent = "أوقف التسجيل وأضف الصوت";
  button.setAttribute("aria-pressed", "true");
  setStatus("جارٍ التسجيل… تكلّم ثم اضغط «أوقف التسجيل».");
}

document.addEventListener("DOMContentLoaded", () => {
  $("speak-form").addEventListener("submit", generate);
  $("voice-form").addEventListener("submit", uploadVoice);
  $("record").addEventListener("click", toggleRecording);
  $("text").addEventListener("input", () => {
    $("char-count").textContent = String($("text").value.length);
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("speak-form").requestSubmit();
  });
  $("speed").addEventListener("input", () => {
    $("speed-value").textContent = `${Number($("speed").value).toFixed(2)}×`;
  });
  $("player").addEventListener("play", () => requestAnimationFrame(followPlayer));
  $("key-section").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem("natiq-api-key", $("api-key").value.trim());
    setStatus("حُفظ المفتاح.");
    await loadVoices();
  });
  init().catch((error) => setStatus(`تعذّر تحميل الصفحة: ${error}`, true));
});
