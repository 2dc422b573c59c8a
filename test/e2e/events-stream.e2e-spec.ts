import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startApp, type AppProcess } from '../support/app-process.js';
import { openSse } from '../support/sse.js';
import { makeVolume } from '../support/volumes.js';

interface Event {
  id: string;
  type: string;
  outcome: string;
  policy?: string;
  volume?: string;
}

const POLICY = `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: live
spec:
  schedule: '*/2 * * * * *'
  selector:
    matchLabels:
      suite: live
  retention:
    keepLast: 2
`;

describe('GET /api/v1/events/stream', () => {
  let dir: string;
  let app: AppProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-sse-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'alpha', { suite: 'live' }, 4096);
    await writeFile(join(dir, 'policies', 'live.yaml'), POLICY);
    app = await startApp({
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });
  });

  afterAll(async () => {
    await app?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends new audit events with the event id as the SSE id', async () => {
    const stream = await openSse(`${app.url}/api/v1/events/stream`);
    try {
      const messages = await stream.take(3, 15_000);
      for (const message of messages) {
        const event = JSON.parse(message.data) as Event;
        expect(message.id).toBe(event.id);
        expect(event.id).toMatch(/^\d+-\d+$/);
      }
      expect(stream.comments()).toContain('connected');
    } finally {
      stream.close();
    }
  });

  it('applies the filters of /events', async () => {
    const stream = await openSse(
      `${app.url}/api/v1/events/stream?kind=snapshot.ready&volume=default/alpha`,
    );
    try {
      const events = (await stream.take(2, 15_000)).map((m) => JSON.parse(m.data) as Event);
      expect(events.every((e) => e.type === 'snapshot.ready' && e.volume === 'alpha')).toBe(true);
    } finally {
      stream.close();
    }
  });

  it('answers 400 naming an unknown or invalid filter', async () => {
    const unknown = await fetch(`${app.url}/api/v1/events/stream?colour=red`);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ field: 'colour' });
    const invalid = await fetch(`${app.url}/api/v1/events/stream?kind=nope`);
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ field: 'kind' });
  });

  it('replays the events a client missed when it reconnects with Last-Event-ID', async () => {
    const first = await openSse(`${app.url}/api/v1/events/stream`);
    const [seen] = await first.take(1, 15_000);
    first.close();
    // Events the client misses while it is away: at least three logged after the one it saw.
    await eventually(
      async () => {
        const page = await fetch(`${app.url}/api/v1/events?limit=500`);
        const ids = ((await page.json()) as { items: Event[] }).items.map((e) => e.id);
        return ids.filter((id) => laterId(id, seen!.id!)).length >= 3 ? true : undefined;
      },
      15_000,
      'three events logged after the one seen',
    );
    const again = await openSse(`${app.url}/api/v1/events/stream`, {
      'Last-Event-ID': seen!.id!,
    });
    try {
      const replayed = await again.take(3, 15_000);
      const logged = await fetch(`${app.url}/api/v1/events?limit=500`).then(
        async (r) => ((await r.json()) as { items: Event[] }).items,
      );
      const after = logged
        .map((e) => e.id)
        .reverse()
        .filter((id) => laterId(id, seen!.id!));
      expect(replayed.map((m) => m.id)).toEqual(after.slice(0, 3));
    } finally {
      again.close();
    }
  });

  it('answers 400 for a Last-Event-ID that is not an event id', async () => {
    const response = await fetch(`${app.url}/api/v1/events/stream`, {
      headers: { 'Last-Event-ID': 'yesterday' },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ field: 'Last-Event-ID' });
  });

  it('ends open streams when the app shuts down, which then exits cleanly', async () => {
    const stream = await openSse(`${app.url}/api/v1/events/stream`);
    const code = await app.stop();
    await stream.ended;
    expect(code).toBe(0);
  });
});

/** Whether stream id `a` (`<ms>-<seq>`) comes after `b`. */
function laterId(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am! > bm! || (am === bm && as! > bs!);
}
