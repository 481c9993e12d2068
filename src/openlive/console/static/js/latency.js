// Per-turn latency, measured in the page: for a spoken turn, from the last microphone chunk
// louder than SPEECH_RMS (the page's own estimate of the end of speech) to the first reply
// audio received; for a typed turn, from sending the text to the first reply received.

const SPEECH_RMS = 0.01; // about -40 dBFS
const SHOWN = 30;

export class Latency {
  constructor(list, canvas) {
    this.list = list;
    this.canvas = canvas;
    this.values = []; // {ms, kind}
    this.lastSpeech = 0;
    this.lastText = 0;
    this.turnStart = 0; // when the current model turn began (0: none open)
    this.lastMeasured = 0;
  }

  level(rms) {
    if (rms >= SPEECH_RMS) this.lastSpeech = performance.now();
  }

  textSent() {
    this.lastText = performance.now();
  }

  // The first reply output of a model turn; `audio`: whether it is audio.
  replyStarted(audio) {
    if (this.turnStart) return;
    const now = (this.turnStart = performance.now());
    const since = Math.max(this.lastSpeech, this.lastText);
    if (!since || since <= this.lastMeasured) return;
    this.lastMeasured = since;
    const kind = since === this.lastText ? "text" : audio ? "voice" : "voice→text";
    this.record(now - since, kind);
  }

  turnEnded() {
    this.turnStart = 0;
  }

  record(ms, kind) {
    this.values.push({ ms: Math.round(ms), kind });
    const item = document.createElement("li");
    item.dataset.kind = kind;
    item.dataset.ms = String(Math.round(ms));
    item.textContent = `${Math.round(ms)} ms  ${kind}`;
    this.list.prepend(item);
    while (this.list.children.length > 10) this.list.lastElementChild.remove();
    this.draw();
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const shown = this.values.slice(-SHOWN);
    const top = Math.max(1000, ...shown.map((v) => v.ms));
    const bar = width / SHOWN;
    shown.forEach((v, i) => {
      const h = Math.max(2, ((height - 14) * v.ms) / top);
      ctx.fillStyle = v.kind === "text" ? "#8a7cf0" : "#2bb3a3";
      ctx.fillRect(i * bar + 1, height - h, bar - 2, h);
    });
    ctx.fillStyle = "#9aa4b2";
    ctx.font = "11px system-ui, sans-serif";
    const sorted = shown.map((v) => v.ms).sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
    ctx.fillText(`max ${top} ms · median ${median} ms · ${this.values.length} turns`, 2, 11);
  }
}
