// The Live API over a raw browser WebSocket: the endpoint URL, the setup, sending, and
// decoding server frames (binary UTF-8 JSON by default, text frames too).

const SERVICE = "/ws/google.ai.generativelanguage.";

// ws(s)://host[/prefix]/ws/…BidiGenerateContent?key=… or, with an ephemeral token,
// …v1alpha…BidiGenerateContentConstrained?access_token=auth_tokens/…
export function liveUrl(base, { key, token } = {}) {
  const url = new URL(base);
  if (!/^(https?|wss?):$/.test(url.protocol)) {
    throw new Error(`server URL must start with http(s):// or ws(s)://, not ${url.protocol}`);
  }
  url.protocol = url.protocol.replace(/^http/, "ws");
  const prefix = url.pathname.replace(/\/+$/, "");
  url.pathname = prefix + SERVICE + (token
    ? "v1alpha.GenerativeService.BidiGenerateContentConstrained"
    : "v1beta.GenerativeService.BidiGenerateContent");
  url.search = "";
  url.hash = "";
  if (token) url.searchParams.set("access_token", token);
  else if (key) url.searchParams.set("key", key);
  return url.toString();
}

// Events: "sent" / "message" (detail: the message object), "close" (detail: {code, reason}),
// "fault" (detail: a frame that was not JSON).
export class LiveClient extends EventTarget {
  constructor() {
    super();
    this.ws = null;
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect(url, setupMessage) {
    const ws = (this.ws = new WebSocket(url));
    ws.binaryType = "arraybuffer";
    const decoder = new TextDecoder();
    ws.onopen = () => this.send(setupMessage);
    ws.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
      let message;
      try {
        message = JSON.parse(text);
      } catch {
        this.emit("fault", text.slice(0, 200));
        return;
      }
      this.emit("message", message);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.ws = null;
      this.emit("close", { code: event.code, reason: event.reason, clean: event.wasClean });
    };
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    this.emit("sent", message);
    return true;
  }

  close(code = 1000, reason = "") {
    if (this.ws) this.ws.close(code, reason);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
