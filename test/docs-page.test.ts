import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { createTestDatabase, IDENTIFIERS_PATH, PROFILE_PATH, type TestDatabase } from './helpers.js';
import { type ServerProcess, startServer } from './process-helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KEY = 'docs-page-key-0123456789';
const SCREENSHOT = path.resolve(import.meta.dirname, '..', 'test-results', 'docs-page.png');

describe('the /docs reference page in a real browser', { skip: fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let browser: Browser;
  before(async () => {
    database = await createTestDatabase('sqlite');
    server = await startServer({ DATABASE_URL: `sqlite:${database.config.kind === 'sqlite' ? database.config.file : ''}`, CROSSWALK_API_KEY: KEY });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await database?.drop();
  });

  test('/openapi.json is OpenAPI 3.1 with every operation', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    assert.equal(document.openapi, '3.1.0');
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId)).sort();
    assert.deepEqual(operations, [
      'batchSetIntegrationIdentifiers', 'createDestination', 'createProfile', 'createWebhookEndpoint', 'deleteAccessLevel', 'deleteCurrencyRate',
      'deleteDestination', 'deleteProduct', 'deleteProfile', 'deleteWebhookEndpoint', 'getApiKeyInfo', 'getAppStats', 'getIdentifierHistory',
      'getIntegrationIdentifiers', 'getProfile', 'getRefundSaverSettings', 'getRevenueSettings', 'grantAccessLevel',
      'listAccessLevels', 'listAuditEntries', 'listCurrencyRates', 'listDestinationDeliveries', 'listDestinations', 'listProducts',
      'listWebhookDeliveries', 'listWebhookEndpoints', 'lookupIntegrationIdentifier',
      'redeliverToDestination', 'redeliverWebhook', 'revokeAccessLevel', 'setAccessLevel', 'setCurrencyRate', 'setIntegrationIdentifiers',
      'setProduct', 'setRefundSaverSettings', 'setRevenueSettings', 'setTransaction', 'testDestination', 'updateProfile',
    ]);
  });

  test('the page loads, lists the operations, and a request can be tried from it', async () => {
    const headers = { authorization: `Api-Key ${KEY}`, 'adapty-customer-user-id': 'docs-user', 'content-type': 'application/json' };
    await fetch(server.url + PROFILE_PATH, { method: 'POST', headers, body: '{}' });
    await fetch(server.url + IDENTIFIERS_PATH, { method: 'POST', headers, body: '{"appsflyer_id":"seen-in-the-browser"}' });

    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('.opblock');
    const paths = await page.locator('.opblock-summary-path').allInnerTexts();
    // Eleven Adapty-compatible operations, three identifier extensions, five webhook operations,
    // eleven revenue configuration operations, six destination operations, the audit trail, the
    // app's counts and the key's scope.
    assert.equal(paths.length, 39);
    assert.ok(paths.some((p) => p.includes('/crosswalk/v1/destinations/deliveries/')));
    assert.ok(paths.some((p) => p.includes('/api/v2/server-side-api/purchase/set/transaction/')));
    assert.ok(paths.some((p) => p.includes('/crosswalk/v1/revenue/products/')));
    assert.ok(paths.some((p) => p.includes('/crosswalk/v1/integration-identifiers/lookup/')));
    assert.ok(paths.some((p) => p.includes('/crosswalk/v1/webhooks/endpoints/')));
    assert.ok(paths.some((p) => p.includes('/api/v2/server-side-api/profile/')));
    assert.ok(paths.some((p) => p.includes('/integration-identifiers/')));
    assert.ok(paths.some((p) => p.includes('/crosswalk/v1/stats/')));
    assert.ok(paths.some((p) => p.includes('/crosswalk/v1/key/')));

    // Crosswalk's page: its name in the title and the heading, no framework logo or top bar.
    assert.equal(await page.title(), 'Crosswalk API reference');
    assert.match(await page.locator('.info .title').innerText(), /^Crosswalk/);
    assert.equal(await page.locator('.topbar').isVisible(), false);
    assert.equal(await page.locator('img[src*="logo"], .topbar-wrapper svg').filter({ visible: true }).count(), 0);
    const icons = await page.locator('link[rel=icon]').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    assert.deepEqual(icons, ['/docs/static/theme/crosswalk.svg']);
    const html = await (await fetch(`${server.url}/docs/`)).text();
    assert.ok(!/swagger/i.test(html.match(/<title>[^<]*<\/title>/)![0]) && !html.includes('favicon-32x32.png'));

    // Authorize with the key, as a reader would.
    await page.locator('.btn.authorize').first().click();
    await page.locator('.modal-ux input[type=text], .modal-ux input:not([type])').first().fill(`Api-Key ${KEY}`);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    // Open "get integration identifiers", fill the header, execute.
    const operation = page.locator('[id$="-getIntegrationIdentifiers"]');
    await operation.locator('.opblock-summary').click();
    const tryIt = operation.locator('button.try-out__btn');
    if ((await tryIt.count()) > 0 && (await tryIt.innerText()).includes('Try')) await tryIt.click();
    await operation.locator('tr[data-param-name="adapty-customer-user-id"] input').fill('docs-user');
    await operation.locator('button.execute').click();
    const responseBody = operation.locator('.live-responses-table .response-col_description pre').first();
    await responseBody.waitFor();
    assert.match(await responseBody.innerText(), /seen-in-the-browser/);
    assert.match(await operation.locator('.live-responses-table .response .response-col_status').first().innerText(), /200/);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(SCREENSHOT).size > 10_000);
  });
});
