// Per-turn latency, measured in the page: for a spoken turn, from the last microphone chunk
// louder than SPEECH_RMS (the page's own estimate of the end of speech) to the first reply
// output received; for a typed turn, from sending the text to the first reply received.
//
// A spoken turn is split in two stages when the session asked for input transcription and
// the final inputTranscription (`finished: true`) of the utterance arrived before the reply:
// "hearing" (end of speech -> final transcription) and "answer" (final transcription ->
// first reply output). Without one the turn has only its total.

const SPEECH_RMS = 0.01; // about -40 dBFS
const SHOWN = 30;

// Bar colours, also used by the legend.
export const COLOURS = {
  hearing: "#e0a040", // end of speech -> final input transcription
  answer: "#2bb3a3", // final input transcription -> first reply
  voice: "#5f8f8a", // a spoken turn without a final transcription before its reply
  text: "#8a7cf0", // a typed turn
};

export class Latency {
  constructor(list, canvas, legend = null) {
    this.list = list;
    this.canvas = canvas;
    this.values = []; // {ms, kind, hearingMs, answerMs} (the two stages: null when unknown)
    this.lastSpeech = 0;
    this.lastText = 0;
    this.heardAt = 0; // when the latest final input transcription arrived (0: none pending)
    this.turnStart = 0; // when the current model turn began (0: none open)
    this.lastMeasured = 0;
    if (legend) this.legend(legend);
  }

  level(rms) {
    if (rms >= SPEECH_RMS) this.lastSpeech = performance.now();
  }

  textSent() {
    this.lastText = performance.now();
  }

  // The final input transcription of an utterance (`inputTranscription.finished`). One
  // that arrives while a reply is running belongs to no measured turn and is ignored.
  heard() {
    if (this.turnStart) return;
    this.heardAt = performance.now();
  }

  // The first reply output of a model turn; `audio`: whether it is audio.
  replyStarted(audio) {
    if (this.turnStart) return;
    const now = (this.turnStart = performance.now());
    const heard = this.heardAt;
    this.heardAt = 0; // used by this turn or by none
    const since = Math.max(this.lastSpeech, this.lastText);
    if (!since || since <= this.lastMeasured) return;
    this.lastMeasured = since;
    const kind = since === this.lastText ? "text" : audio ? "voice" : "voice→text";
    // Split only at a transcription heard after this end of speech (one from an earlier
    // utterance, or before speech went on, says nothing about this turn).
    const split = kind !== "text" && heard > since ? heard - since : null;
    this.record(now - since, kind, split);
  }

  turnEnded() {
    this.turnStart = 0;
    this.heardAt = 0; // a transcription whose turn got no reply does not reach the next one
  }

  // `hearing`: ms from the end of speech to the final transcription, or null.
  record(ms, kind, hearing = null) {
    const total = Math.round(ms);
    // answer = total - hearing, so the two stages always add up to the total shown.
    const hearingMs = hearing === null ? null : Math.min(total, Math.round(hearing));
    const answerMs = hearingMs === null ? null : total - hearingMs;
    this.values.push({ ms: total, kind, hearingMs, answerMs });
    const item = document.createElement("li");
    item.dataset.kind = kind;
    item.dataset.ms = String(total);
    item.textContent = `${total} ms  ${kind}`;
    if (hearingMs !== null) {
      item.dataset.hearingMs = String(hearingMs);
      item.dataset.answerMs = String(answerMs);
      item.textContent += ` · hearing ${hearingMs} + answer ${answerMs}`;
    }
    this.list.prepend(item);
    while (this.list.children.length > 10) this.list.lastElementChild.remove();
    this.draw();
  }

  legend(element) {
    const entries = [["hearing", "hearing"], ["answer", "answer"],
                     ["voice", "voice (no transcription)"], ["text", "typed"]];
    element.replaceChildren(...entries.map(([key, label]) => {
      const entry = document.createElement("span");
      entry.className = "latency-key";
      entry.dataset.stage = key;
      const swatch = document.createElement("i");
      swatch.style.background = COLOURS[key];
      entry.append(swatch, label);
      return entry;
    }));
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const shown = this.values.slice(-SHOWN);
    const top = Math.max(1000, ...shown.map((v) => v.ms));
    const bar = width / SHOWN;
    const scale = (height - 14) / top;
    shown.forEach((v, i) => {
      const x = i * bar + 1;
      const h = Math.max(2, scale * v.ms);
      if (v.hearingMs === null || v.hearingMs === undefined) {
        ctx.fillStyle = v.kind === "text" ? COLOURS.text : COLOURS.voice;
        ctx.fillRect(x, height - h, bar - 2, h);
        return;
      }
      // Two stacked segments: hearing at the bottom, answer on top.
      const low = Math.min(h, scale * v.hearingMs);
      ctx.fillStyle = COLOURS.hearing;
      ctx.fillRect(x, height - low, bar - 2, low);
      ctx.fillStyle = COLOURS.answer;
      ctx.fillRect(x, height - h, bar - 2, h - low);
    });
    ctx.fillStyle = "#9aa4b2";
    ctx.font = "11px system-ui, sans-serif";
    const sorted = shown.map((v) => v.ms).sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
    ctx.fillText(`max ${top} ms · median ${median} ms · ${this.values.length} turns`, 2, 11);
  }
}
