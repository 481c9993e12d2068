// Camera or screen sharing: a preview, and one JPEG frame a second to the page.

const FRAME_MS = 1000;
const MAX_WIDTH = 640;

export class VideoSource {
  constructor(videoElement, onFrame) {
    this.video = videoElement;
    this.onFrame = onFrame;
    this.stream = null;
    this.kind = null;
    this.timer = null;
    this.canvas = document.createElement("canvas");
  }

  async start(kind) {
    this.stop();
    this.stream = kind === "screen"
      ? await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
      : await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } } });
    this.kind = kind;
    this.stream.getVideoTracks()[0].addEventListener("ended", () => this.stop());
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play();
    this.timer = setInterval(() => this.capture(), FRAME_MS);
  }

  capture() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height) return;
    const scale = Math.min(1, MAX_WIDTH / width);
    this.canvas.width = Math.round(width * scale);
    this.canvas.height = Math.round(height * scale);
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.canvas.width,
                                           this.canvas.height);
    this.canvas.toBlob(async (blob) => {
      if (blob && this.stream) this.onFrame(new Uint8Array(await blob.arrayBuffer()));
    }, "image/jpeg", 0.7);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.kind = null;
    this.video.srcObject = null;
    this.video.hidden = true;
  }
}
