#!/usr/bin/env node
// docs.spec.mjs: headless Chromium (Debian's, driven by playwright-core) opens the Swagger
// UI that sluice serves at /docs and checks what a user sees there.
//
//   node tests/browser/docs.spec.mjs http://127.0.0.1:PORT     (tests/browser/run.sh does)
//
// Checks, each printed as it passes; the first failure stops the run with exit 1:
//   1. every operation of /openapi.json is listed as an .opblock (method + path), among
//      them GET /healthz and GET /readyz, and the page raised no JavaScript error;
//   2. when the document has GET /users/me: Authorize (OAuth2 password flow with
//      admin / admin-password-123, the account run.sh creates) → Try it out on
//      GET /users/me → Execute answers 200 (checkAuthorizeTryUsersMe below).
// Environment: CHROMIUM (default /usr/bin/chromium), SLUICE_BROWSER_TIMEOUT_MS (15000).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ADMIN = { username: 'admin', password: 'admin-password-123' };
const TIMEOUT = Number(process.env.SLUICE_BROWSER_TIMEOUT_MS || 15000);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function ok(msg) {
  console.log(`ok - ${msg}`);
}

class CheckFailed extends Error {}

function check(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

// ---- 1. the operations are listed --------------------------------------------------------

async function checkOperationsListed(page, doc) {
  await page.locator('.opblock').first().waitFor({ timeout: TIMEOUT });
  const listed = new Set(
    await page.$$eval('.opblock', (blocks) =>
      blocks.map((b) => {
        const m = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '';
        const pathEl = b.querySelector('.opblock-summary-path');
        const p = pathEl?.getAttribute('data-path') ?? pathEl?.textContent ?? '';
        return `${m.toUpperCase()} ${p.replace(/\u200b/g, '').trim()}`;
      })));
  const expected = [];
  for (const [p, item] of Object.entries(doc.paths ?? {}))
    for (const m of METHODS) if (item[m]) expected.push(`${m.toUpperCase()} ${p}`);
  check(expected.includes('GET /healthz') && expected.includes('GET /readyz'),
        'the document lists GET /healthz and GET /readyz');
  const missing = expected.filter((op) => !listed.has(op));
  check(missing.length === 0,
        `operations of /openapi.json not shown by /docs: ${missing.join(', ')} ` +
        `(shown: ${[...listed].join(', ')})`);
  ok(`/docs lists all ${expected.length} operations of /openapi.json ` +
     '(GET /healthz and GET /readyz among them)');
}

// ---- 2. Authorize → Try it out GET /users/me → 200 ---------------------------------------
// Runs whenever the document has GET /users/me (the auth endpoints): logs in through the
// Authorize dialog's OAuth2 password flow (POST /token), then executes GET /users/me
// from its operation block and expects 200 with the admin's username in the body.

async function checkAuthorizeTryUsersMe(page, doc) {
  if (!doc.paths?.['/users/me']?.get) {
    ok('# SKIP Authorize → GET /users/me: the document has no GET /users/me yet');
    return;
  }
  const schemes = doc.components?.securitySchemes ?? {};
  const oauthName = Object.keys(schemes).find(
    (n) => schemes[n].type === 'oauth2' && schemes[n].flows?.password);
  check(oauthName, 'the document declares an OAuth2 password flow security scheme');

  await page.locator('.auth-wrapper .btn.authorize').first().click();
  const dialog = page.locator('.modal-ux');
  await dialog.waitFor({ timeout: TIMEOUT });
  // The dialog holds one container per scheme: use the OAuth2 one.
  const box = dialog.locator('.auth-container').filter({ hasText: oauthName }).first();
  await box.locator('#oauth_username').fill(ADMIN.username);
  await box.locator('#oauth_password').fill(ADMIN.password);
  const tokenAnswer = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/token' && r.request().method() === 'POST',
    { timeout: TIMEOUT });
  await box.locator('button.authorize').click();
  const token = await tokenAnswer;
  check(token.status() === 200, `POST /token from the Authorize dialog answered ${token.status()}`);
  // Logged in: the container offers "Logout" instead of "Authorize".
  await box.locator('button', { hasText: 'Logout' }).waitFor({ timeout: TIMEOUT });
  await dialog.locator('button.btn-done, button.close-modal').first().click();
  ok('Authorize: password flow as admin got a token from POST /token');

  const block = page.locator('.opblock.opblock-get').filter({
    has: page.locator('.opblock-summary-path[data-path="/users/me"]'),
  }).first();
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  const meAnswer = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/users/me' && r.request().method() === 'GET',
    { timeout: TIMEOUT });
  await block.locator('button.execute').click();
  const me = await meAnswer;
  check(me.request().headers().authorization?.startsWith('Bearer '),
        'Try it out sent GET /users/me with a bearer token');
  const status = block.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: TIMEOUT });
  const shown = (await status.textContent()).trim();
  check(me.status() === 200 && shown.startsWith('200'),
        `GET /users/me after Authorize answered ${me.status()} (Swagger UI shows "${shown}")`);
  const body = await me.json();
  check(body.username === ADMIN.username,
        `GET /users/me answered the admin (got ${JSON.stringify(body).slice(0, 200)})`);
  ok('Try it out: GET /users/me answered 200 for admin');
}

// ---- driver -----------------------------------------------------------------------------

async function main() {
  const base = process.argv[2];
  if (!base) {
    console.error('usage: docs.spec.mjs http://127.0.0.1:PORT');
    process.exit(2);
  }
  const doc = await (await fetch(`${base}/openapi.json`)).json();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  let failed = false;
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => errors.push(e.message));
    // Nothing may come from outside: the UI must work offline.
    await page.route((url) => !url.href.startsWith(base), (route) => {
      errors.push(`request outside sluice: ${route.request().url()}`);
      return route.abort();
    });
    const answer = await page.goto(`${base}/docs`, { waitUntil: 'load' });
    check(answer.status() === 200, `GET /docs answered ${answer.status()}`);
    await checkOperationsListed(page, doc);
    check(errors.length === 0, `errors on the page: ${errors.join('; ')}`);
    ok('no JavaScript error and no request outside sluice');
    await checkAuthorizeTryUsersMe(page, doc);
    check(errors.length === 0, `errors on the page: ${errors.join('; ')}`);
  } catch (e) {
    failed = true;
    console.error(`not ok - ${e instanceof CheckFailed ? e.message : e.stack}`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`not ok - ${e.stack}`);
  process.exit(1);
});
