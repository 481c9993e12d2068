// Walks @google/genai's own LiveConnectConfig type (read from the package's genai.d.ts) and
// connects once per leaf field with a sample value, through the SDK, to a Live server:
// what the SDK sends for each field must be accepted (setupComplete) unless the SDK refuses
// it itself (tests/interop/test_sdk_schema.py drives this, as it walks google-genai).
//
//   node schema_walk.mjs BASE_URL
//
// OPENLIVE_GENAI_MODULE picks the SDK ('@google/genai' or 'genai-latest'). The last line
// of stdout is a JSON list of {path, outcome, detail}; outcome is accepted, closed (with
// detail "code reason") or sdk-refuses (detail: its message).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const moduleName = process.env.OPENLIVE_GENAI_MODULE ?? '@google/genai';
const { GoogleGenAI } = await import(moduleName);
const [baseUrl] = process.argv.slice(2);
const MODEL = 'gemini-3.8-live';
const SKIPPED = new Set(['httpOptions', 'abortSignal']); // client-side only

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, 'node_modules', moduleName);
const dts = readFileSync(path.join(pkgDir, 'dist', 'genai.d.ts'), 'utf8');

const interfaces = new Map();
for (const m of dts.matchAll(/export declare interface (\w+) \{([\s\S]*?)\n\}/g)) {
  const props = [];
  for (const p of m[2].matchAll(/^ {4}(\w+)\??: ([^;]+);/gm)) props.push([p[1], p[2].trim()]);
  interfaces.set(m[1], props);
}
const enums = new Map();
for (const m of dts.matchAll(/export declare enum (\w+) \{([\s\S]*?)\n\}/g)) {
  const values = [...m[2].matchAll(/(\w+) = "(\w+)"/g)].map((v) => v[2]);
  enums.set(m[1], values.filter((v) => !v.includes('UNSPECIFIED'))[0] ?? values[0]);
}

// [path, value] for each leaf under a type (a value makes the object with that leaf set).
function leaves(type, depth) {
  type = type.replace(/\s*\|\s*undefined/g, '').trim();
  if (type.endsWith('[]')) {
    return leaves(type.slice(0, -2), depth).map(([p, v]) => [p, [v]]);
  }
  // "1": the JS SDK types int64 fields (minItems, triggerTokens…) as strings
  if (type === 'string') return [['', '1']];
  if (type === 'number') return [['', 1]];
  if (type === 'boolean') return [['', true]];
  if (enums.has(type)) return [['', enums.get(type)]];
  if (interfaces.has(type) && depth < 4) {
    const out = [];
    for (const [name, inner] of interfaces.get(type)) {
      for (const [p, v] of leaves(inner, depth + 1)) {
        out.push([p ? `${name}.${p}` : name, { [name]: v }]);
      }
    }
    return out;
  }
  return []; // unions, records, functions: not sampled
}

function probe(config) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome, detail = '') => {
      if (!settled) { settled = true; resolve({ outcome, detail }); }
    };
    const ai = new GoogleGenAI({ apiKey: 'schema-walk', httpOptions: { baseUrl } });
    let session = null;
    const timer = setTimeout(() => done('timeout'), 5000);
    ai.live.connect({
      model: MODEL,
      config,
      callbacks: {
        onmessage: (msg) => {
          if (msg.setupComplete) { clearTimeout(timer); done('accepted'); session?.close(); }
        },
        onerror: () => {},
        onclose: (e) => { clearTimeout(timer); done('closed', `${e.code} ${e.reason}`); },
      },
    }).then((s) => {
      session = s;
      if (settled) s.close();
    }).catch((err) => {
      clearTimeout(timer);
      if (!settled && /code \d+/.test(String(err.message))) done('closed', String(err.message));
      else done('sdk-refuses', String(err.message ?? err));
    });
  });
}

const results = [];
for (const [name, type] of interfaces.get('LiveConnectConfig')) {
  if (SKIPPED.has(name)) continue;
  for (const [p, value] of leaves(type, 0)) {
    const leaf = p ? `${name}.${p}` : name;
    const { outcome, detail } = await probe({ [name]: value });
    results.push({ path: leaf, outcome, detail });
  }
}
console.log(JSON.stringify(results));
