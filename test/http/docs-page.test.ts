// SPEC §13: /docs, opened in a real headless Chromium (Debian's `chromium`, which .ci/run installs),
// renders the example's routes from /openapi.json, with the API key, and asks nothing of any other host.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { loadAppFile } from '../../libs/kalium/process/load-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis } from '../helpers/redis-server.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

test('the /docs page renders every route of the example, loading only from the api', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const example = await loadAppFile('apps/example/app.ts');
  const api = await startInProcessApi(example, { REDIS_URL: redis.url, API_KEY: 'page-key' });
  t.teardown(() => api.close());

  const profile = await mkdtemp(join(tmpdir(), 'kalium-docs-chromium-'));
  t.teardown(() => rm(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', ...FLAGS],
    extraHTTPHeaders: { authorization: 'Bearer page-key' },
  });
  t.teardown(() => browser.close());

  const origin = new URL(api.url).origin;
  const elsewhere: string[] = [];
  const problems: string[] = [];
  browser.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.origin !== origin) elsewhere.push(request.url());
  });
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  const response = await page.goto(`${api.url}/docs`);
  t.is(response?.status(), 200);
  await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
  const operations = await page.locator('.opblock-summary').evaluateAll((nodes) =>
    nodes.map((node) => {
      const method = node.querySelector('.opblock-summary-method')?.textContent?.trim();
      const path = node.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? node.querySelector('.opblock-summary-path')?.textContent?.trim();
      return `${method} ${path}`;
    }),
  );
  for (const operation of ['POST /', 'POST /background', 'POST /result', 'GET /jobs/{id}', 'DELETE /jobs/{id}', 'GET /jobs/{id}/events']) {
    t.true(operations.includes(operation), `${operation} is on the page (found: ${operations.join(', ')})`);
  }
  t.regex(await page.locator('.info .title').innerText(), /example/);
  // A route's schemas are shown once it is opened: the example body of POST / is built from its input
  // schema, and its 200 answer lists the output schema's fields.
  await page.locator('.opblock-summary', { hasText: 'Sentiment and entities of one text' }).first().click();
  const exampleBody = await page.waitForFunction(
    () => {
      const text = document.querySelector<HTMLTextAreaElement>('.opblock.is-open textarea')?.value ?? '';
      return text.includes('"text"') ? text : undefined;
    },
    undefined,
    { timeout: 15_000 },
  );
  t.deepEqual(Object.keys(JSON.parse(String(await exampleBody.jsonValue()))), ['text']);
  await page.waitForFunction(() => /"label"/.test(document.querySelector('.opblock.is-open .responses-table')?.textContent ?? ''), undefined, { timeout: 15_000 });

  // And it is interactive (the page opens routes ready to try): Execute sends the body from the page to the api.
  await page.locator('.opblock.is-open textarea').first().fill(JSON.stringify({ text: 'I love this page.' }));
  await page.locator('.opblock.is-open .execute').click();
  const live = page.locator('.opblock.is-open .live-responses-table tbody .response-col_status').first();
  await live.waitFor({ timeout: 15_000 });
  t.is((await live.innerText()).trim(), '200');
  t.regex(await page.locator('.opblock.is-open .live-responses-table .microlight').first().innerText(), /"label": "positive"/);

  t.deepEqual(elsewhere, [], 'nothing was requested from another host');
  t.deepEqual(problems, [], 'no script or Content-Security-Policy errors');
});
