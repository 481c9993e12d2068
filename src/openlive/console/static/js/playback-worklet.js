// AudioWorklet: plays queued 24 kHz mono samples (Float32Array chunks) in order.
// {flush: true} drops everything queued at once (barge-in: the server said `interrupted`).
// Reports {played, queued, flushed} to the page about every 100 ms while it plays.

class Pcm16Playback extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.offset = 0;
    this.queued = 0;
    this.played = 0;
    this.flushed = 0;
    this.nextReport = 0;
    this.wasPlaying = false;
    this.port.onmessage = (event) => {
      const message = event.data;
      if (message.flush) {
        this.flushed += this.queued;
        this.queue = [];
        this.offset = 0;
        this.queued = 0;
        this.report();
      } else if (message.samples) {
        this.queue.push(message.samples);
        this.queued += message.samples.length;
      }
    };
  }

  report() {
    this.port.postMessage({ played: this.played, queued: this.queued, flushed: this.flushed });
    this.nextReport = currentTime + 0.1;
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    let i = 0;
    while (i < out.length && this.queue.length) {
      const head = this.queue[0];
      const n = Math.min(out.length - i, head.length - this.offset);
      out.set(head.subarray(this.offset, this.offset + n), i);
      i += n;
      this.offset += n;
      if (this.offset >= head.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    if (i > 0) {
      this.played += i;
      this.queued -= i;
    }
    const finished = i === 0 && this.wasPlaying;
    if (finished || (i > 0 && currentTime >= this.nextReport)) this.report();
    this.wasPlaying = i > 0;
    return true;
  }
}

registerProcessor("pcm16-playback", Pcm16Playback);
