// Every message in and out: time, direction, kind, and the JSON on demand (long base64
// payloads shortened). Runs of microphone or camera messages share one row with a count.

const LIMIT = 400;

export function describe(message) {
  const kind = Object.keys(message)[0] || "?";
  const body = message[kind];
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const keys = Object.keys(body).filter((k) => k !== "usageMetadata");
    if (keys.length) return `${kind} · ${keys.join(", ")}`;
  }
  return kind;
}

function shorten(key, value) {
  if (key === "data" && typeof value === "string" && value.length > 64) {
    return `<${Math.floor((value.length * 3) / 4)} bytes base64>`;
  }
  return value;
}

export class EventLog {
  constructor(element) {
    this.element = element;
    this.last = null;
    this.count = 0;
  }

  add(direction, message, summary = describe(message)) {
    const streaming = /^realtimeInput · (audio|video)$/.test(summary);
    if (streaming && this.last && this.last.dataset.summary === summary &&
        this.last.dataset.direction === direction) {
      this.last.repeat += 1;
      this.last.message = message;
      this.last.querySelector(".repeat").textContent = `×${this.last.repeat}`;
      return;
    }
    const row = document.createElement("details");
    row.className = `event ${direction}`;
    row.dataset.direction = direction;
    row.dataset.summary = summary;
    row.repeat = 1;
    row.message = message;
    const head = document.createElement("summary");
    const time = new Date().toISOString().slice(11, 23);
    const arrow = direction === "out" ? "↑" : direction === "in" ? "↓" : "•";
    head.textContent = `${time} ${arrow} ${summary} `;
    const repeat = document.createElement("span");
    repeat.className = "repeat";
    head.append(repeat);
    const pre = document.createElement("pre");
    row.append(head, pre);
    row.addEventListener("toggle", () => {
      if (row.open) pre.textContent = JSON.stringify(row.message, shorten, 2);
    });
    const atBottom = this.element.scrollTop + this.element.clientHeight >=
      this.element.scrollHeight - 4;
    this.element.append(row);
    this.last = row;
    if (++this.count > LIMIT) {
      this.element.firstElementChild.remove();
      this.count -= 1;
    }
    if (atBottom) this.element.scrollTop = this.element.scrollHeight;
  }

  clear() {
    this.element.replaceChildren();
    this.last = null;
    this.count = 0;
  }
}
