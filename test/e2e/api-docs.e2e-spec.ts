import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, startApp, type AppProcess } from '../support/app-process.js';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

/** Every endpoint of PRODUCT.md's REST API, as OpenAPI paths and methods. */
const ENDPOINTS: [string, string][] = [
  ['/api/v1/policies', 'get'],
  ['/api/v1/policies/{namespace}/{name}', 'get'],
  ['/api/v1/volumes', 'get'],
  ['/api/v1/snapshots', 'get'],
  ['/api/v1/snapshot-requests', 'post'],
  ['/api/v1/snapshot-requests/{namespace}/{name}', 'get'],
  ['/api/v1/restores', 'post'],
  ['/api/v1/restores/{namespace}/{name}', 'get'],
  ['/api/v1/runs', 'get'],
  ['/api/v1/runs/{id}', 'get'],
  ['/api/v1/events', 'get'],
  ['/api/v1/events/stream', 'get'],
  ['/healthz', 'get'],
  ['/readyz', 'get'],
  ['/metrics', 'get'],
];

describe('the OpenAPI document at /api/docs', () => {
  let dir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-docs-'));
    await mkdir(join(dir, 'policies'));
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });
  });

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every endpoint of the REST API', async () => {
    const doc = await getJson<OpenApi>(app, '/api/docs');
    expect(doc.openapi).toMatch(/^3\./);
    for (const [path, method] of ENDPOINTS) {
      expect({ path, method, found: Boolean(doc.paths[path]?.[method]) }).toEqual({
        path,
        method,
        found: true,
      });
    }
  });

  it('declares bearer authentication on the writes only', async () => {
    const doc = await getJson<OpenApi>(app, '/api/docs');
    expect(Object.values(doc.components.securitySchemes)).toContainEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(doc.paths['/api/v1/snapshot-requests']?.post?.security).toBeDefined();
    expect(doc.paths['/api/v1/restores']?.post?.security).toBeDefined();
    expect(doc.paths['/api/v1/runs']?.get?.security).toBeUndefined();
  });

  it("documents the write bodies with the request kinds' spec schemas", async () => {
    const doc = await getJson<OpenApi>(app, '/api/docs');
    const body = (op: unknown) =>
      JSON.stringify((op as { requestBody?: unknown } | undefined)?.requestBody ?? null);
    expect(body(doc.paths['/api/v1/snapshot-requests']?.post)).toContain('claimNames');
    expect(body(doc.paths['/api/v1/restores']?.post)).toContain('snapshotName');
  });

  it('documents the query parameters the list endpoints validate', async () => {
    const doc = await getJson<OpenApi>(app, '/api/docs');
    const params = (doc.paths['/api/v1/runs']?.get as { parameters?: { name: string }[] })
      .parameters;
    expect(params?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['policy', 'volume', 'kind', 'state', 'since', 'until', 'cursor']),
    );
  });
});
