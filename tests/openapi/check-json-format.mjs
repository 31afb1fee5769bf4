#!/usr/bin/env node
// check-json-format.mjs: every JSON body sluice sent in the integration tests is written
// the one way core/json_out.h says (ctest openapi_json_format).
//
//   node tests/openapi/check-json-format.mjs OPENAPI_JSON RESPONSES_DIR
//
// Reads the exchanges recorded by tests/integration (harness_http.c: one JSON line per
// exchange, the exact body text in "raw") and checks, on the bytes themselves:
//   - compact: no whitespace outside strings;
//   - numbers are plain decimals: no exponent, no trailing zero in a fraction, no -0;
//   - strings escape only what JSON requires (no \uXXXX for a printable character);
//   - a string that starts like a time is RFC 3339 UTC to the second
//     ("2025-01-31T03:00:00Z"), a date is "YYYY-MM-DD";
//   - a member name is spelled one way everywhere: when it holds a time in one answer it
//     holds a time (or null) in every other, the same for dates; and a decimal member
//     shows the same number of decimals in every operation where it has at least
//     MIN_SCALE_SAMPLES fractional values (so 12.5 in a list and 12.5000 in a detail, or 2
//     decimals here and 4 there, fail).
// The OpenAPI document served at /openapi.json is checked for its bytes only (its
// examples and schemas are not resources). Coverage comes from the document, so endpoints added later are checked without any
// change here: every operation that documents a 2XX JSON answer must have at least one
// recorded 2XX JSON answer (paths are matched to templates as server/http/router.c does:
// literal segments preferred over parameters).
//
// Exit status: 0 when all holds, 1 with each failure listed, 2 on usage errors or when
// nothing was recorded.
import fs from 'node:fs';
import path from 'node:path';

// Enough fractional values that coarse data (0.25 h, 0.5 h stored at 4 decimals) does not
// pass for a lower rounding: 12 values of a field rounded to 4 decimals all showing 2 or
// fewer happens only when the data itself is round.
const MIN_SCALE_SAMPLES = 12;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const TIME_LIKE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;

function usage(msg) {
  console.error(`check-json-format: ${msg}`);
  console.error('usage: check-json-format.mjs OPENAPI_JSON RESPONSES_DIR');
  process.exit(2);
}

// ---- a tokenizer that keeps the bytes --------------------------------------------------

// Calls visit(name, kind, text) for every scalar of the JSON text s, name being the
// member it belongs to (the array's member for an array element; '' at the top), kind
// 'string' (text: the decoded value), 'number' (text: the token as written), 'literal'.
// Returns a list of problems found in the bytes (whitespace, escapes, bad tokens).
export function scan(s, visit) {
  const problems = [];
  const stack = []; // {type: '{'|'[', name, key}
  let i = 0;
  let expectKey = false;
  const here = () => `offset ${i}: …${s.slice(Math.max(0, i - 30), i + 30)}…`;
  const memberName = () => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    return top.type === '{' ? top.key : top.name;
  };
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      problems.push(`whitespace outside a string at ${here()}`);
      i++;
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push({ type: c, name: memberName(), key: null });
      expectKey = c === '{';
      i++;
      continue;
    }
    if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
      i++;
      continue;
    }
    if (c === ',') {
      expectKey = stack.length > 0 && stack[stack.length - 1].type === '{';
      i++;
      continue;
    }
    if (c === ':') {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\') {
          if (s[j + 1] === 'u') {
            const code = parseInt(s.slice(j + 2, j + 6), 16);
            if (code >= 0x20 && code !== 0x7f && code !== 0x22 && code !== 0x5c)
              problems.push(`\\u${s.slice(j + 2, j + 6)} escapes a printable character at ${here()}`);
            j += 6;
          } else {
            j += 2;
          }
        } else {
          j++;
        }
      }
      const value = JSON.parse(s.slice(i, j + 1));
      i = j + 1;
      if (expectKey) {
        stack[stack.length - 1].key = value;
        expectKey = false;
      } else {
        visit(memberName(), 'string', value);
      }
      continue;
    }
    let j = i;
    while (j < s.length && /[-+.0-9a-zA-Z]/.test(s[j])) j++;
    const tok = s.slice(i, j);
    if (tok === 'true' || tok === 'false' || tok === 'null') {
      visit(memberName(), 'literal', tok);
    } else if (/^-?\d/.test(tok)) {
      visit(memberName(), 'number', tok);
    } else {
      problems.push(`unexpected "${tok || c}" at ${here()}`);
      if (j === i) j++;
    }
    i = j;
  }
  return problems;
}

// ---- the document's operations --------------------------------------------------------

function templates(doc) {
  const out = [];
  for (const [tpl, item] of Object.entries(doc.paths || {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const json2xx = Object.entries(op.responses || {}).some(([code, resp]) => {
        if (!/^2(\d\d|XX)$/.test(code)) return false;
        let r = resp;
        while (r && r.$ref) r = r.$ref.split('/').slice(1).reduce((n, k) => n?.[k], doc);
        return Object.keys(r?.content || {}).some((t) => /^application\/(.+\+)?json$/.test(t));
      });
      out.push({ method: m.toUpperCase(), tpl, segs: tpl.split('/').filter(Boolean), json2xx });
    }
  }
  return out;
}

// The template of a recorded path (percent-decoded, trailing slash ignored), or null.
function match(ops, method, p) {
  const segs = p.split('/').filter(Boolean).map((x) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  });
  let best = null;
  let bestLiterals = -1;
  for (const op of ops) {
    if (op.method !== (method === 'HEAD' ? 'GET' : method) || op.segs.length !== segs.length)
      continue;
    let literals = 0;
    const ok = op.segs.every((t, k) => {
      if (/^\{[^}]+\}$/.test(t)) return segs[k].length > 0;
      if (t === segs[k]) literals++;
      return t === segs[k];
    });
    if (ok && literals > bestLiterals) {
      best = op;
      bestLiterals = literals;
    }
  }
  return best;
}

// ---- the checks -----------------------------------------------------------------------

// The failures of the exchanges recorded under dir against doc: {failures, checked, covered}.
export function check(doc, dir) {
  const ops = templates(doc);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  const failures = [];
  const covered = new Set();
  // name -> {classes: Map(class -> first place), scale: Map(op -> {max, count, where})}
  const fields = new Map();
  const field = (name) => {
    if (!fields.has(name)) fields.set(name, { classes: new Map(), scale: new Map() });
    return fields.get(name);
  };
  let checked = 0;
  for (const f of files) {
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    lines.forEach((line, n) => {
      if (!line.trim()) return;
      const rec = JSON.parse(line);
      if (typeof rec.raw !== 'string') return;
      const where = `${f}:${n + 1} ${rec.method} ${rec.path} ${rec.status}`;
      const op = match(ops, rec.method, rec.path);
      const opName = op ? `${op.method} ${op.tpl}` : `${rec.method} (router)`;
      if (op && rec.status >= 200 && rec.status < 300) covered.add(opName);
      checked++;
      // The OpenAPI document describes the API (its examples, schemas): only its bytes are
      // checked, not its member names.
      const isDocument = op && op.tpl === '/openapi.json';
      const visit = (name, kind, text) => {
        if (isDocument && kind !== 'number') return;
        if (kind === 'number') {
          if (!NUMBER.test(text) || text === '-0') failures.push(`${where}: ${name}: number ${text} is not a plain decimal`);
          const frac = text.includes('.') ? text.split('.')[1].length : 0;
          if (frac > 0 && !isDocument) {
            const sc = field(name).scale;
            const e = sc.get(opName) || { max: 0, count: 0, where };
            e.count++;
            if (frac > e.max) Object.assign(e, { max: frac, where: `${where} (${text})` });
            sc.set(opName, e);
          }
          return;
        }
        if (kind !== 'string') return;
        let cls = null;
        if (TIME_LIKE.test(text)) {
          cls = 'time';
          if (!TIME.test(text))
            failures.push(`${where}: ${name}: "${text}" is not RFC 3339 UTC to the second (YYYY-MM-DDTHH:MM:SSZ)`);
        } else if (DATE.test(text)) {
          cls = 'date';
        }
        const cl = field(name).classes;
        const key = cls || 'text';
        if (!cl.has(key)) cl.set(key, `${where} ("${text.slice(0, 40)}")`);
      };
      for (const p of scan(rec.raw, visit)) failures.push(`${where}: ${p}`);
    });
  }
  for (const [name, info] of fields) {
    const cl = info.classes;
    for (const cls of ['time', 'date']) {
      if (!cl.has(cls)) continue;
      for (const [other, at] of cl) {
        if (other !== cls)
          failures.push(`member "${name}" is a ${cls} at ${cl.get(cls)} but ${other === 'text' ? 'other text' : `a ${other}`} at ${at}`);
      }
    }
    const scales = [...info.scale.entries()].filter(([, e]) => e.count >= MIN_SCALE_SAMPLES);
    const maxes = new Set(scales.map(([, e]) => e.max));
    if (maxes.size > 1)
      failures.push(
        `member "${name}" has different numbers of decimals: ` +
          scales.map(([o, e]) => `${e.max} in ${o} (${e.where})`).join('; '),
      );
  }
  for (const op of ops) {
    const name = `${op.method} ${op.tpl}`;
    if (op.json2xx && !covered.has(name))
      failures.push(`${name}: no 2XX JSON answer recorded: add one to an integration test`);
  }
  return { failures, checked, covered };
}

// --self-test: the checks catch what they are meant to (each bad sample must fail with
// its reason, the good one must pass).
function selfTest() {
  const doc = {
    paths: {
      '/things': { get: { responses: { 200: { content: { 'application/json': {} } } } } },
      '/things/{id}': { get: { responses: { 200: { content: { 'application/json': {} } } } } },
      '/other': { get: { responses: { 200: { content: { 'application/json': {} } } } } },
    },
  };
  const good = [
    { path: '/things', raw: '{"items":[{"id":1,"h":1.2345,"at":"2025-01-31T03:00:00Z"},{"id":2,"h":0.5,"at":null}],"d":"2025-01-31"}' },
    { path: '/things', raw: '{"items":[{"id":3,"h":2.1234},{"id":4,"h":3.0001}],"s":"a : b, c"}' },
    { path: '/things', raw: '{"items":[{"h":1.1111},{"h":2.2222},{"h":3.3333},{"h":4.4444},{"h":5.5555},{"h":6.6666},{"h":7.7777},{"h":8.8888}]}' },
    { path: '/things/1', raw: '{"id":1,"h":1.2345,"at":"2025-01-31T03:00:00Z","x":"caf\u00e9"}' },
  ];
  const cases = [
    ['{"id" : 1}', 'whitespace outside a string'],
    ['{"id":1, "h":2}', 'whitespace outside a string'],
    ['{"h":12.5000}', 'not a plain decimal'],
    ['{"h":1e3}', 'not a plain decimal'],
    ['{"h":-0}', 'not a plain decimal'],
    ['{"at":"2025-01-31T03:00:00.123Z"}', 'not RFC 3339 UTC to the second'],
    ['{"at":"2025-01-31T03:00:00+01:00"}', 'not RFC 3339 UTC to the second'],
    ['{"x":"\\u0041"}', 'escapes a printable character'],
    ['{"d":"yesterday"}', 'is a date'],
    ['{"at":"2025-01-31"}', 'is a time'],
    ['{"h":[1.23,4.56,7.89,1.21,4.51,7.81,1.22,4.52,7.82,1.24,4.54,7.84]}', 'different numbers of decimals'],
  ];
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'json-format-'));
  const write = (recs) =>
    fs.writeFileSync(
      path.join(dir, 't.jsonl'),
      recs.map((r) => JSON.stringify({ method: 'GET', status: 200, content_type: 'application/json', ...r })).join('\n'),
    );
  let bad = 0;
  try {
    write([...good, { path: '/other', raw: '{}' }]);
    const ok = check(doc, dir);
    if (ok.failures.length) {
      console.error('self-test: good samples refused:\n' + ok.failures.join('\n'));
      bad++;
    }
    write(good);
    if (!check(doc, dir).failures.some((m) => m.includes('GET /other: no 2XX JSON answer'))) {
      console.error('self-test: an operation without a sample was not reported');
      bad++;
    }
    for (const [raw, reason] of cases) {
      write([...good, { path: '/other', raw }]);
      const got = check(doc, dir).failures;
      if (!got.some((m) => m.includes(reason))) {
        console.error(`self-test: ${raw} should fail with "${reason}"; got:\n  ${got.join('\n  ')}`);
        bad++;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (bad) process.exit(1);
  console.log(`check-json-format self-test: ${cases.length + 2} cases ok`);
}

function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--self-test') return selfTest();
  const [docFile, dir] = args;
  if (!docFile || !dir) usage('two arguments expected');
  if (!fs.existsSync(dir)) usage(`${dir} does not exist: run the integration tests first`);
  const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
  const { failures, checked, covered } = check(doc, dir);
  if (checked === 0) usage(`no JSON answer recorded under ${dir}`);
  if (failures.length) {
    for (const msg of failures) console.error(msg);
    console.error(`check-json-format: ${failures.length} failure(s) in ${checked} JSON answers`);
    process.exit(1);
  }
  console.log(`check-json-format: ${checked} JSON answers of ${covered.size} operations checked`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
