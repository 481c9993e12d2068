// Microphone capture: getUserMedia (echo cancellation, noise suppression, gain control)
// -> AudioContext at any rate -> capture worklet -> "chunk" events of 16 kHz PCM16.

export class Mic extends EventTarget {
  constructor() {
    super();
    this.stream = null;
    this.context = null;
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1,
      },
    });
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule(new URL("./capture-worklet.js", import.meta.url));
    const source = this.context.createMediaStreamSource(this.stream);
    const node = new AudioWorkletNode(this.context, "pcm16-capture", { numberOfOutputs: 0 });
    node.port.onmessage = (event) => {
      this.dispatchEvent(new CustomEvent("chunk", { detail: event.data }));
    };
    source.connect(node);
    await this.context.resume();
    return this.context.sampleRate;
  }

  stop() {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.context) this.context.close();
    this.stream = null;
    this.context = null;
  }
}
