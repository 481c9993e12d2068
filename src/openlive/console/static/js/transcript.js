// The conversation: one bubble per turn for each side, filled as text arrives.

export class Transcript {
  constructor(element) {
    this.element = element;
    this.open = { user: null, model: null };
  }

  // Append text to the open bubble of `role` ("user" or "model"), opening one if needed.
  add(role, text, how = "") {
    if (!text) return;
    let bubble = this.open[role];
    if (!bubble) {
      bubble = this.open[role] = document.createElement("div");
      bubble.className = `turn ${role}`;
      bubble.dataset.role = role;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = role === "user" ? "you" : "model";
      const body = document.createElement("span");
      body.className = "text";
      bubble.append(who, body);
      if (how) bubble.dataset.how = how;
      this.element.append(bubble);
    }
    bubble.querySelector(".text").textContent += text;
    this.element.scrollTop = this.element.scrollHeight;
  }

  end(role, mark = "") {
    const bubble = this.open[role];
    if (bubble && mark) bubble.classList.add(mark);
    this.open[role] = null;
  }

  note(text, kind = "note") {
    this.end("user");
    this.end("model");
    const line = document.createElement("div");
    line.className = `turn ${kind}`;
    line.textContent = text;
    this.element.append(line);
    this.element.scrollTop = this.element.scrollHeight;
  }
}
