// "What the server saw": the latest description the page's own server made of this
// connection's video (GET /console/seen, docs/vision.md). Nothing is added to the Live
// connection: the page names its session by the SHA-256 of the first frame it sent on it.
// OCR'd text is shown with textContent only (it is whatever the camera saw).

const POLL_MS = 1000;

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export class SeenPanel {
  constructor(element, view) {
    this.el = element;
    this.view = view; // window.openliveConsole: .seen is the latest answer (tests read it)
    this.generation = 0;
    this.key = null;
    this.timer = null;
  }

  // A new Live connection: its first frame names the next session.
  reset() {
    this.generation += 1;
    this.key = null;
    clearInterval(this.timer);
    this.timer = null;
  }

  // The page sent a frame on the current connection (own: the page's own server).
  async sent(jpeg, own) {
    if (this.key !== null) return;
    this.key = "pending";
    const generation = this.generation;
    this.el.hidden = false;
    if (!own) {
      this.show("What the server saw is shown for this page's own server only.");
      return;
    }
    if (!globalThis.crypto || !crypto.subtle) {
      this.show("What the server saw needs a secure page (open the console as localhost).");
      return;
    }
    const key = await sha256Hex(jpeg);
    if (generation !== this.generation) return; // reconnected meanwhile
    this.key = key;
    this.show("Waiting for the server…");
    this.timer = setInterval(() => this.poll(generation), POLL_MS);
    this.poll(generation);
  }

  async poll(generation) {
    let body;
    let status;
    try {
      const response = await fetch(`/console/seen?frame=${this.key}`, { cache: "no-store" });
      status = response.status;
      body = await response.json();
    } catch {
      return; // the server is restarting or gone: the connection's close says so
    }
    if (generation !== this.generation) return;
    this.view.seen = body.seen || null;
    if (body.seen) this.render(body.seen);
    else this.show((body.error && body.error.message) || `HTTP ${status}`, "error");
    if (status === 403) this.reset(); // asking again will not help
  }

  render(seen) {
    if (!seen.analysed) {
      this.show(seen.frames ? `No frame analysed yet (${seen.analyser}).`
        : "No frame analysed: this model counts frames only while you speak (turnCoverage).");
      return;
    }
    const age = seen.age < 1.5 ? "just now" : `${Math.round(seen.age)} s ago`;
    const rows = [[`Seen ${age}`, seen.source === "detectors" ? "by the detectors" : seen.source]];
    if (seen.caption) rows.push(["said", seen.caption]);
    rows.push(["text", seen.text.length ? seen.text.join(" / ") : "none read"]);
    if (seen.qr.length) rows.push(["QR", seen.qr.join(" / ")]);
    rows.push(["objects", seen.objects.length ? seen.objects.join(", ") : "none"]);
    rows.push(["people", seen.people.length ? seen.people.join(", ") : "none"]);
    if (seen.colours.length) rows.push(["colours", seen.colours.join(", ")]);
    if (seen.skipped.length) rows.push(["not checked", seen.skipped.join("; ")]);
    this.el.replaceChildren(...rows.map(([label, value]) => {
      const line = document.createElement("div");
      const name = document.createElement("b");
      name.textContent = `${label}: `;
      const text = document.createElement("span");
      text.className = `seen-${label.split(" ")[0].toLowerCase()}`;
      text.textContent = value;
      line.append(name, text);
      return line;
    }));
    this.el.dataset.state = "seen";
  }

  show(text, state = "note") {
    this.el.textContent = text;
    this.el.dataset.state = state;
  }
}
