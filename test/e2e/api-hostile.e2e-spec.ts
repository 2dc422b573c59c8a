import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'hostile-api-test-token-0123';

interface Answer {
  status: number;
  headers: Headers;
  body: { statusCode?: number; field?: string; message?: string; phase?: string };
}

/** What the API shows of the system: must not move when a request is refused. */
interface State {
  runs: string[];
  snapshots: string[];
  policies: string[];
  events: string[];
  refused: number;
}

describe('REST API under hostile input', () => {
  let dir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-api-hostile-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'hostile' }, 1024);
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
    });
  });

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function send(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        ...headers,
      },
      body,
    });
    const text = await response.text();
    let parsed: Answer['body'];
    try {
      parsed = JSON.parse(text) as Answer['body'];
    } catch {
      parsed = { message: text };
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  async function state(): Promise<State> {
    const runs = await getJson<{ items: { id: string; state: string }[] }>(
      app,
      '/api/v1/runs?limit=500',
    );
    const snapshots = await getJson<{ items: { name: string }[] }>(app, '/api/v1/snapshots');
    const policies = await getJson<{ items: { key: string }[] }>(app, '/api/v1/policies');
    const events = await getJson<{ items: { id: string; type: string }[] }>(
      app,
      '/api/v1/events?limit=500',
    );
    return {
      runs: runs.items.map((r) => `${r.id}:${r.state}`),
      snapshots: snapshots.items.map((s) => s.name),
      policies: policies.items.map((p) => p.key),
      events: events.items.filter((e) => e.type !== 'api.refused').map((e) => e.id),
      refused: events.items.filter((e) => e.type === 'api.refused').length,
    };
  }

  const request = (name: string, spec: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ metadata: { name }, spec, ...extra });

  const snapshotCases: [string, string, string][] = [
    [
      'a ttl past the last date',
      request('r-ttl', { claimNames: ['alpha'], ttl: '99999999d' }),
      'spec.ttl',
    ],
    [
      'a claim name with ..',
      request('r-dots', { claimNames: ['alpha', '../vol-a'] }),
      'spec.claimNames[1]',
    ],
    [
      'an upper-case claim name',
      request('r-upper', { claimNames: ['alpha', 'UPPER'] }),
      'spec.claimNames[1]',
    ],
    [
      'a claim name with NUL',
      request('r-nul', { claimNames: ['alpha', 'a\u0000b'] }),
      'spec.claimNames[1]',
    ],
    ['an absolute path as claim', request('r-abs', { claimNames: ['/etc'] }), 'spec.claimNames[0]'],
    [
      'a policyRef to no policy',
      request('r-ref', { claimNames: ['alpha'], policyRef: { name: 'ghost' } }),
      'spec.policyRef.name',
    ],
    [
      'an unknown top-level field',
      request('r-top', { claimNames: ['alpha'] }, { colour: 'red' }),
      'colour',
    ],
    [
      'an unknown metadata field',
      JSON.stringify({
        metadata: { name: 'r-meta', labels: { a: 'b' } },
        spec: { claimNames: ['alpha'] },
      }),
      'metadata.labels',
    ],
    [
      'a top-level __proto__',
      `{"metadata":{"name":"r-proto"},"spec":{"claimNames":["alpha"]},"__proto__":{"x":1}}`,
      '__proto__',
    ],
    [
      'another kind',
      request('r-kind', { claimNames: ['alpha'] }, { kind: 'RestoreRequest' }),
      'kind',
    ],
    [
      'a __proto__ label key',
      `{"metadata":{"name":"r-sel"},"spec":{"selector":{"matchLabels":{"__proto__":"x"}}}}`,
      'spec.selector.matchLabels.__proto__',
    ],
    [
      'an invalid label key',
      request('r-key', { selector: { matchLabels: { 'no spaces': 'x' } } }),
      'spec.selector.matchLabels[no spaces]',
    ],
    [
      'an invalid label value',
      request('r-value', {
        selector: { matchExpressions: [{ key: 'suite', operator: 'In', values: ['a b'] }] },
      }),
      'spec.selector.matchExpressions[0].values[0]',
    ],
  ];

  it.each(snapshotCases)(
    'refuses a snapshot request with %s: 400 naming the field, nothing written',
    async (_, body, field) => {
      const before = await state();
      const answer = await send('POST', '/api/v1/snapshot-requests', body);
      expect({ status: answer.status, field: answer.body.field }).toEqual({ status: 400, field });
      expect(answer.body.message).toContain(field);
      const name = /"name":"([^"]+)"/.exec(body)?.[1] ?? '';
      expect((await send('GET', `/api/v1/snapshot-requests/default/${name}`)).status).toBe(404);
      expect(await state()).toEqual(before);
    },
  );

  const restoreCases: [string, string, string][] = [
    [
      'an unknown top-level field',
      request('x-top', { snapshotName: 's', target: { claimName: 'new' } }, { extra: 1 }),
      'extra',
    ],
    [
      'an unknown metadata field',
      JSON.stringify({
        metadata: { name: 'x-meta', uid: 'u' },
        spec: { snapshotName: 's', target: { claimName: 'new' } },
      }),
      'metadata.uid',
    ],
    [
      'an upper-case target claim',
      request('x-upper', { snapshotName: 's', target: { claimName: 'NEW' } }),
      'spec.target.claimName',
    ],
    [
      'a path as snapshot name',
      request('x-path', { snapshotName: '../s', target: { claimName: 'new' } }),
      'spec.snapshotName',
    ],
  ];

  it.each(restoreCases)(
    'refuses a restore with %s: 400 naming the field, nothing written',
    async (_, body, field) => {
      const before = await state();
      const answer = await send('POST', '/api/v1/restores', body);
      expect({ status: answer.status, field: answer.body.field }).toEqual({ status: 400, field });
      const name = /"name":"([^"]+)"/.exec(body)?.[1] ?? '';
      expect((await send('GET', `/api/v1/restores/default/${name}`)).status).toBe(404);
      expect(await state()).toEqual(before);
    },
  );

  it.each([
    ['/api/v1/runs?since=1', 'since'],
    ['/api/v1/runs?until=1700000000', 'until'],
    ['/api/v1/events?since=1', 'since'],
    ['/api/v1/events?until=tomorrow%201pm', 'until'],
    ['/api/v1/stats/runs-per-day?since=12', 'since'],
    ['/api/v1/policies?colour=red', 'colour'],
    ['/api/v1/policies/default/x?verbose=1', 'verbose'],
    ['/api/v1/runs/some-run?expand=1', 'expand'],
    ['/api/v1/snapshot-requests/default/x?watch=1', 'watch'],
    ['/api/v1/restores/default/x?watch=1', 'watch'],
  ])('answers GET %s with 400 naming %s', async (path, field) => {
    const answer = await send('GET', path);
    expect({ status: answer.status, field: answer.body.field }).toEqual({ status: 400, field });
  });

  it('takes ISO 8601 times', async () => {
    for (const path of [
      '/api/v1/runs?since=2026-01-01T00:00:00Z&until=2026-01-02',
      '/api/v1/events?since=2026-01-01T00:00:00.000%2B02:00',
    ]) {
      expect((await send('GET', path)).status).toBe(200);
    }
  });

  it('sends nosniff everywhere, frame-ancestors none on the dashboard, and no X-Powered-By', async () => {
    for (const path of ['/api/v1/runs', '/api/v1/runs?since=1', '/healthz', '/metrics', '/']) {
      const response = await fetch(`${app.url}${path}`);
      await response.arrayBuffer();
      expect({ path, nosniff: response.headers.get('x-content-type-options') }).toEqual({
        path,
        nosniff: 'nosniff',
      });
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
    const page = await fetch(`${app.url}/`);
    await page.arrayBuffer();
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('refuses a cross-origin write with an audit event and changes nothing else', async () => {
    const before = await state();
    const answer = await send(
      'POST',
      '/api/v1/snapshot-requests',
      request('r-cross', { claimNames: ['alpha'] }),
      {
        origin: 'https://evil.example',
      },
    );
    expect({ status: answer.status, field: answer.body.field }).toEqual({
      status: 403,
      field: 'Origin',
    });
    expect((await send('GET', '/api/v1/snapshot-requests/default/r-cross')).status).toBe(404);
    const after = await state();
    expect(after).toEqual({ ...before, refused: before.refused + 1 });
    const same = await send('POST', '/api/v1/restores', '{}', { origin: 'null' });
    expect(same.status).toBe(403);
  });

  it('still accepts a valid request under a name a refused one used, and runs it', async () => {
    const answer = await send(
      'POST',
      '/api/v1/snapshot-requests',
      request('r-ttl', { claimNames: ['alpha'], ttl: '1h' }),
      { origin: app.url },
    );
    expect(answer.status).toBe(201);
    await eventually(
      async () => {
        const got = await send('GET', '/api/v1/snapshot-requests/default/r-ttl');
        return got.body.phase === 'Succeeded' ? got : undefined;
      },
      30_000,
      'request r-ttl to succeed',
    );
  });
});
