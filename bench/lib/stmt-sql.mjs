#!/usr/bin/env node
// stmt-sql.mjs: prints the SQL text of one prepared statement of sluice, for pgbench.
//
//   node bench/lib/stmt-sql.mjs PREPROCESSED.i VARIABLE
//
// PREPROCESSED.i is a C file of server/ run through the preprocessor (cc -E -P, so that
// the SQL macros of the file are expanded exactly as the compiler sees them); VARIABLE
// names a `static struct db_stmt VARIABLE = DB_STMT("...")`. The string literals of its
// initialiser are concatenated and unescaped — the very text sluice prepares — and its
// parameters $1, $2... are written :p1, :p2... for `pgbench -M prepared -D p1=...`
// (pgbench numbers them back in order of appearance); a colon inside a string literal is
// spelt so that pgbench does not take it for a variable. Exit 1 when not found.
import fs from 'node:fs';

const [file, name] = process.argv.slice(2);
if (!file || !name) {
  console.error('usage: stmt-sql.mjs PREPROCESSED.i VARIABLE');
  process.exit(2);
}
const src = fs.readFileSync(file, 'latin1');
// After preprocessing: VARIABLE = {.sql = ( "..." "..." ), .id = 0}
const start = src.search(new RegExp(`\\b${name}\\s*=\\s*\\{\\s*\\.sql\\s*=\\s*\\(`));
if (start < 0) {
  console.error(`stmt-sql: no statement ${name} in ${file}`);
  process.exit(1);
}
let i = src.indexOf('(', start) + 1;
const bytes = [];
for (;;) {
  while (/\s/.test(src[i])) i++;
  if (src[i] === ')') break;
  if (src[i] !== '"') {
    console.error(`stmt-sql: unexpected ${JSON.stringify(src.slice(i, i + 20))} in ${name}`);
    process.exit(1);
  }
  for (i++; src[i] !== '"'; i++) {
    if (src[i] !== '\\') {
      bytes.push(src.charCodeAt(i));
      continue;
    }
    const c = src[++i];
    const simple = { n: 10, t: 9, r: 13, '\\': 92, '"': 34, "'": 39, '?': 63 };
    if (c in simple) {
      bytes.push(simple[c]);
    } else if (c === 'x') {
      let hex = '';
      while (/[0-9a-fA-F]/.test(src[i + 1])) hex += src[++i];
      bytes.push(parseInt(hex, 16));
    } else if (/[0-7]/.test(c)) {
      let oct = c;
      while (oct.length < 3 && /[0-7]/.test(src[i + 1])) oct += src[++i];
      bytes.push(parseInt(oct, 8));
    } else {
      console.error(`stmt-sql: unsupported escape \\${c} in ${name}`);
      process.exit(1);
    }
  }
  i++;
}
const sql = Buffer.from(bytes).toString('utf8');
// pgbench takes every `:name` for a variable, even inside a string literal (the
// 'HH24:MI:SS' of JSON_SQL_UTC): there a colon becomes ' || ':' || ', the same constant
// (PostgreSQL folds it when planning), which pgbench leaves alone.
const literalsSafe = sql.replace(/'(?:[^']|'')*'/g, (lit) =>
  lit.replace(/:(?=[A-Za-z_])/g, "' || ':' || '"));
process.stdout.write(`${literalsSafe.replace(/\$(\d+)/g, ':p$1')};\n`);
