import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { DESTINATION_DELIVERY_STATUSES as CONSOLE_DESTINATION_STATUSES, DESTINATION_TYPES as CONSOLE_DESTINATION_TYPES } from '../console/src/wire.js';
import { DESTINATION_TYPE_NAMES } from '../src/domain/destinations.js';
import { DESTINATION_DELIVERY_STATUSES } from '../src/domain/webhooks.js';
import { startAmplitudeFake } from './destinations/fakes/amplitude.js';
import type { ToolFake } from './destinations/fakes/fake.js';
import { createTestDatabase, envelope, IDENTIFIERS_PATH, PROFILE_PATH, subscriptionBody, type TestDatabase, TRANSACTION_PATH } from './helpers.js';
import { runCliProcess, type ServerProcess, startServer } from './process-helpers.js';
import { type Receiver, startReceiver } from './webhooks/support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '..');
const RESULTS = path.join(ROOT, 'test-results');
const DOCS_SCREENSHOT = path.join(ROOT, 'docs', 'images', 'console-profile.png');
const ADMIN_KEY = 'console-admin-key-0123456789';
const READ_KEY = 'console-read-key-0123456789';
const APPSFLYER_ID = '1712345678901-1234567';
const USER = 'console-user-42';
/** A profile without an Amplitude id: its deliveries to Amplitude are skipped, with the reason. */
const OTHER = 'someone-else';
const SKIP_REASON = 'no amplitude_user_id or amplitude_device_id on the profile';

/** Evaluates `expression` in the page (written as text: the test is compiled without the browser's types). */
const inPage = (page: Page, expression: string): Promise<unknown> => page.evaluate(expression);

const json = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Api-Key ${key}`, 'content-type': 'application/json', ...extra });

describe('the operator console in a real browser', { skip: fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, () => {
  let database: TestDatabase;
  let receiver: Receiver;
  let server: ServerProcess;
  let browser: Browser;
  let profileId: string;
  let otherProfileId: string;
  let amplitude: ToolFake;
  let destinationId: string;
  /** Every request any page of the test made, to check that none left the server's origin. */
  const requested: string[] = [];

  const api = async (method: string, url: string, key = ADMIN_KEY, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(server.url + url, { method, headers: json(key, headers), body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  };
  const deliveries = async (query: string) => (await api('GET', `/crosswalk/v1/webhooks/deliveries/${query}`)).body.data as { id: number; status: string }[];
  type DestinationDelivery = { id: number; status: string; profile_id: string; reason: string | null };
  const destinationDeliveries = async (query: string) => (await api('GET', `/crosswalk/v1/destinations/deliveries/${query}`)).body.data as DestinationDelivery[];
  /** Waits until `check` holds for the destination deliveries `query` lists (the server's worker sends them). */
  const waitForDestinationDeliveries = async (query: string, check: (list: DestinationDelivery[]) => boolean, what: string) => {
    for (let i = 0; i < 200 && !check(await destinationDeliveries(query)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(check(await destinationDeliveries(query)), what);
  };

  /** A browser context of its own (its own sessionStorage) at `width`, recording every request. */
  const newPage = async (width = 1280, height = 900): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width, height } });
    context.on('request', (request) => requested.push(request.url()));
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => assert.fail(`the page threw: ${error.message}`));
    return { context, page };
  };
  const signIn = async (page: Page, key: string) => {
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
  };
  const screenshot = async (page: Page, name: string) => {
    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    // The page under test is the one this checkout builds.
    const build = spawnSync(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    database = await createTestDatabase('sqlite');
    const file = database.config.kind === 'sqlite' ? database.config.file : '';
    receiver = await startReceiver(() => 500);
    // A local stand-in for Amplitude's ingestion API, on loopback.
    amplitude = await startAmplitudeFake();
    server = await startServer({
      DATABASE_URL: `sqlite:${file}`,
      CROSSWALK_API_KEY: ADMIN_KEY,
      // The fake endpoint and the fake Amplitude are on loopback; one failed attempt ends a delivery.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_PERIOD_MS: '0',
      WEBHOOK_POLL_INTERVAL_MS: '50',
    });
    const created = await runCliProcess(['keys', 'create', '--scopes', 'read', '--key', READ_KEY, '--name', 'console reader'], { DATABASE_URL: `sqlite:${file}` });
    assert.equal(created.code, 0, created.stderr);

    const endpoint = await api('POST', '/crosswalk/v1/webhooks/endpoints/', ADMIN_KEY, { url: receiver.url, description: 'the failing receiver' });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    const destination = await api('POST', '/crosswalk/v1/destinations/', ADMIN_KEY, { type: 'amplitude', base_url: amplitude.baseUrl, config: amplitude.config });
    assert.equal(destination.status, 201, JSON.stringify(destination.body));
    destinationId = destination.body.data.id;
    // Amplitude refuses the first request (400, a failure for good): the user's transaction fails there.
    amplitude.failNext([400]);
    const user = { 'adapty-customer-user-id': USER };
    const profile = await api('POST', PROFILE_PATH, ADMIN_KEY, { custom_attributes: [{ key: 'plan', value: 'pro' }, { key: 'seats', value: 3 }] }, user);
    assert.equal(profile.status, 200);
    profileId = profile.body.data.profile_id;
    assert.equal((await api('POST', IDENTIFIERS_PATH, ADMIN_KEY, { appsflyer_id: APPSFLYER_ID, amplitude_user_id: USER }, user)).status, 200);
    assert.equal((await api('POST', TRANSACTION_PATH, ADMIN_KEY, subscriptionBody('1000000123456789'), user)).status, 200);
    // Another profile, so that a search lists only the one that matches.
    const other = await api('POST', PROFILE_PATH, ADMIN_KEY, {}, { 'adapty-customer-user-id': OTHER });
    assert.equal(other.status, 200);
    otherProfileId = other.body.data.profile_id;
    // The other profile has no Amplitude id: its transaction is not sent there (skipped, with the reason).
    assert.equal((await api('POST', TRANSACTION_PATH, ADMIN_KEY, subscriptionBody('1000000987654321'), { 'adapty-customer-user-id': OTHER })).status, 200);
    // The receiver answers 500: the deliveries fail.
    for (let i = 0; i < 200 && (await deliveries('?status=failed')).length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok((await deliveries('?status=failed')).length >= 4, 'the deliveries to the failing receiver failed');
    await waitForDestinationDeliveries(
      '',
      (list) => list.length === 2 && list.some((d) => d.status === 'failed' && d.profile_id === profileId) && list.some((d) => d.status === 'skipped' && d.reason === SKIP_REASON),
      'the user’s delivery to Amplitude failed and the other profile’s was skipped',
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
    await amplitude?.close();
    await database?.drop();
  });

  test("the console's files carry a strict Content-Security-Policy; other paths under /console/ are not found", async () => {
    const page = await fetch(`${server.url}/console/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(
      page.headers.get('content-security-policy'),
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const html = await page.text();
    assert.ok(!/https?:\/\//.test(html), 'the page names no other origin');
    for (const [file, type] of [['console.js', 'text/javascript; charset=utf-8'], ['console.css', 'text/css; charset=utf-8']]) {
      const asset = await fetch(`${server.url}/console/${file}`);
      assert.equal(asset.status, 200, file);
      assert.equal(asset.headers.get('content-type'), type);
      assert.ok(asset.headers.get('content-security-policy'));
      const again = await fetch(`${server.url}/console/${file}`, { headers: { 'if-none-match': asset.headers.get('etag')! } });
      assert.equal(again.status, 304, file);
    }
    const missing = await fetch(`${server.url}/console/../package.json`);
    assert.equal(missing.status, 404);
    const other = await fetch(`${server.url}/console/main.tsx`);
    assert.deepEqual(await other.json(), envelope(404, 'not_found', ['non_field_errors', 'There is no such endpoint.']));
  });

  test('a wrong key is refused with the reason; the right one is kept in sessionStorage only', async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.url}/console/`);
    const keyField = page.getByLabel('API key');
    assert.equal(await keyField.getAttribute('type'), 'password');
    await keyField.fill('not-a-key-of-this-server-000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /Invalid API key/);
    assert.equal(await inPage(page, 'sessionStorage.length'), 0);

    await keyField.fill(ADMIN_KEY);
    await keyField.press('Enter');
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    assert.match(await page.locator('.scope').innerText(), /admin key/);
    assert.deepEqual(await inPage(page, 'Object.values(sessionStorage)'), [ADMIN_KEY]);
    assert.equal(await inPage(page, 'localStorage.length'), 0);
    assert.equal(await inPage(page, 'document.cookie'), '');
    assert.deepEqual(await context.cookies(), []);
    assert.ok(!page.url().includes(ADMIN_KEY));
    // A reload keeps the session (this tab's storage); signing out forgets the key.
    await page.reload();
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal(await inPage(page, 'sessionStorage.length'), 0);
    await context.close();
  });

  test('search an identifier value, open the profile, edit an identifier and see its history entry', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    const search = page.getByRole('searchbox', { name: /identifier value/ });
    assert.equal(await search.getAttribute('type'), 'search');
    await search.fill(APPSFLYER_ID);
    await search.press('Enter');
    const results = page.locator('.results li');
    await page.getByText('1 profile match').waitFor();
    assert.equal(await results.count(), 1);
    assert.match(await results.first().innerText(), /matched on appsflyer_id/);
    // The customer user id finds it too.
    await search.fill(USER);
    await search.press('Enter');
    await page.getByText(`1 profile match “${USER}”`).waitFor();
    assert.match(await results.first().innerText(), /customer user id, amplitude_user_id/);

    await results.first().getByRole('link').click();
    await page.getByRole('heading', { name: new RegExp(`^Profile .?${USER}.?$`) }).waitFor();
    assert.ok(page.url().endsWith(`#/profile/${profileId}`));
    const identifiers = page.locator('dl.identifiers');
    await identifiers.waitFor();
    assert.match(await identifiers.locator('[data-key=appsflyer_id]').innerText(), new RegExp(APPSFLYER_ID));
    assert.match(await page.locator('dl.attributes').first().innerText(), new RegExp(profileId));
    assert.match(await page.locator('section[aria-labelledby=attributes-heading]').innerText(), /plan\s+pro/);
    assert.match(await page.locator('section[aria-labelledby=purchases-heading]').innerText(), /1000000123456789/);
    const timeline = page.locator('ol.timeline li');
    await timeline.first().waitFor();
    assert.equal(await timeline.count(), 2);
    const failed = page.locator('section[aria-labelledby=profile-deliveries-heading] tr[data-status=failed]');
    await failed.first().waitFor();
    assert.match(await failed.first().innerText(), /HTTP 500/);

    await page.getByRole('button', { name: 'Edit identifiers' }).click();
    await page.getByLabel('appsflyer_id').fill('1712345678901-7654321');
    await page.getByLabel('mixpanel_user_id').fill('mixpanel-42');
    await page.getByRole('button', { name: 'Save identifiers' }).click();
    await page.getByText('Saved: appsflyer_id, mixpanel_user_id.').waitFor();
    await page.locator('ol.timeline li').nth(3).waitFor();
    const newest = await timeline.allInnerTexts();
    assert.equal(newest.length, 4);
    assert.ok(newest.some((entry) => /appsflyer_id changed from 1712345678901-1234567 to 1712345678901-7654321/.test(entry)), newest.join('\n'));
    assert.ok(newest.some((entry) => /mixpanel_user_id set to mixpanel-42/.test(entry)), newest.join('\n'));
    const stored = await api('GET', IDENTIFIERS_PATH, ADMIN_KEY, undefined, { 'adapty-profile-id': profileId });
    assert.equal(stored.body.appsflyer_id, '1712345678901-7654321');
    assert.equal(stored.body.mixpanel_user_id, 'mixpanel-42');

    await screenshot(page, 'console-profile');
    // The profile view as the README shows it: 1280 px wide.
    fs.mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
    await inPage(page, 'window.scrollTo(0, 0)');
    await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(DOCS_SCREENSHOT).size > 20_000);
    await context.close();
  });

  test('a failed delivery is redelivered from the webhooks view', async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 2 }).waitFor();
    await page.getByText('the failing receiver').waitFor();
    assert.equal(await page.getByLabel('Status').inputValue(), 'failed');
    const rows = page.locator('tr[data-delivery-id]');
    await rows.first().waitFor();
    const before = await deliveries('?limit=100');
    const id = Number(await rows.first().getAttribute('data-delivery-id'));
    assert.equal(before.find((delivery) => delivery.id === id)?.status, 'failed');
    assert.match(await rows.first().innerText(), /HTTP 500/);

    await page.getByRole('button', { name: `Redeliver delivery ${id}` }).click();
    const notice = page.getByText(`Delivery ${id} queued again as delivery`);
    await notice.waitFor();
    const newId = Number(/as delivery (\d+)/.exec(await notice.innerText())![1]);
    const after = await deliveries('?limit=100');
    assert.equal(after.length, before.length + 1);
    assert.ok(after.some((delivery) => delivery.id === newId));
    await screenshot(page, 'console-webhooks');

    await page.getByRole('link', { name: 'App' }).click();
    await page.locator('[data-figure=profiles]').waitFor();
    assert.equal(await page.locator('[data-figure=profiles]').innerText(), '2');
    assert.equal(await page.locator('[data-figure=transactions]').innerText(), '2');
    await screenshot(page, 'console-app');
    await context.close();
  });

  test("an admin sees a profile's destination deliveries, the reason of a skip, and redelivers a failed one", async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    // The profile without an Amplitude id: its transaction was not sent, and the row says why.
    await page.goto(`${server.url}/console/#/profile/${otherProfileId}`);
    await page.getByRole('heading', { name: 'Destination deliveries about this profile' }).waitFor();
    const section = page.locator('section[aria-labelledby=profile-destination-deliveries-heading]');
    const skipped = section.locator('tr[data-status=skipped]');
    await skipped.first().waitFor();
    assert.equal(await section.locator('tr[data-destination-delivery-id]').count(), 1);
    assert.deepEqual(await section.locator('th').allInnerTexts(), ['Id', 'Tool', 'Status', 'Event', 'Outcome', 'Created, last attempt', '']);
    const cells = await skipped.first().locator('td').allInnerTexts();
    assert.deepEqual(cells.slice(1, 5), ['amplitude', 'skipped\n1 attempt', 'transaction.recorded', SKIP_REASON]);
    assert.match(cells[5]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\nlast attempt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    // A skipped delivery would be skipped again: only failed ones have a Redeliver button.
    assert.equal(await section.getByRole('button', { name: /Redeliver/ }).count(), 0);
    // The webhook deliveries about the profile are still listed beside them.
    await page.locator('section[aria-labelledby=profile-deliveries-heading] tr[data-delivery-id]').first().waitFor();
    await screenshot(page, 'console-profile-destination-skipped');

    // The user's transaction: Amplitude refused it, in its own words; an admin sends it again.
    await page.goto(`${server.url}/console/#/profile/${profileId}`);
    await page.getByRole('heading', { name: new RegExp(`^Profile .?${USER}.?$`) }).waitFor();
    const failed = section.locator('tr[data-status=failed]');
    await failed.first().waitFor();
    assert.match(await failed.first().innerText(), /Amplitude 400: Invalid field values on some events \(invalid: time\)/);
    const id = Number(await failed.first().getAttribute('data-destination-delivery-id'));
    const counted = amplitude.counted().length;
    await section.getByRole('button', { name: `Redeliver destination delivery ${id}` }).click();
    const notice = section.getByText(`Delivery ${id} queued again as delivery`);
    await notice.waitFor();
    const newId = Number(/as delivery (\d+)/.exec(await notice.innerText())![1]);
    await waitForDestinationDeliveries(`?profile_id=${profileId}`, (list) => list.some((d) => d.id === newId && d.status === 'succeeded'), 'the redelivery succeeded');
    assert.equal(amplitude.counted().length, counted + 1);
    assert.equal(amplitude.counted().at(-1)!.userId, USER);
    await section.getByRole('button', { name: /^Refresh/ }).click();
    const redelivered = section.locator(`tr[data-destination-delivery-id="${newId}"][data-status=succeeded]`);
    await redelivered.waitFor();
    assert.match(await redelivered.innerText(), /answered HTTP 200/);
    await screenshot(page, 'console-profile-destinations');
    await context.close();
  });

  test('the destinations view lists them, sends a test event to each, lists deliveries by status and removes one', async () => {
    // A second destination whose requests the fake refuses (a path Amplitude does not have).
    const secondUrl = `${amplitude.baseUrl}/second`;
    const second = await api('POST', '/crosswalk/v1/destinations/', ADMIN_KEY, {
      type: 'amplitude',
      base_url: secondUrl,
      config: { ...amplitude.config, min_id_length: '3' },
      event_names: { purchase: 'bought' },
      include_sandbox: true,
    });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const { context, page } = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.getByRole('link', { name: 'Destinations' }).click();
    await page.getByRole('heading', { name: 'Destinations', level: 2 }).waitFor();
    assert.ok(page.url().endsWith('#/destinations'));
    assert.equal(await page.getByRole('link', { name: 'Destinations' }).getAttribute('aria-current'), 'page');
    const cards = page.locator('article[data-destination-id]');
    await cards.nth(1).waitFor();
    assert.equal(await cards.count(), 2);

    const card = page.locator(`article[data-destination-id="${destinationId}"]`);
    const text = await card.innerText();
    assert.ok(text.startsWith(`amplitude ${amplitude.baseUrl}`), text);
    assert.match(text, /Events\s+transaction\.recorded/);
    assert.match(text, /Sandbox transactions\s+not sent/);
    assert.match(text, /api_key\s+fake…/);
    assert.ok(!text.includes(amplitude.config.api_key!), 'the credential is shown only as a hint');
    assert.match(text, /purchase\s+purchase_completed/);
    assert.match(text, /renewal\s+subscription_renewed/);
    const secondText = await page.locator(`article[data-destination-id="${second.body.data.id}"]`).innerText();
    assert.match(secondText, /min_id_length\s+3/);
    assert.match(secondText, /purchase\s+bought/);
    assert.match(secondText, /Sandbox transactions\s+sent/);

    // The test event reaches the fake Amplitude, which counts it; the verdict and the answer are shown.
    const counted = amplitude.counted().length;
    await page.getByRole('button', { name: `Send test event to amplitude (${amplitude.baseUrl})`, exact: true }).click();
    const verdict = card.locator('[data-verdict]');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-verdict'), 'succeeded');
    assert.match(await verdict.innerText(), /^Test event succeeded: amplitude took it \(HTTP 200\)\.\s+The tool's answer:\s+\{"code":200,"events_ingested":1,/);
    assert.equal(amplitude.counted().length, counted + 1);
    const event = amplitude.counted().at(-1)!;
    assert.equal(event.eventName, 'purchase_completed');
    assert.equal(event.revenue, 0.01);
    assert.match(event.userId, /^crosswalk-test-/);
    // The second's is refused: failed, with Amplitude's message.
    await page.getByRole('button', { name: `Send test event to amplitude (${secondUrl})`, exact: true }).click();
    const refused = page.locator(`article[data-destination-id="${second.body.data.id}"] [data-verdict]`);
    await refused.waitFor();
    assert.equal(await refused.getAttribute('data-verdict'), 'failed');
    assert.match(await refused.innerText(), /^Test event failed \(HTTP 400\): Amplitude 400: Invalid request path\./);
    assert.equal(amplitude.counted().length, counted + 1);
    await screenshot(page, 'console-destinations');

    // Deliveries: failed ones first, then by any status, with the reasons.
    const deliveriesSection = page.locator('section[aria-labelledby=destination-deliveries-heading]');
    assert.equal(await page.getByLabel('Status').inputValue(), 'failed');
    const rows = deliveriesSection.locator('tr[data-destination-delivery-id]');
    await rows.first().waitFor();
    assert.deepEqual(await rows.evaluateAll((list) => list.map((row) => row.getAttribute('data-status'))), ['failed']);
    assert.match(await rows.first().innerText(), /amplitude\s+failed\s+1 attempt\s+transaction\.recorded/);
    // At 1280 px the whole table shows, the Redeliver button included, without scrolling sideways.
    assert.equal(await inPage(page, "[...document.querySelectorAll('.destination-deliveries .overflow-auto')].every((box) => box.scrollWidth <= box.clientWidth)"), true);
    assert.equal(await rows.first().getByRole('button', { name: /^Redeliver destination delivery \d+$/ }).count(), 1);
    await page.getByLabel('Status').selectOption('skipped');
    await deliveriesSection.locator('tr[data-status=skipped]').waitFor();
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().innerText(), new RegExp(SKIP_REASON));
    assert.equal(await rows.first().getByRole('link').getAttribute('href'), `#/profile/${otherProfileId}`);
    assert.deepEqual(await page.getByLabel('Destination', { exact: true }).locator('option').allInnerTexts(), ['any', `amplitude (${amplitude.baseUrl})`, `amplitude (${secondUrl})`]);
    await page.getByLabel('Destination', { exact: true }).selectOption(second.body.data.id);
    await deliveriesSection.getByText('No destination deliveries.').waitFor();

    // Remove asks first: dismissed, nothing happens; confirmed, the destination goes.
    const removeSecond = page.getByRole('button', { name: `Remove destination amplitude (${secondUrl})`, exact: true });
    page.once('dialog', (dialog) => void dialog.dismiss());
    await removeSecond.click();
    assert.equal((await api('GET', '/crosswalk/v1/destinations/')).body.data.length, 2);
    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await removeSecond.click();
    await removeSecond.waitFor({ state: 'detached' });
    assert.equal(question, `Remove the amplitude destination (${secondUrl})? Its pending deliveries are cancelled.`);
    assert.equal(await cards.count(), 1);
    assert.deepEqual(
      (await api('GET', '/crosswalk/v1/destinations/')).body.data.map((destination: { id: string }) => destination.id),
      [destinationId],
    );
    await context.close();
  });

  test('a read key sees no edit control, and a refused operation says why', async () => {
    const { context, page } = await newPage();
    const destinationCalls: string[] = [];
    context.on('request', (request) => request.url().includes('/crosswalk/v1/destinations') && destinationCalls.push(request.url()));
    await signIn(page, READ_KEY);
    assert.match(await page.locator('.scope').innerText(), /read key/);
    // Destinations are for admin keys: no link to them.
    assert.equal(await page.getByRole('link', { name: 'Destinations' }).count(), 0);
    await page.goto(`${server.url}/console/#/profile/${profileId}`);
    await page.locator('dl.identifiers').waitFor();
    await page.locator('section[aria-labelledby=profile-deliveries-heading] tr[data-delivery-id]').first().waitFor();
    // Instead of the destination deliveries, a line says who may see them; no refusal.
    const destinationSection = page.locator('section[aria-labelledby=profile-destination-deliveries-heading]');
    assert.equal(
      await destinationSection.locator('[data-admin-only]').innerText(),
      "Destination deliveries are shown to admin keys only: destinations hold the tools' credentials.",
    );
    assert.equal(await destinationSection.getByRole('alert').count(), 0);
    assert.equal(await destinationSection.locator('table').count(), 0);
    await screenshot(page, 'console-read-key-profile');
    assert.equal(await page.getByRole('button', { name: 'Edit identifiers' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /Redeliver/ }).count(), 0);
    assert.equal(await page.locator('input:not([type=search])').count(), 0);

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.locator('tr[data-delivery-id]').first().waitFor();
    assert.equal(await page.getByRole('button', { name: /Redeliver|Remove/ }).count(), 0);
    assert.equal(await page.getByText('Add an endpoint').count(), 0);

    // Typed in, the destinations view says the same, with no control.
    await page.goto(`${server.url}/console/#/destinations`);
    await page.getByRole('heading', { name: 'Destinations', level: 2 }).waitFor();
    assert.equal(await page.locator('[data-admin-only]').innerText(), "Destinations are shown to admin keys only: they hold the tools' credentials.");
    assert.equal(await page.getByRole('button', { name: /Send test event|Remove|Redeliver/ }).count(), 0);
    assert.equal(await page.locator('select, article, table').count(), 0);
    await screenshot(page, 'console-read-key-destinations');
    assert.deepEqual(destinationCalls, [], 'a read key never calls the destinations operations');

    await page.getByRole('link', { name: 'App' }).click();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    assert.equal(await refused.innerText(), 'Not allowed: This API key has the read scope; this operation needs the admin scope.');
    await screenshot(page, 'console-read-key');
    await context.close();
  });

  test('usable with the keyboard alone, and readable on a phone (375 px)', async () => {
    const { context, page } = await newPage(375, 740);
    await page.goto(`${server.url}/console/`);
    await page.keyboard.press('Tab');
    assert.equal(await inPage(page, 'document.activeElement?.id'), 'api-key');
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    // Tab from the view's heading to the search box, type, search, then Tab to the result's link.
    const tabTo = async (matches: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 15 && !(await matches()); i++) await page.keyboard.press('Tab');
      assert.ok(await matches(), 'reachable with Tab');
    };
    await tabTo(async () => (await inPage(page, 'document.activeElement?.id')) === 'search-input');
    await page.keyboard.type('mixpanel-42');
    await page.keyboard.press('Enter');
    await page.getByText('1 profile match').waitFor();
    await tabTo(async () => String(await inPage(page, "document.activeElement?.getAttribute('href')")).startsWith('#/profile/'));
    await page.keyboard.press('Enter');
    await page.locator('ol.timeline li').first().waitFor();
    assert.equal(await inPage(page, 'document.activeElement?.id'), 'profile-heading');
    await screenshot(page, 'console-phone-profile');
    // Nothing wider than the screen: wide tables scroll inside their own box.
    const wideElements =
      "[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 376 && !e.closest('.overflow-auto')).map((e) => e.tagName + '.' + e.className)";
    const wider = await inPage(page, wideElements);
    assert.deepEqual(wider, []);
    assert.ok(Number(await inPage(page, 'document.documentElement.scrollWidth')) <= 375);
    await page.locator('section[aria-labelledby=profile-destination-deliveries-heading] tr[data-destination-delivery-id]').first().waitFor();

    // The destinations view: from its heading, Tab to the test button and press Enter.
    await page.goto(`${server.url}/console/#/destinations`);
    await page.locator('article[data-destination-id]').first().waitFor();
    assert.equal(await inPage(page, 'document.activeElement?.id'), 'destinations-heading');
    await tabTo(async () => String(await inPage(page, "document.activeElement?.getAttribute('aria-label')")).startsWith('Send test event to amplitude'));
    await page.keyboard.press('Enter');
    await page.locator('[data-verdict=succeeded]').waitFor();
    // Then on to the deliveries' status, changed with the keyboard.
    await tabTo(async () => (await inPage(page, 'document.activeElement?.id')) === 'destination-delivery-status');
    await page.keyboard.press('ArrowDown');
    await page.locator('section[aria-labelledby=destination-deliveries-heading] tr[data-destination-delivery-id]').first().waitFor();
    await screenshot(page, 'console-phone-destinations');
    assert.deepEqual(await inPage(page, wideElements), []);
    assert.ok(Number(await inPage(page, 'document.documentElement.scrollWidth')) <= 375);
    await context.close();
  });

  test('no request left the server’s origin, and the keys are in no URL and no log line', () => {
    assert.ok(requested.length > 20, `${requested.length} requests seen`);
    const origin = new URL(server.url).origin;
    const elsewhere = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'));
    assert.deepEqual(elsewhere, []);
    for (const key of [ADMIN_KEY, READ_KEY]) {
      assert.ok(!requested.some((url) => url.includes(key)), 'no URL carries a key');
      assert.ok(!server.output().includes(key), 'no log line carries a key');
    }
  });
});

describe('the console’s lists for destinations', () => {
  test('are the server’s: the destination types and the statuses of their deliveries', () => {
    assert.deepEqual([...CONSOLE_DESTINATION_TYPES], [...DESTINATION_TYPE_NAMES]);
    assert.deepEqual([...CONSOLE_DESTINATION_STATUSES], [...DESTINATION_DELIVERY_STATUSES]);
  });
});
