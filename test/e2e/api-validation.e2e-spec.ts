import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, startApp, type AppProcess } from '../support/app-process.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'validation-test-token-0123';

interface Problem {
  statusCode: number;
  field?: string;
  message: string;
}

describe('API input validation', () => {
  let dir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-validation-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'validation' }, 1024);
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

  async function get(path: string): Promise<{ status: number; body: Problem }> {
    const response = await fetch(`${app.url}${path}`);
    return { status: response.status, body: (await response.json()) as Problem };
  }

  async function post(path: string, body: string, token: string | null = TOKEN) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${app.url}${path}`, { method: 'POST', headers, body });
    return { status: response.status, body: (await response.json()) as Problem };
  }

  it.each([
    ['/api/v1/runs?limit=0', 'limit'],
    ['/api/v1/runs?limit=many', 'limit'],
    ['/api/v1/runs?kind=weekly', 'kind'],
    ['/api/v1/runs?state=done', 'state'],
    ['/api/v1/runs?since=yesterday', 'since'],
    ['/api/v1/runs?cursor=not-a-cursor', 'cursor'],
    ['/api/v1/runs?colour=red', 'colour'],
    ['/api/v1/events?kind=snapshot.exploded', 'kind'],
    ['/api/v1/events?until=never', 'until'],
    ['/api/v1/events/stream?state=sideways', 'state'],
    ['/api/v1/volumes?page=2', 'page'],
    ['/api/v1/snapshots?sort=asc', 'sort'],
    ['/api/v1/stats/runs-per-day?timeZone=Mars/Olympus', 'timeZone'],
    ['/api/v1/stats/runs-per-day?since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z', 'until'],
    ['/api/v1/stats/runs-per-day?days=3', 'days'],
  ])('answers %s with 400 naming %s', async (path, field) => {
    const { status, body } = await get(path);
    expect({ status, field: body.field }).toEqual({ status: 400, field });
    expect(body.message).toContain(field);
  });

  it.each([
    '/api/v1/runs/no-such-run',
    '/api/v1/policies/default/no-such-policy',
    '/api/v1/snapshot-requests/default/no-such-request',
    '/api/v1/restores/default/no-such-restore',
  ])('answers %s with 404 naming what is missing', async (path) => {
    const { status, body } = await get(path);
    expect(status).toBe(404);
    expect(body.message).toMatch(/not found/);
  });

  it('refuses malformed and invalid write bodies, and missing or wrong tokens, changing nothing', async () => {
    const valid = JSON.stringify({
      metadata: { name: 'kept-out' },
      spec: { claimNames: ['alpha'] },
    });
    const noToken = await post('/api/v1/snapshot-requests', valid, null);
    expect(noToken.status).toBe(401);
    expect(noToken.body.message).toContain('missing Authorization');
    const wrongToken = await post('/api/v1/snapshot-requests', valid, 'wrong-token-wrong-token');
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.body.message).toContain('invalid token');

    const malformed = await post('/api/v1/snapshot-requests', '{"spec": ');
    expect(malformed.status).toBe(400);
    const unknownField = await post(
      '/api/v1/snapshot-requests',
      JSON.stringify({
        metadata: { name: 'kept-out' },
        spec: { claimNames: ['alpha'], colour: 'red' },
      }),
    );
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.message).toContain('colour');
    const badName = await post(
      '/api/v1/snapshot-requests',
      JSON.stringify({ metadata: { name: 'Not_A_Name' }, spec: { claimNames: ['alpha'] } }),
    );
    expect(badName.status).toBe(400);
    expect(badName.body.field).toBe('metadata.name');
    const badRestore = await post(
      '/api/v1/restores',
      JSON.stringify({
        metadata: { name: 'kept-out' },
        spec: { snapshotName: 'x', mode: 'Sideways' },
      }),
    );
    expect(badRestore.status).toBe(400);
    expect(badRestore.body.field).toBe('spec.mode');
    const restoreNoToken = await post('/api/v1/restores', '{}', null);
    expect(restoreNoToken.status).toBe(401);

    expect((await get('/api/v1/snapshot-requests/default/kept-out')).status).toBe(404);
    expect((await get('/api/v1/restores/default/kept-out')).status).toBe(404);
    expect((await getJson<{ items: unknown[] }>(app, '/api/v1/runs')).items).toEqual([]);
    expect((await getJson<{ items: unknown[] }>(app, '/api/v1/snapshots')).items).toEqual([]);
  });
});
