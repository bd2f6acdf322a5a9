// natiq web page: speaks through the same public API any client uses.
// The API key (when the server asks for one) is kept in sessionStorage and
// sent as a Bearer header; nothing else is stored.
"use strict";

const $ = (id) => document.getElementById(id);
const FORMAT_NAMES = { wav: "WAV", mp3: "MP3", flac: "FLAC" };
let lastUrl = null;

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

// A streamed wav says "unknown length" in its header; once the whole file is
// here, write the real sizes so players show the duration and downloads are
// ordinary wav files.
function withExactWavSizes(buffer, format) {
  const type = format === "wav" ? "audio/wav" : format === "mp3" ? "audio/mpeg" : `audio/${format}`;
  if (format === "wav" && buffer.byteLength >= 44) {
    const view = new DataView(buffer);
    if (view.getUint32(40, true) === 0xffffffff) {
      view.setUint32(4, buffer.byteLength - 8, true);
      view.setUint32(40, buffer.byteLength - 44, true);
    }
  }
  return new Blob([buffer], { type });
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
  $("format").replaceChildren(
    ...health.formats.filter((f) => f in FORMAT_NAMES).map((f) => new Option(FORMAT_NAMES[f], f)),
  );
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

async function generate(event) {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) {
    setStatus("اكتب نصًا أولًا.", true);
    $("text").focus();
    return;
  }
  const format = $("format").value || "wav";
  const button = $("generate");
  button.disabled = true;
  setStatus("جارٍ التوليد…");
  const started = performance.now();
  try {
    const response = await fetch("/v1/audio/speech", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ model: "natiq", input: text, voice: $("voice").value || null, response_format: format }),
    });
    if (!response.ok) {
      setStatus(await errorText(response), true);
      return;
    }
    const blob = withExactWavSizes(await response.arrayBuffer(), format);
    if (lastUrl) URL.revokeObjectURL(lastUrl);
    lastUrl = URL.createObjectURL(blob);
    const player = $("player");
    player.src = lastUrl;
    const link = $("download");
    link.href = lastUrl;
    link.download = `natiq.${format}`;
    link.hidden = false;
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    $("timing").textContent = `استغرق التوليد ${seconds} ثانية.`;
    setStatus("جاهز. اضغط تشغيل للاستماع.");
    player.play().catch(() => {});
  } catch (error) {
    setStatus(`تعذّر الاتصال بالخادم: ${error}`, true);
  } finally {
    button.disabled = false;
  }
}

async function uploadVoice(event) {
  event.preventDefault();
  const form = new FormData();
  const file = $("voice-file").files[0];
  if (!file) {
    setStatus("اختر ملف تسجيل.", true);
    return;
  }
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

document.addEventListener("DOMContentLoaded", () => {
  $("speak-form").addEventListener("submit", generate);
  $("voice-form").addEventListener("submit", uploadVoice);
  $("text").addEventListener("input", () => {
    $("char-count").textContent = String($("text").value.length);
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("speak-form").requestSubmit();
  });
  $("key-section").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem("natiq-api-key", $("api-key").value.trim());
    setStatus("حُفظ المفتاح.");
    await loadVoices();
  });
  init().catch((error) => setStatus(`تعذّر تحميل الصفحة: ${error}`, true));
});
