import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { BrowserContext, Page } from 'playwright-core';
import { AUDIT_REDIS_OPTIONS, RunStore } from '#lib/audit';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import { launchChromium, SCREENSHOTS, type TestBrowser } from '../support/browser.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'browser-test-token-0123456789';
const MARKUP = '<img src=x onerror="window.__pwned=1">';
const OTHER_RUNS = 1_200;

const policy = (
  name: string,
  schedule: string,
  suite: string,
  keepLast: number,
) => `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: ${name}
spec:
  schedule: '${schedule}'
  timeZone: Europe/Berlin
  selector:
    matchLabels:
      suite: ${suite}
  retention:
    keepLast: ${keepLast}
  hooks:
    pre:
      - name: settle
        command: [sh, -c, 'echo settled']
`;

/** Writes `count` finished runs of policies other than the dashboard's, newest first in time. */
async function seedOtherRuns(store: RunStore, count: number): Promise<void> {
  const now = Date.now();
  const seed = async (i: number) => {
    const id = `seeded-${i}`;
    await store.start({
      id,
      kind: 'scheduled',
      policy: `default/busy-${i % 4}`,
      namespace: 'default',
      trigger: 'schedule',
      scheduledAt: new Date(now - i * 50),
      volumes: ['busy-volume'],
    });
    const failed = i % 10 === 0;
    await store.applyVolumeResult(id, {
      volume: 'busy-volume',
      state: failed ? 'failed' : 'succeeded',
      ...(failed ? { error: 'seeded failure' } : {}),
    });
  };
  // In batches of 50 at a time: the writes pipeline on the one connection.
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => seed(i + k)));
  }
}

describe('the dashboard in headless Chromium', () => {
  let dir: string;
  let redisServer: TestRedis;
  let redis: Redis;
  let app: AppProcess;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-ui-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'ui' }, 4096);
    await makeVolume(join(dir, 'data'), 'beta', { suite: 'ui' }, 4096);
    await makeVolume(join(dir, 'data'), 'delta', { suite: 'quiet' }, 1024);
    await makeVolume(join(dir, 'data'), 'gamma', { team: 'none' }, 1024);
    await writeFile(join(dir, 'policies', 'ui.yaml'), policy('ui', '*/3 * * * * *', 'ui', 3));
    await writeFile(join(dir, 'policies', 'quiet.yaml'), policy('quiet', '0 2 * * *', 'quiet', 2));
    await writeFile(join(dir, 'policies', 'broken.yaml'), policy('broken', 'every night', 'ui', 1));
    redisServer = await startTestRedis();
    redis = new Redis(redisServer.url, AUDIT_REDIS_OPTIONS);
    const store = new RunStore(redis, { prefix: 'snapwarden:' });
    // The quiet policy's only run, an hour ago: far behind the busy policies' runs.
    await store.start({
      id: 'quiet-run',
      kind: 'scheduled',
      policy: 'default/quiet',
      namespace: 'default',
      trigger: 'schedule',
      scheduledAt: new Date(Date.now() - 3_600_000),
      volumes: ['delta'],
    });
    await store.applyVolumeResult('quiet-run', { volume: 'delta', state: 'succeeded' });
    await seedOtherRuns(store, OTHER_RUNS);
    app = await startApp(
      {
        REDIS_URL: redisServer.url,
        SNAPWARDEN_DATA_DIR: join(dir, 'data'),
        SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
        SNAPWARDEN_API_TOKEN: TOKEN,
      },
      60_000,
    );
    browser = await launchChromium();
    page = await browser.context.newPage();
    await eventually(
      async () => {
        const runs = await getJson<{ items: unknown[] }>(
          app,
          '/api/v1/runs?state=succeeded&policy=default/ui',
        );
        return runs.items.length >= 2 ? runs : undefined;
      },
      30_000,
      'two succeeded runs',
    );
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    redis?.disconnect();
    await redisServer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const policyRow = (key: string) =>
    page.locator('#policies-table tbody tr', { has: page.locator(`a:text-is("${key}")`) });

  it('shows each policy’s last result from its own index, whatever the runs of other policies, and the summary strip', async () => {
    await page.goto(`${app.url}/`);
    const ui = policyRow('default/ui');
    await ui.waitFor();
    await expectText(ui, '*/3 * * * * *');
    await expectText(ui, 'Europe/Berlin');
    await expectText(ui, 'succeeded');
    // 1,200 newer runs of other policies: the quiet policy's run is far outside any recent window.
    const quiet = policyRow('default/quiet');
    await expectText(quiet, 'succeeded');
    expect(await quiet.locator('.run-cells .cell-succeeded').count()).toBeGreaterThanOrEqual(1);
    expect(await ui.locator('.run-cells .cell').count()).toBeGreaterThan(1);
    await expectText(page.locator('#sum-failed'), String(OTHER_RUNS / 10));
    await expectText(page.locator('#sum-next'), 'default/ui');
    await page.locator('#chart-runs-per-day').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
  });

  it('shows invalid policy files with file, field, message and since when', async () => {
    const problems = page.locator('#problems-table');
    await problems.waitFor();
    const row = problems.locator('tbody tr', { hasText: 'broken.yaml' });
    await expectText(row, 'spec.schedule');
    expect(await row.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-/);
    await expectText(problems.locator('caption'), 'not in force');
  });

  it('separates volumes at risk (selected and stale) from unprotected ones (no policy)', async () => {
    const atRisk = page.locator('#at-risk-table');
    await expectText(atRisk, 'default/delta');
    await expectText(atRisk, 'twice the policy interval');
    expect(await atRisk.textContent()).not.toContain('default/gamma');
    const unprotected = page.locator('#unprotected-table');
    await expectText(unprotected, 'default/gamma');
    expect(await unprotected.textContent()).not.toContain('default/alpha');
    await expectText(page.locator('#sum-unprotected'), '1');
  });

  it('shows times in the policy’s zone with relative times, in a browser of another zone', async () => {
    const context = await browser.context.browser()?.newContext({ timezoneId: 'America/New_York' });
    const other: BrowserContext = context ?? browser.context;
    const ny = await other.newPage();
    try {
      await ny.goto(`${app.url}/#/policies/default/quiet`);
      const next = ny.locator('#policy-next-runs li').first();
      await next.waitFor();
      // 02:00 in Berlin (GMT+1 or +2), with the New York time beside it (EST or EDT).
      await expectText(next, ' here');
      const text = (await next.textContent()) ?? '';
      expect(text).toMatch(/ 02:00:00 GMT\+[12] \(in \d+ (s|min|h)\)/);
      expect(text).toMatch(/ = \d{4}-\d\d-\d\d (19|20|21):00:00 E[SD]T here$/);
      await ny.goto(`${app.url}/#/`);
      const row = ny.locator('#policies-table tbody tr', { hasText: 'default/quiet' });
      await expectText(row, '02:00:00 GMT+');
      await expectText(row, ' ago)');
      await ny.screenshot({ path: join(SCREENSHOTS, 'time-zones.png'), fullPage: true });
    } finally {
      await ny.close();
      if (context) await context.close();
    }
  });

  it('keeps page 2 of the history, focus and scroll while live events refresh it, without an empty frame', async () => {
    await page.goto(`${app.url}/#/runs`);
    await page.locator('#runs-table tbody tr').first().waitFor();
    await page.locator('#runs-more').click();
    await expectText(page.locator('#runs-shown'), 'page 2');
    expect(await page.locator('#runs-table tbody tr').count()).toBe(50);
    await page.locator('#runs-more').focus();
    await page.evaluate(`(() => {
      window.scrollTo(0, 400);
      window.__table = document.querySelector('#runs-table');
      window.__empty = 0;
      new MutationObserver(() => {
        if (document.querySelectorAll('#runs-table tbody tr').length === 0) window.__empty++;
      }).observe(document.getElementById('view'), { childList: true, subtree: true });
    })()`);
    const scrolled = await page.evaluate('window.scrollY');
    expect(scrolled).toBeGreaterThan(0);
    // The ui policy runs every 3 s: its events refresh the view.
    await until(page, "document.querySelector('#runs-table') !== window.__table", 20_000);
    await expectText(page.locator('#runs-shown'), 'page 2');
    expect(await page.locator('#runs-table tbody tr').count()).toBe(50);
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe(
      'runs-more',
    );
    expect(await page.evaluate('window.scrollY')).toBe(scrolled);
    expect(await page.evaluate('window.__empty')).toBe(0);
    expect(page.url()).toMatch(/#\/runs$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'history-page-2.png'), fullPage: true });
  });

  it('filters the run history by policy and result', async () => {
    await page.goto(`${app.url}/#/runs`);
    await page.getByLabel('Policy', { exact: true }).fill('default/ui');
    await page.getByLabel('Result').selectOption('succeeded');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/state=succeeded/);
    const rows = page.locator('#run-results tbody tr');
    await rows.first().waitFor();
    await eventually(
      async () => {
        const results = await page
          .locator('#run-results tbody tr td:nth-child(6)')
          .allTextContents();
        const policies = await page
          .locator('#run-results tbody tr td:nth-child(2)')
          .allTextContents();
        return results.length > 0 &&
          new Set(results).size === 1 &&
          results[0] === 'succeeded' &&
          new Set(policies).size === 1
          ? true
          : undefined;
      },
      10_000,
      'only succeeded runs of default/ui',
    );
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

    await row.first().locator('a').first().click();
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
    await page.getByLabel('API token (for writes, kept for this tab)').fill(TOKEN);
    await page.getByLabel('API token (for writes, kept for this tab)').press('Tab');
  });

  it('shows a volume’s snapshots with size, origin and expiry, and follows a restore as a run', async () => {
    await page.goto(`${app.url}/#/volumes/default/alpha`);
    const bar = page.getByRole('meter', { name: 'Snapshots against the cap' });
    await bar.waitFor();
    await expect_(page.locator('.cap-text').textContent()).resolves.toMatch(/^\d+ \/ \d+$/);
    const snapshots = page.locator('#snapshots-table');
    await expectText(snapshots, 'policy default/ui');
    await expectText(snapshots, `on-demand`);
    await expectText(snapshots, MARKUP);
    await expectText(snapshots, 'by the policy’s retention');
    await expectText(snapshots, 'KiB');
    await expectText(page.locator('#volume-policies'), 'default/ui');
    await page.screenshot({ path: join(SCREENSHOTS, 'volume.png'), fullPage: true });

    await page
      .getByRole('button', { name: /^Restore / })
      .first()
      .click();
    await page.locator('#restore-form').waitFor();
    await page.getByLabel('New volume (mode NewVolume)').fill('alpha-copy');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await expectText(page.locator('#restore-status'), 'requested');
    await page.locator('#restore-run-link').click();
    await expectText(page.locator('h2'), 'Run restore:');
    await expectText(page.locator('dl.facts'), 'restore', 20_000);
    const timeline = page.getByRole('list', { name: 'Audit events of this run' });
    await expectText(timeline, 'restore.succeeded', 20_000);
    await expectText(timeline, 'alpha-copy');
    await page.screenshot({ path: join(SCREENSHOTS, 'restore-run.png'), fullPage: true });
    await page.goto(`${app.url}/#/runs?kind=restore`);
    await expectText(page.locator('#runs-table'), 'alpha-copy');
  });

  it('shows a policy page: spec, next runs in its zone, projected slots, recent runs, conditions', async () => {
    await page.goto(`${app.url}/#/policies/default/ui`);
    await expectText(page.locator('#policy-conditions'), 'Ready');
    await expectText(page.locator('#policy-slots'), 'default/alpha');
    await expectText(page.locator('#policy-slots'), 'yes');
    expect(await page.locator('#policy-next-runs li').count()).toBe(5);
    await expectText(page.locator('#policy-runs'), 'succeeded');
    await expectText(page.locator('pre.spec'), '"keepLast": 3');
    await page.screenshot({ path: join(SCREENSHOTS, 'policy.png'), fullPage: true });
  });

  it('lays out at 900 px without overlap, fills the live events on load, serves a favicon, follows dark mode', async () => {
    await page.setViewportSize({ width: 900, height: 1000 });
    // Without the stream, only the history can fill the live list.
    await page.route('**/api/v1/events/stream', (route) => route.abort());
    await page.goto(`${app.url}/#/`);
    await page.locator('#policies-table').waitFor();
    await until(page, "document.querySelectorAll('#live-events li').length === 20", 10_000);
    await page.unroute('**/api/v1/events/stream');
    const box = async (selector: string) => {
      const b = await page.locator(selector).boundingBox();
      if (!b) throw new Error(`${selector} is not visible`);
      return b;
    };
    const main = await box('#view');
    const side = await box('#side');
    expect(side.y).toBeGreaterThanOrEqual(main.y + main.height - 1);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(900);
    for (const id of ['#policies-table', '#volumes-table']) {
      const t = await box(id);
      expect(t.x + t.width).toBeLessThanOrEqual(900);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'narrow-900.png'), fullPage: true });

    const icon = await fetch(`${app.url}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toContain('image/x-icon');

    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${app.url}/#/`);
    await page.locator('#policies-table').waitFor();
    const background = await page.evaluate(
      'getComputedStyle(document.documentElement).backgroundColor',
    );
    expect(background).toBe('rgb(12, 17, 29)');
    await page.screenshot({ path: join(SCREENSHOTS, 'overview-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  });
});

const expect_ = expect;

/** Polls `expression` in the page (evaluated outside its CSP) until it is true. */
async function until(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await page.evaluate(expression)) === true) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still false after ${timeoutMs} ms: ${expression}`);
}

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
