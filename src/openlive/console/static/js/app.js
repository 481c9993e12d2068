// The console page: wires the connect panel, the Live connection, media and the panels.
// Test hooks: window.openliveConsole.{state, stats, latency, seen} (read-only use).

import { credentials, isOwnServer } from "./auth.js";
import { bytesToBase64 } from "./base64.js";
import { EventLog } from "./event-log.js";
import { Latency } from "./latency.js";
import { LiveClient, liveUrl } from "./live-client.js";
import { Mic } from "./mic.js";
import { Player } from "./player.js";
import { SeenPanel } from "./seen.js";
import { buildSetup, clearSettings, DEFAULTS, fillForm, loadSettings, readForm,
         saveSettings, VOICES } from "./settings.js";
import { ToolCalls } from "./tool-calls.js";
import { Transcript } from "./transcript.js";
import { VideoSource } from "./video.js";

const $ = (id) => document.getElementById(id);
const form = $("settings");
const transcript = new Transcript($("transcript"));
const log = new EventLog($("event-log"));
const latency = new Latency($("latency-list"), $("latency-chart"), $("latency-legend"));
const player = new Player();
const mic = new Mic();
const video = new VideoSource($("preview"), sendFrame);
const tools = new ToolCalls($("tool-calls"), (response) =>
  send({ toolResponse: { functionResponses: [response] } }));

const stats = { sentAudioChunks: 0, sentAudioMs: 0, sentFrames: 0, messagesIn: 0,
                messagesOut: 0, interruptions: 0, reconnects: 0, playback: player.stats };
const view = { state: "idle", detail: "", stats, latency: latency.values, close: null,
               seen: null };
window.openliveConsole = view;
const seen = new SeenPanel($("seen"), view);

let client = null;
let wanted = false; // the user wants a connection (false after Disconnect)
let handle = null; // latest resumption handle
let lastCreds = null; // the credential of the connection being resumed
let resumable = false; // no model turn running: the server's latest update had a handle
let goAway = false;
let retries = 0;
let everLive = false; // this connection got setupComplete (a 1006 before it: never reached)
let serverInfo = null; // GET /console/info of the page's own server
let settings = loadSettings();

// ---- state and errors -------------------------------------------------------------------

function setState(state, detail = "") {
  view.state = state;
  view.detail = detail;
  const badge = $("state");
  badge.textContent = state;
  badge.className = `badge ${state}`;
  badge.dataset.state = state;
  $("state-detail").textContent = detail;
  const live = state === "live";
  $("connect").disabled = state === "connecting" || state === "reconnecting" || live;
  $("disconnect").disabled = state === "idle" || state === "closed";
  for (const id of ["mic", "camera", "screen"]) $(id).disabled = !live;
  $("ptt").disabled = !live;
  if (!live) {
    $("ptt").setAttribute("aria-pressed", "false");
    $("ptt").classList.remove("on");
  }
  for (const el of $("chat").elements) el.disabled = !live;
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

// ---- connection ---------------------------------------------------------------------------

async function connect(resuming = false) {
  settings = readForm(form);
  saveSettings(settings);
  let setup;
  try {
    setup = buildSetup(settings, resuming ? handle : null);
  } catch (error) {
    showError(error.message);
    return;
  }
  showError("");
  wanted = true;
  goAway = false;
  resumable = false;
  setState(resuming ? "reconnecting" : "connecting", resuming ? `attempt ${retries}` : "");
  try {
    await player.start();
    // Resuming uses the same credential: a console token stays valid for resumption.
    const creds = resuming && lastCreds ? lastCreds
      : await credentials(settings.url, settings.credential);
    lastCreds = creds;
    const url = liveUrl(settings.url || location.href, creds);
    if (!wanted) return;
    $("auth-hint").textContent = `authenticated with: ${creds.source}`;
    everLive = false;
    seen.reset();
    client = new LiveClient();
    client.addEventListener("sent", (e) => onSent(e.detail));
    client.addEventListener("message", (e) => onMessage(e.detail));
    client.addEventListener("fault", (e) => log.add("in", { notJson: e.detail }, "not JSON"));
    client.addEventListener("close", (e) => onClose(e.target, e.detail));
    client.connect(url, setup);
  } catch (error) {
    wanted = false;
    setState("closed", "could not connect");
    showError(error.message);
  }
}

function disconnect() {
  wanted = false;
  stopMedia();
  if (client) client.close(1000, "closed by the user");
  else setState("closed", "");
}

function onClose(which, { code, reason }) {
  if (which !== client) return;
  client = null;
  seen.reset();
  view.close = { code, reason };
  log.add("in", { close: { code, reason } }, `close ${code}`);
  const dropped = code === 1006 || code === 1001 || goAway ||
    (code === 1011 && /deadline expired/i.test(reason));
  if (wanted && settings.resume && handle && dropped && retries < 3) {
    retries += 1;
    stats.reconnects += 1;
    setState("reconnecting", `attempt ${retries}`);
    transcript.note(`connection closed (${code}); resuming the session…`);
    setTimeout(() => connect(true), 300 * retries);
    return;
  }
  stopMedia();
  const text = `${code}${reason ? ` ${reason}` : ""}`;
  setState("closed", text);
  if (wanted && code !== 1000) {
    showError(code === 1006 && !everLive ? unreachable(settings.url) : `Closed with code ${text}`);
    transcript.note(`closed: ${text}`, "error");
  }
  wanted = false;
}

function send(message) {
  return client !== null && client.send(message);
}

function onSent(message) {
  stats.messagesOut += 1;
  log.add("out", message);
}

function onMessage(message) {
  stats.messagesIn += 1;
  log.add("in", message);
  if (message.setupComplete) {
    retries = 0;
    everLive = true;
    setState("live", settings.modality);
  }
  if (message.serverContent) onServerContent(message.serverContent);
  if (message.toolCall) tools.show(message.toolCall.functionCalls);
  if (message.toolCallCancellation) tools.cancel(message.toolCallCancellation.ids);
  if (message.sessionResumptionUpdate) {
    const update = message.sessionResumptionUpdate;
    resumable = Boolean(update.resumable && update.newHandle);
    if (resumable) handle = update.newHandle;
    if (goAway && resumable) reconnectNow(); // the turn running at goAway has ended
  }
  if (message.goAway) {
    goAway = true;
    transcript.note(`the server will close this connection in ${message.goAway.timeLeft || "?"}`);
    // Move now if no turn is running; else at the next handle (after the reply), so the
    // reply is not lost. If none comes in time, the server's close resumes the session.
    if (resumable) reconnectNow();
  }
}

function reconnectNow() {
  if (settings.resume && handle && client) client.close(1000, "reconnecting after goAway");
}

function onServerContent(content) {
  if (content.inputTranscription && content.inputTranscription.text) {
    transcript.add("user", content.inputTranscription.text, "speech");
  }
  if (content.inputTranscription && content.inputTranscription.finished) {
    transcript.end("user");
    latency.heard(); // splits the spoken turn's latency into hearing + answer
  }
  for (const part of (content.modelTurn && content.modelTurn.parts) || []) {
    const data = part.inlineData;
    if (data && data.data && (data.mimeType || "").startsWith("audio/pcm")) {
      latency.replyStarted(true);
      const rate = Number((/rate=(\d+)/.exec(data.mimeType) || [])[1] || 24000);
      player.play(data.data, rate);
    } else if (part.text && !part.thought) {
      latency.replyStarted(false);
      transcript.end("user");
      transcript.add("model", part.text, "text");
    }
  }
  if (content.outputTranscription && content.outputTranscription.text) {
    transcript.end("user");
    transcript.add("model", content.outputTranscription.text, "transcription");
  }
  if (content.interrupted) {
    player.flush();
    stats.interruptions += 1;
    transcript.end("model", "interrupted");
    latency.turnEnded();
  }
  if (content.turnComplete) {
    transcript.end("model");
    latency.turnEnded();
  }
}

// ---- media and chat -----------------------------------------------------------------------

// A Live connection that closed with 1006 (no close frame) before setupComplete never
// reached a Live server: say what to check, not just the code.
function unreachable(url) {
  let where = url || location.href;
  try {
    where = new URL(where, location.href).host;
  } catch {
    // keep what was typed
  }
  return `Could not open a Live connection to ${where} (1006: the connection failed before ` +
    "the server answered). Check the server URL (host, port, and http or https), that " +
    "openlive serve is running there, and, for https, that this browser trusts its " +
    "certificate (open the URL in a tab once).";
}

async function toggleMic() {
  if (!mic.running && serverInfo && !serverInfo.hearsAudio) {
    transcript.note("this server does not listen to audio: your speech is ignored", "error");
  }
  if (mic.running) {
    mic.stop();
    // audioStreamEnd is for automatic activity detection; push-to-talk ends with activityEnd
    if (settings.vad) send({ realtimeInput: { audioStreamEnd: true } });
    $("mic").classList.remove("on");
    $("mic-level").value = 0;
    return;
  }
  try {
    const rate = await mic.start();
    $("mic").classList.add("on");
    $("media-status").textContent = `mic at ${rate} Hz → 16 kHz PCM16`;
  } catch (error) {
    showError(`Microphone: ${error.message}`);
  }
}

mic.addEventListener("chunk", (event) => {
  const { pcm, rms } = event.detail;
  $("mic-level").value = Math.min(1, rms * 5);
  latency.level(rms);
  const data = bytesToBase64(new Uint8Array(pcm));
  if (send({ realtimeInput: { audio: { mimeType: "audio/pcm;rate=16000", data } } })) {
    stats.sentAudioChunks += 1;
    stats.sentAudioMs += pcm.byteLength / 32;
  }
});

async function toggleVideo(kind) {
  if (video.kind === kind) {
    video.stop();
  } else {
    try {
      await video.start(kind);
    } catch (error) {
      showError(`${kind === "screen" ? "Screen sharing" : "Camera"}: ${error.message}`);
    }
  }
  $("camera").classList.toggle("on", video.kind === "camera");
  $("screen").classList.toggle("on", video.kind === "screen");
}

// Hold to talk (automatic activity detection off): activityStart while held, then
// activityEnd; the pointer is captured so letting go anywhere ends the activity.
function pushToTalk(event) {
  const button = $("ptt");
  if (button.getAttribute("aria-pressed") === "true") return;
  if (event.pointerId !== undefined) button.setPointerCapture(event.pointerId);
  if (send({ realtimeInput: { activityStart: {} } })) {
    button.setAttribute("aria-pressed", "true");
    button.classList.add("on");
  }
}

function releaseToTalk() {
  const button = $("ptt");
  if (button.getAttribute("aria-pressed") !== "true") return;
  button.setAttribute("aria-pressed", "false");
  button.classList.remove("on");
  send({ realtimeInput: { activityEnd: {} } });
}

function sendFrame(jpeg) {
  if (send({ realtimeInput: { video: { mimeType: "image/jpeg", data: bytesToBase64(jpeg) } } })) {
    stats.sentFrames += 1;
    seen.sent(jpeg, isOwnServer(settings.url));
  }
}

function stopMedia() {
  if (mic.running) mic.stop();
  video.stop();
  $("mic").classList.remove("on");
  $("camera").classList.remove("on");
  $("screen").classList.remove("on");
}

function sendText(event) {
  event.preventDefault();
  const input = $("chat").elements.namedItem("text");
  const text = input.value.trim();
  if (!text) return;
  const turns = [{ role: "user", parts: [{ text }] }];
  if (send({ clientContent: { turns, turnComplete: true } })) {
    transcript.end("user");
    transcript.add("user", text, "typed");
    transcript.end("user");
    latency.textSent();
    input.value = "";
  }
}

// ---- page set-up --------------------------------------------------------------------------

function updateVadControls() {
  const vad = form.elements.namedItem("vad").checked;
  $("ptt").hidden = vad;
}

// What the page's own server is: open, giving console tokens, hearing audio.
async function describeServer() {
  if (!isOwnServer(form.elements.namedItem("url").value)) return;
  try {
    const response = await fetch("/console/info", { cache: "no-store" });
    serverInfo = await response.json();
  } catch {
    return; // an older server: the generic hints stay
  }
  if (serverInfo.open) {
    $("auth-hint").textContent = "This server is open: no API key or token is needed.";
  } else if (!serverInfo.tokens) {
    $("auth-hint").textContent =
      "Enter an API key or an ephemeral token: this server gives the console no token.";
  }
  const hint = $("server-hint");
  hint.hidden = serverInfo.hearsAudio;
  hint.textContent = serverInfo.hearsAudio ? "" :
    "This server does not listen to audio (its speech models are not installed or are " +
    "switched off): type your messages, or start it with its speech stages (make serve, " +
    "or pip install 'openlive[local]').";
}

async function listModels() {
  if (!isOwnServer(form.elements.namedItem("url").value)) return;
  try {
    const response = await fetch("/console/models");  // /v1beta/models needs a key
    const body = await response.json();
    const names = body.models || [];
    $("models").replaceChildren(...names.map((name) => new Option(name)));
  } catch {
    // a server without a model list: the field stays free text
  }
}

function setUp() {
  $("settings").elements.namedItem("voice").replaceChildren(
    ...VOICES.map((name) => new Option(name)));
  fillForm(form, settings);
  updateVadControls();
  const own = isOwnServer(settings.url);
  $("auth-hint").textContent = own
    ? "Leave empty on this machine: the page gets a one-time token from the server."
    : "Enter an API key or an ephemeral token for this server.";
  form.addEventListener("change", () => {
    updateVadControls();
    saveSettings(readForm(form));
  });
  $("reset-settings").addEventListener("click", () => {
    clearSettings();
    fillForm(form, DEFAULTS);
    updateVadControls();
  });
  $("connect").addEventListener("click", () => {
    retries = 0;
    handle = null;
    connect(false);
  });
  $("disconnect").addEventListener("click", disconnect);
  $("mic").addEventListener("click", toggleMic);
  $("camera").addEventListener("click", () => toggleVideo("camera"));
  $("screen").addEventListener("click", () => toggleVideo("screen"));
  $("ptt").addEventListener("pointerdown", pushToTalk);
  $("ptt").addEventListener("pointerup", releaseToTalk);
  $("ptt").addEventListener("pointercancel", releaseToTalk);
  $("chat").addEventListener("submit", sendText);
  $("clear-log").addEventListener("click", () => log.clear());
  setState("idle");
  listModels();
  describeServer();
  latency.draw();
  $("latency-label").textContent = "end of speech (page estimate) → first reply; with " +
    "input transcription: hearing (→ final transcript) + answer (→ first reply)";
}

setUp();
