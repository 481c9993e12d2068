// The connect panel: settings <-> form, remembered in localStorage (never the key or
// token), and the setup message they make.

const STORAGE_KEY = "openlive.console.settings";

export const VOICES = [
  "Puck", "Charon", "Kore", "Fenrir", "Aoede", "Leda", "Orus", "Zephyr", "Callirrhoe",
  "Autonoe", "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib",
  "Rasalgethi", "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima",
  "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
];

const EXAMPLE_TOOLS = [{
  name: "get_weather",
  description: "Current weather in a city.",
  parameters: {
    type: "OBJECT",
    properties: { city: { type: "STRING", description: "the city, e.g. Paris" } },
    required: ["city"],
  },
}];

export const DEFAULTS = {
  url: "",
  model: "gemini-3.8-live",  // Google's default Live model (AUDIO replies only)
  modality: "AUDIO",
  voice: "Puck",
  systemInstruction: "You are a helpful assistant. Answer briefly.",
  tools: JSON.stringify(EXAMPLE_TOOLS, null, 2),
  vad: true,
  startSensitivity: "",
  endSensitivity: "",
  prefixPaddingMs: "",
  silenceDurationMs: "",
  inputTranscription: true,
  outputTranscription: true,
  resume: true,
};

export function loadSettings() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

export function saveSettings(settings) {
  const { credential, ...kept } = settings; // never stored
  localStorage.setItem(STORAGE_KEY, JSON.stringify(kept));
}

export function clearSettings() {
  localStorage.removeItem(STORAGE_KEY);
}

export function fillForm(form, settings) {
  for (const [name, value] of Object.entries(settings)) {
    const field = form.elements.namedItem(name);
    if (!field) continue;
    if (field.type === "checkbox") field.checked = Boolean(value);
    else field.value = value;
  }
}

export function readForm(form) {
  const settings = {};
  for (const name of [...Object.keys(DEFAULTS), "credential"]) {
    const field = form.elements.namedItem(name);
    if (field) settings[name] = field.type === "checkbox" ? field.checked : field.value.trim();
  }
  return settings;
}

// Function declarations as typed: a list of declarations, a list of tools
// ({functionDeclarations}, {googleSearch}…), or one declaration.
export function parseTools(text) {
  if (!text) return [];
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`Tools is not valid JSON: ${error.message}`);
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return [];
  if (items.every((item) => item && typeof item.name === "string")) {
    return [{ functionDeclarations: items }];
  }
  if (items.every((item) => item && typeof item === "object" && !("name" in item))) {
    return items;
  }
  throw new Error("Tools: give function declarations ({name, description, parameters}) " +
                  "or tools ({functionDeclarations: [...]})");
}

function number(value, name) {
  if (value === "" || value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of ms`);
  return n;
}

export function buildSetup(settings, handle) {
  if (!settings.model) throw new Error("Model is empty");
  const model = settings.model.startsWith("models/") ? settings.model : `models/${settings.model}`;
  const setup = { model, generationConfig: { responseModalities: [settings.modality] } };
  if (settings.modality === "AUDIO" && settings.voice) {
    setup.generationConfig.speechConfig = {
      voiceConfig: { prebuiltVoiceConfig: { voiceName: settings.voice } },
    };
  }
  if (settings.systemInstruction) {
    setup.systemInstruction = { parts: [{ text: settings.systemInstruction }] };
  }
  const tools = parseTools(settings.tools);
  if (tools.length) setup.tools = tools;
  const detection = { disabled: !settings.vad };
  if (settings.startSensitivity) detection.startOfSpeechSensitivity = settings.startSensitivity;
  if (settings.endSensitivity) detection.endOfSpeechSensitivity = settings.endSensitivity;
  const prefix = number(settings.prefixPaddingMs, "Prefix padding");
  const silence = number(settings.silenceDurationMs, "Silence");
  if (prefix !== undefined) detection.prefixPaddingMs = prefix;
  if (silence !== undefined) detection.silenceDurationMs = silence;
  setup.realtimeInputConfig = { automaticActivityDetection: detection };
  if (settings.inputTranscription) setup.inputAudioTranscription = {};
  if (settings.outputTranscription && settings.modality === "AUDIO") {
    setup.outputAudioTranscription = {};
  }
  if (settings.resume) setup.sessionResumption = handle ? { handle } : {};
  return { setup };
}
