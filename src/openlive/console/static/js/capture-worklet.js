// AudioWorklet: microphone samples (at the context's rate) -> 16 kHz mono PCM16 chunks of
// 40 ms, posted to the page with their RMS level. Resampling: a windowed-sinc low-pass
// (cut-off 7.2 kHz, when downsampling) and linear interpolation at the output instants.

const OUT_RATE = 16000;
const CHUNK = 640; // 40 ms at 16 kHz
const TAPS = 33;

function lowPass(cutoff) {
  // cutoff in cycles per input sample; Blackman-windowed sinc, unity gain at DC
  const taps = new Float32Array(TAPS);
  const middle = (TAPS - 1) / 2;
  let sum = 0;
  for (let n = 0; n < TAPS; n++) {
    const x = n - middle;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const window = 0.42 - 0.5 * Math.cos((2 * Math.PI * n) / (TAPS - 1)) +
      0.08 * Math.cos((4 * Math.PI * n) / (TAPS - 1));
    taps[n] = sinc * window;
    sum += taps[n];
  }
  return taps.map((t) => t / sum);
}

class Pcm16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE; // input samples per output sample
    this.taps = this.step > 1 ? lowPass((0.45 * OUT_RATE) / sampleRate) : null;
    this.history = new Float32Array(TAPS);
    this.head = 0;
    this.pos = 0; // next output instant, in input samples after `prev`
    this.prev = 0;
    this.newChunk();
  }

  newChunk() {
    this.chunk = new Int16Array(CHUNK);
    this.length = 0;
    this.energy = 0;
  }

  filter(x) {
    if (!this.taps) return x;
    this.history[this.head] = x;
    this.head = (this.head + 1) % TAPS;
    let y = 0;
    for (let n = 0, i = this.head; n < TAPS; n++, i = (i + 1) % TAPS) {
      y += this.taps[n] * this.history[i];
    }
    return y;
  }

  process(inputs) {
    const samples = inputs[0] && inputs[0][0];
    if (!samples) return true;
    for (let i = 0; i < samples.length; i++) {
      const x = this.filter(samples[i]);
      while (this.pos <= 1) {
        this.emit(this.prev + (x - this.prev) * this.pos);
        this.pos += this.step;
      }
      this.pos -= 1;
      this.prev = x;
    }
    return true;
  }

  emit(value) {
    const s = Math.max(-1, Math.min(1, value));
    this.energy += s * s;
    this.chunk[this.length++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.length === CHUNK) {
      const rms = Math.sqrt(this.energy / CHUNK);
      this.port.postMessage({ pcm: this.chunk.buffer, rms }, [this.chunk.buffer]);
      this.newChunk();
    }
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
