import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import { launchChromium, SCREENSHOTS, type TestBrowser } from '../support/browser.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'browser-test-token-0123456789';
const MARKUP = '<img src=x onerror="window.__pwned=1">';

const POLICY = `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: ui
spec:
  schedule: '*/3 * * * * *'
  timeZone: Europe/Berlin
  selector:
    matchLabels:
      suite: ui
  retention:
    keepLast: 3
  hooks:
    pre:
      - name: settle
        command: [sh, -c, 'echo settled']
`;

describe('the dashboard in headless Chromium', () => {
  let dir: string;
  let app: AppProcess;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-ui-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'ui' }, 4096);
    await makeVolume(join(dir, 'data'), 'beta', { suite: 'ui' }, 4096);
    await writeFile(join(dir, 'policies', 'ui.yaml'), POLICY);
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    await eventually(
      async () => {
        const runs = await getJson<{ items: unknown[] }>(app, '/api/v1/runs?state=succeeded');
        return runs.items.length >= 2 ? runs : undefined;
      },
      30_000,
      'two succeeded runs',
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the policies with schedule, time zone, next run and last result, and the charts', async () => {
    await page.goto(`${app.url}/`);
    const policies = page.locator('table', {
      has: page.locator('caption', { hasText: 'Policies' }),
    });
    const row = policies.locator('tbody tr', { hasText: 'default/ui' });
    await row.waitFor();
    await expectText(row, '*/3 * * * * *');
    await expectText(row, 'Europe/Berlin');
    await expectText(row, 'succeeded');
    await page.locator('#chart-runs-per-day').waitFor();
    await page.locator('table caption', { hasText: 'Volumes' }).first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
  });

  it('filters the run history by policy and result', async () => {
    await page.goto(`${app.url}/#/runs`);
    await page.getByLabel('Policy', { exact: true }).fill('default/ui');
    await page.getByLabel('Result').selectOption('succeeded');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.locator('#run-results tbody tr');
    await rows.first().waitFor();
    const results = await page.locator('#run-results tbody tr td:nth-child(6)').allTextContents();
    expect(results.length).toBeGreaterThan(0);
    expect(new Set(results)).toEqual(new Set(['succeeded']));
    expect(page.url()).toContain('state=succeeded');
    await page.screenshot({ path: join(SCREENSHOTS, 'history.png'), fullPage: true });
  });

  it('opens a run and shows the timeline of its audit events', async () => {
    await page.locator('#run-results tbody tr a').first().click();
    await page.locator('h2', { hasText: 'Run ' }).waitFor();
    const timeline = page.getByRole('list', { name: 'Audit events of this run' });
    await expectText(timeline, 'run.started');
    await expectText(timeline, 'snapshot.ready');
    await expectText(timeline, 'hook.succeeded');
    await expectText(timeline, 'pre hook settle');
    await page.screenshot({ path: join(SCREENSHOTS, 'run.png'), fullPage: true });
  });

  it('requests an on-demand snapshot through the form and shows it without a reload, markup as text', async () => {
    await page.goto(`${app.url}/#/runs?kind=on-demand`);
    await page.evaluate('window.__sameDocument = true');
    await page.getByLabel('API token (for writes, kept for this tab)').fill(TOKEN);
    await page.getByLabel('API token (for writes, kept for this tab)').press('Tab');
    await page.getByLabel('Volumes (comma-separated)').fill('alpha');
    await page.getByLabel('Reason').fill(MARKUP);
    await page.getByRole('button', { name: 'Request snapshot' }).click();
    await expectText(page.locator('#snap-status'), 'Requested');

    const row = page.locator('#run-results tbody tr', { hasText: 'on-demand' });
    await row.first().waitFor({ timeout: 20_000 });
    await expectText(page.locator('#live-events'), MARKUP);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('snapwarden.apiToken')")).toBe(TOKEN);
    await page.screenshot({ path: join(SCREENSHOTS, 'on-demand.png'), fullPage: true });

    await row.first().locator('a').click();
    const timeline = page.getByRole('list', { name: 'Audit events of this run' });
    await expectText(timeline, MARKUP);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.screenshot({ path: join(SCREENSHOTS, 'markup-as-text.png'), fullPage: true });
  });

  it('rejects a write without the right token and says why', async () => {
    await page.goto(`${app.url}/#/`);
    await page
      .getByLabel('API token (for writes, kept for this tab)')
      .fill('wrong-token-wrong-token');
    await page.getByLabel('API token (for writes, kept for this tab)').press('Tab');
    await page.getByLabel('Volumes (comma-separated)').fill('beta');
    await page.getByRole('button', { name: 'Request snapshot' }).click();
    await expectText(page.locator('#snap-status'), '401: invalid token');
  });

  it('shows a volume with its cap bar and a restore action', async () => {
    await page.goto(`${app.url}/#/volumes/default/alpha`);
    const bar = page.getByRole('meter', { name: 'Snapshots against the cap' });
    await bar.waitFor();
    await expect_(page.locator('.cap-text').textContent()).resolves.toMatch(/^\d+ \/ \d+$/);
    await page
      .getByRole('button', { name: /^Restore / })
      .first()
      .click();
    await page.locator('#restore-form').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'volume.png'), fullPage: true });
  });
});

const expect_ = expect;

/** Waits until `locator`'s text contains `text` (as text: markup is compared literally). */
async function expectText(
  locator: { textContent(): Promise<string | null> },
  text: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  while (Date.now() < deadline) {
    last = await locator.textContent().catch(() => null);
    if (last?.includes(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected text containing ${JSON.stringify(text)}, got ${JSON.stringify(last)}`);
}
