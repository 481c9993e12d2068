// Tool calls as they arrive, each with an editable JSON response to send back.

export class ToolCalls {
  constructor(element, sendResponse) {
    this.element = element;
    this.sendResponse = sendResponse; // (functionResponse) => boolean
    this.cards = new Map();
  }

  show(functionCalls) {
    for (const call of functionCalls || []) this.element.append(this.card(call));
  }

  card(call) {
    const card = document.createElement("div");
    card.className = "tool-call";
    card.dataset.id = call.id || "";
    card.dataset.name = call.name || "";
    const title = document.createElement("div");
    title.className = "tool-title";
    title.textContent = `tool call: ${call.name}`;
    const id = document.createElement("span");
    id.className = "detail";
    id.textContent = call.id ? ` id ${call.id}` : "";
    title.append(id);
    const args = document.createElement("pre");
    args.className = "tool-args";
    args.textContent = JSON.stringify(call.args || {}, null, 2);
    const response = document.createElement("textarea");
    response.className = "tool-response";
    response.rows = 3;
    response.spellcheck = false;
    response.value = JSON.stringify({ result: "ok" });
    const status = document.createElement("span");
    status.className = "tool-status detail";
    const send = document.createElement("button");
    send.textContent = "Send response";
    send.className = "primary small";
    response.addEventListener("input", () => { status.textContent = ""; });
    send.addEventListener("click", () => {
      let value;
      try {
        value = JSON.parse(response.value);
      } catch (error) {
        status.textContent = `not JSON: ${error.message}`;
        return;
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        status.textContent = "the response must be a JSON object";
        return;
      }
      if (!this.sendResponse({ id: call.id, name: call.name, response: value })) {
        status.textContent = "not connected";
        return;
      }
      send.disabled = true;
      response.readOnly = true;
      card.classList.add("answered");
      status.textContent = "sent";
    });
    card.append(title, args, response, send, status);
    this.cards.set(call.id, card);
    return card;
  }

  cancel(ids) {
    for (const id of ids || []) {
      const card = this.cards.get(id);
      if (!card) continue;
      card.classList.add("cancelled");
      card.querySelector("button").disabled = true;
      card.querySelector(".tool-status").textContent = "cancelled by the server";
    }
  }

  clear() {
    this.element.replaceChildren();
    this.cards.clear();
  }
}
