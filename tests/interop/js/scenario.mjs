// Drives the official @google/genai SDK against a Live server and prints one JSON result.
//
//   node scenario.mjs BASE_URL SCENARIO [API_KEY]
//
// BASE_URL is e.g. http://127.0.0.1:8765 (the SDK maps http: to ws:). Scenarios: text,
// realtime-text, tool, error-close, unknown-model, rejected-key, text-refused. Live models
// answer in AUDIO only, so sessions ask for AUDIO with outputAudioTranscription and a turn's
// text is its transcript (the idiom Google documents). The last line of stdout is a JSON object;
// on failure it has {"error": "..."} and the exit status is 1. Every wait is bounded:
// connect() only settles on setupComplete (or, in 3.x, on an early close), and a session
// may also simply go quiet.
// OPENLIVE_GENAI_MODULE picks the SDK: '@google/genai' (the pinned release, the default) or
// 'genai-latest' (the newest release, installed under that alias: package.json).
const { GoogleGenAI, Modality } = await import(process.env.OPENLIVE_GENAI_MODULE ?? '@google/genai');

const [baseUrl, scenario, apiKey = 'test-key'] = process.argv.slice(2);
const MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';
const AUDIO_OUT = { responseModalities: [Modality.AUDIO], outputAudioTranscription: {} };
const STEP_MS = 5000;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Every callback the SDK makes, kept in order, with waiters for what a scenario expects.
class Recorder {
  constructor() {
    this.messages = [];
    this.closes = [];
    this.errors = [];
    this.waiters = [];
  }
  callbacks() {
    return {
      onmessage: (msg) => { this.messages.push(msg); this.wake(); },
      onerror: (e) => { this.errors.push(String(e?.message ?? e)); this.wake(); },
      onclose: (e) => { this.closes.push({ code: e.code, reason: String(e.reason ?? '') }); this.wake(); },
    };
  }
  wake() {
    this.waiters = this.waiters.filter(({ test, resolve }) => {
      const found = test();
      if (found !== undefined) resolve(found);
      return found === undefined;
    });
  }
  until(test, what, ms = STEP_MS) {
    const found = test();
    if (found !== undefined) return Promise.resolve(found);
    return withTimeout(new Promise((resolve) => this.waiters.push({ test, resolve })), ms, what);
  }
  // Messages from index `from` up to and including the next turnComplete.
  async turn(from, what) {
    const end = await this.until(() => {
      const i = this.messages.findIndex((m, k) => k >= from && m.serverContent?.turnComplete);
      return i < 0 ? undefined : i;
    }, what);
    return this.messages.slice(from, end + 1);
  }
  close() {
    return this.until(() => this.closes[0], 'onclose');
  }
}

function summarize(turn) {
  const parts = turn.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []);
  return {
    text: turn.map((m) => m.serverContent?.outputTranscription?.text ?? '').join(''),
    textParts: parts.filter((p) => p.text !== undefined).length,
    audioBytes: parts.reduce((n, p) => n + (p.inlineData ? Buffer.from(p.inlineData.data, 'base64').length : 0), 0),
    audioMimeTypes: [...new Set(parts.filter((p) => p.inlineData).map((p) => p.inlineData.mimeType))],
    generationComplete: turn.filter((m) => m.serverContent?.generationComplete).length,
    turnComplete: turn.filter((m) => m.serverContent?.turnComplete).length,
    lastIsTurnComplete: turn.at(-1)?.serverContent?.turnComplete === true,
    usageMetadata: turn.at(-1)?.usageMetadata ?? null,
    kinds: turn.map((m) => Object.keys(m).filter((k) => m[k] !== undefined).sort().join('+')),
  };
}

async function connect(rec, config = AUDIO_OUT, model = MODEL) {
  const ai = new GoogleGenAI({ apiKey, apiVersion: 'v1beta', httpOptions: { baseUrl } });
  return withTimeout(ai.live.connect({ model, config, callbacks: rec.callbacks() }),
    STEP_MS, 'live.connect (setupComplete)');
}

// A close before setupComplete (unknown model, wrong key). @google/genai 2.x never settled
// connect() then; 3.x rejects it. Either way onclose must get Google's code and reason.
async function closedBeforeSetup(rec, model, config = AUDIO_OUT) {
  let connectOutcome;
  const ai = new GoogleGenAI({ apiKey, apiVersion: 'v1beta', httpOptions: { baseUrl } });
  const pending = ai.live.connect({ model, config, callbacks: rec.callbacks() })
    .then(() => { connectOutcome = 'resolved'; }, (e) => { connectOutcome = `rejected: ${e.message}`; });
  const close = await rec.close();
  await Promise.race([pending, new Promise((r) => setTimeout(r, 500))]);
  return { close, connectOutcome: connectOutcome ?? 'pending', messages: rec.messages.length,
    errors: rec.errors };
}

const scenarios = {
  async text(rec) {
    const session = await connect(rec);
    const setup = await rec.until(() => rec.messages.find((m) => m.setupComplete), 'setupComplete');
    const from = rec.messages.length;
    session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'Hello from JS' }] }], turnComplete: true });
    const first = summarize(await rec.turn(from, 'first turn'));
    const from2 = rec.messages.length;
    session.sendClientContent({ turns: 'string turn', turnComplete: true }); // JS wraps a string
    const second = summarize(await rec.turn(from2, 'second turn'));
    session.close();
    const close = await rec.close();
    return { setupComplete: setup.setupComplete, first, second, close, errors: rec.errors };
  },

  async 'realtime-text'(rec) {
    const session = await connect(rec);
    const from = rec.messages.length;
    session.sendRealtimeInput({ text: 'realtime from JS' });
    const turn = summarize(await rec.turn(from, 'realtime turn'));
    session.close();
    return { turn, close: await rec.close(), errors: rec.errors };
  },

  async tool(rec) {
    const config = {
      ...AUDIO_OUT,
      tools: [{ functionDeclarations: [{
        name: 'get_weather', description: 'Get the weather',
        parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] },
      }] }],
    };
    const session = await connect(rec, config);
    const from = rec.messages.length;
    session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'What is the weather in Lisbon?' }] }] });
    const callMsg = await rec.until(() => rec.messages.find((m, k) => k >= from && m.toolCall), 'toolCall');
    const calls = callMsg.toolCall.functionCalls;
    const after = rec.messages.length;
    session.sendToolResponse({ functionResponses: calls.map((c) => ({
      id: c.id, name: c.name, response: { summary: 'windy' } })) });
    const turn = summarize(await rec.turn(after, 'turn after toolResponse'));
    session.close();
    return { calls, turn, close: await rec.close(), errors: rec.errors };
  },

  async 'error-close'(rec) {
    const session = await connect(rec);
    session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'please crash' }] }] });
    const close = await rec.close();
    return { close, messagesBeforeClose: rec.messages.length, errors: rec.errors };
  },

  'unknown-model': (rec) => closedBeforeSetup(rec, 'no-such-model'),
  'rejected-key': (rec) => closedBeforeSetup(rec, MODEL),
  // Google closes a TEXT setup on its Live models (1007 on gemini-3.8-live)
  'text-refused': (rec) => closedBeforeSetup(rec, 'gemini-3.8-live',
    { responseModalities: [Modality.TEXT] }),
};

async function main() {
  const run = scenarios[scenario];
  if (!baseUrl || !run) {
    throw new Error(`usage: node scenario.mjs BASE_URL (${Object.keys(scenarios).join('|')}) [API_KEY]`);
  }
  const rec = new Recorder();
  const result = await run(rec);
  process.stdout.write(JSON.stringify({ scenario, ...result }) + '\n');
}

main().then(() => process.exit(0), (err) => {
  process.stdout.write(JSON.stringify({ scenario, error: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
