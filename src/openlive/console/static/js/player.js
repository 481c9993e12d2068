// Reply playback: 24 kHz PCM16 into the playback worklet; flush() on `interrupted` drops
// what is queued at once, so barge-in works with speakers too.

import { base64ToBytes } from "./base64.js";

export const PLAYBACK_RATE = 24000;

export class Player extends EventTarget {
  constructor() {
    super();
    this.context = null;
    this.node = null;
    this.stats = { played: 0, queued: 0, flushed: 0, received: 0 };
  }

  async start() {
    if (this.context) return this.context.resume();
    this.context = new AudioContext({ sampleRate: PLAYBACK_RATE });
    await this.context.audioWorklet.addModule(new URL("./playback-worklet.js", import.meta.url));
    this.node = new AudioWorkletNode(this.context, "pcm16-playback",
                                     { outputChannelCount: [1] });
    this.node.port.onmessage = (event) => {
      Object.assign(this.stats, event.data);
      this.dispatchEvent(new CustomEvent("progress", { detail: this.stats }));
    };
    this.node.connect(this.context.destination);
    return this.context.resume();
  }

  // data: base64 PCM16 little-endian at `rate` (24 kHz for the Live API).
  play(data, rate = PLAYBACK_RATE) {
    if (!this.node) return;
    const bytes = base64ToBytes(data);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = bytes.byteLength >> 1;
    let samples = new Float32Array(count);
    for (let i = 0; i < count; i++) samples[i] = view.getInt16(2 * i, true) / 32768;
    if (rate !== PLAYBACK_RATE) samples = resampleLinear(samples, rate, PLAYBACK_RATE);
    this.stats.received += samples.length;
    this.stats.queued += samples.length;
    this.node.port.postMessage({ samples }, [samples.buffer]);
  }

  flush() {
    if (this.node) this.node.port.postMessage({ flush: true });
  }
}

function resampleLinear(input, from, to) {
  const out = new Float32Array(Math.round((input.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const pos = (i * from) / to;
    const j = Math.floor(pos);
    const next = input[Math.min(j + 1, input.length - 1)];
    out[i] = input[j] + (next - input[j]) * (pos - j);
  }
  return out;
}
