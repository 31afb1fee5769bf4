#!/usr/bin/env node
// validate-responses.mjs: checks the responses recorded by the integration tests against
// the bundled OpenAPI document (ctest openapi_responses).
//
//   node tests/openapi/validate-responses.mjs OPENAPI_JSON RESPONSES_DIR
//
// RESPONSES_DIR holds *.jsonl files written by tests/integration/harness.c when
// SLUICE_TEST_RESPONSES_DIR is set: one exchange per line, {"method", "path" (no query
// string), "status", "content_type" (absent when the response had none), "body" (the
// parsed JSON for JSON media types, else the text)}.
//
// For each exchange: the path is matched against the document's path templates the way
// server/http/router.c does (percent-decoded, one trailing slash ignored, `{param}` is one
// non-empty segment, literal segments preferred over parameters, HEAD as GET), then the
// response documented for the status (exact, `4XX`-style range, or `default`) and the
// media type is found and the body validated against its schema (JSON Schema 2020-12,
// ajv + ajv-formats, $refs into components resolved). Answers given by the router
// before any operation runs are checked against the catalogue in components/responses
// (openapi/openapi.yaml): a path matching no template must be NotFound (or UriTooLong,
// HeadersTooLarge, BadRequest — these three may answer any request, documented or not); a method the path lacks must be MethodNotAllowed; OPTIONS on a
// known path must be 204 without a body. HEAD responses have no body: only the status
// and media type are checked.
//
// Exit status: 0 when every exchange matched, 1 when any did not (each is listed with
// its file and line), 2 on usage errors or when there was nothing to validate.
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Router-level answers (server/http/server.c, on_headers) → component response names.
// 400: a NUL byte in the path, query or a header value, or two Authorization headers,
// refused before routing (on every path, documented by the operation or not).
const ROUTER_ANY_PATH = { 400: 'BadRequest', 414: 'UriTooLong', 431: 'HeadersTooLarge' };
const ROUTER_UNKNOWN_PATH = { 404: 'NotFound', ...ROUTER_ANY_PATH };
const ROUTER_WRONG_METHOD = { 405: 'MethodNotAllowed', ...ROUTER_ANY_PATH };

function usage(msg) {
  console.error(`validate-responses: ${msg}`);
  console.error('usage: validate-responses.mjs OPENAPI_JSON RESPONSES_DIR');
  process.exit(2);
}

// ---- the document --------------------------------------------------------------------

// JSON pointer lookup ("#/components/schemas/Problem") in doc.
function resolvePointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node == null || !(key in node)) throw new Error(`unresolved $ref ${ref}`);
    node = node[key];
  }
  return node;
}

// Follows $ref chains of non-schema objects (responses, path items, headers).
function deref(doc, node) {
  const seen = new Set();
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) throw new Error(`$ref cycle at ${node.$ref}`);
    seen.add(node.$ref);
    node = resolvePointer(doc, node.$ref);
  }
  return node;
}

const COMPONENTS_ID = 'urn:sluice:openapi-components';

// A copy of a schema for ajv: `#/components/schemas/X` refs point into the components
// schema registered under COMPONENTS_ID; `x-` extensions are dropped.
function forAjv(schema) {
  if (Array.isArray(schema)) return schema.map(forAjv);
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-')) continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
      out.$ref = `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
    } else {
      out[k] = forAjv(v);
    }
  }
  return out;
}

function makeAjv(doc) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false,
                            strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI's own schema keywords (3.1 base vocabulary), annotations only.
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: forAjv(doc.components?.schemas ?? {}) });
  return ajv;
}

// ---- matching --------------------------------------------------------------------------

// Percent-decoding as libmicrohttpd does: invalid escapes are kept as they are.
function percentDecode(p) {
  const bytes = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '%' && /^[0-9a-fA-F]{2}$/.test(p.slice(i + 1, i + 3))) {
      bytes.push(parseInt(p.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(p[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('latin1');
}

function segments(p) {
  return p === '/' ? [''] : p.slice(1).split('/');
}

// The templates matching the recorded path, most literal first (like OpenAPI's rule
// that concrete paths win over templated ones).
function matchTemplates(doc, rawPath) {
  let p = percentDecode(rawPath);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (!p.startsWith('/')) return [];
  const segs = segments(p);
  const found = [];
  for (const template of Object.keys(doc.paths ?? {})) {
    const tsegs = segments(template);
    if (tsegs.length !== segs.length) continue;
    let ok = true;
    const score = [];
    for (let i = 0; i < tsegs.length && ok; i++) {
      const isParam = /^\{[^}]+\}$/.test(tsegs[i]);
      if (isParam) ok = segs[i].length > 0;
      else ok = tsegs[i] === segs[i];
      score.push(isParam ? 1 : 0);
    }
    if (ok) found.push({ template, score: score.join('') });
  }
  found.sort((a, b) => a.score.localeCompare(b.score));
  return found.map((f) => f.template);
}

function baseMediaType(ct) {
  return (ct ?? '').split(';')[0].trim().toLowerCase();
}

function findMedia(content, contentType) {
  const want = baseMediaType(contentType);
  const keys = Object.keys(content ?? {});
  return keys.find((k) => baseMediaType(k) === want)
    ?? keys.find((k) => k.endsWith('/*') && want.startsWith(k.slice(0, -1)))
    ?? keys.find((k) => k === '*/*');
}

function isJsonType(mt) {
  return mt === 'application/json' || /^application\/[^;]*\+json$/.test(mt);
}

// ---- checking one exchange ----------------------------------------------------------

// Returns {where, response} (response dereferenced) or {error}.
function documentedResponse(doc, rec) {
  const method = rec.method.toUpperCase();
  const status = String(rec.status);
  const component = (name) => {
    const r = doc.components?.responses?.[name];
    if (!r) return { error: `components/responses/${name} is missing from the document` };
    return { where: `components/responses/${name}`, response: deref(doc, r) };
  };
  const templates = matchTemplates(doc, rec.path);
  if (templates.length === 0) {
    const name = ROUTER_UNKNOWN_PATH[status];
    if (name) return component(name);
    return { error: `no path template matches ${rec.path} (and ${status} is not a router answer)` };
  }
  if (method === 'OPTIONS') {
    if (status === '204') return { where: 'OPTIONS (router)', response: { description: '' } };
    if (ROUTER_ANY_PATH[status]) return component(ROUTER_ANY_PATH[status]);
    return { error: `OPTIONS answered ${status}, the router answers 204` };
  }
  const lookup = method === 'HEAD' ? 'get' : method.toLowerCase();
  const template = templates.find((t) => deref(doc, doc.paths[t])?.[lookup]);
  if (!template) {
    const name = ROUTER_WRONG_METHOD[status];
    if (name) return component(name);
    return { error: `${method} is not documented on ${templates[0]} (and ${status} is not 405)` };
  }
  const op = deref(doc, doc.paths[template])[lookup];
  const responses = op.responses ?? {};
  const key = [status, `${status[0]}XX`, `${status[0]}xx`, 'default'].find((k) => k in responses);
  if (!key) {
    if (ROUTER_ANY_PATH[status]) return component(ROUTER_ANY_PATH[status]);
    return { error: `${method} ${template} has no ${status} response documented` };
  }
  return { where: `${lookup.toUpperCase()} ${template} → ${key}`, response: deref(doc, responses[key]) };
}

function checkExchange(doc, ajv, cache, rec) {
  const found = documentedResponse(doc, rec);
  if (found.error) return [found.error];
  const { where, response } = found;
  const content = response.content ?? {};
  const hasContent = Object.keys(content).length > 0;
  const method = rec.method.toUpperCase();
  const emptyBody = rec.body == null || rec.body === '';
  if (!hasContent) {
    if (rec.content_type || !emptyBody)
      return [`${where}: documented without a body but answered ${rec.content_type ?? 'a body'}`];
    return [];
  }
  if (!rec.content_type) {
    if (method === 'HEAD' && emptyBody) return [];
    return [`${where}: answered no Content-Type; documented: ${Object.keys(content).join(', ')}`];
  }
  const mediaKey = findMedia(content, rec.content_type);
  if (!mediaKey) {
    return [`${where}: Content-Type ${rec.content_type} is not documented (documented: ${Object.keys(content).join(', ')})`];
  }
  if (method === 'HEAD') return [];
  const schema = content[mediaKey].schema;
  if (!schema) return [];
  let body = rec.body;
  if (isJsonType(baseMediaType(rec.content_type)) && typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return [`${where}: ${rec.content_type} body is not JSON: ${body.slice(0, 120)}`];
    }
  }
  const cacheKey = `${where} ${mediaKey}`;
  let validate = cache.get(cacheKey);
  if (!validate) {
    validate = ajv.compile(forAjv(schema));
    cache.set(cacheKey, validate);
  }
  if (validate(body)) return [];
  return validate.errors.map((e) =>
    `${where} (${mediaKey}): body${e.instancePath} ${e.message}` +
    (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''));
}

// ---- main ------------------------------------------------------------------------------

function main() {
  const [docFile, dir] = process.argv.slice(2);
  if (!docFile || !dir) usage('two arguments expected');
  const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
  if (!fs.existsSync(dir)) usage(`${dir} does not exist: no integration test recorded anything (is SLUICE_TEST_RESPONSES_DIR set for them?)`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  const ajv = makeAjv(doc);
  const cache = new Map();
  const failures = [];
  const covered = new Set();
  let validated = 0;
  for (const f of files) {
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const at = `${f}:${i + 1}`;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch (e) {
        failures.push(`${at}: not JSON (${e.message})`);
        return;
      }
      if (typeof rec.method !== 'string' || typeof rec.path !== 'string' ||
          !Number.isInteger(rec.status)) {
        failures.push(`${at}: not an exchange (method, path and status expected)`);
        return;
      }
      let problems;
      try {
        problems = checkExchange(doc, ajv, cache, rec);
      } catch (e) {
        problems = [`cannot check: ${e.message}`];
      }
      validated++;
      const label = `${rec.method} ${rec.path} → ${rec.status}`;
      if (problems.length === 0) {
        covered.add(`${rec.method} ${(matchTemplates(doc, rec.path)[0] ?? '(unknown path)')} ${rec.status}`);
        return;
      }
      for (const p of problems) failures.push(`${at}: ${label}: ${p}`);
    });
  }
  for (const f of failures) console.error(f);
  console.log(`validate-responses: ${validated} response(s) from ${files.length} file(s) in ${dir}, ` +
              `${covered.size} distinct (method, path, status), ${failures.length} mismatch(es)`);
  if (validated === 0) {
    console.error('validate-responses: nothing was validated: the integration tests recorded no response');
    process.exit(2);
  }
  process.exit(failures.length ? 1 : 0);
}

main();
