import { KeyedWorkQueue } from './keyed-work-queue.js';

describe('KeyedWorkQueue', () => {
  function queue() {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const ran = new Promise<void>((resolve) => (release = resolve));
    const q = new KeyedWorkQueue(
      (key) => {
        runs.push(key);
        release();
        return Promise.resolve();
      },
      () => undefined,
    );
    return { q, runs, ran };
  }

  it('runs a key added soon several times once, with the other keys on their own', async () => {
    const { q, runs, ran } = queue();
    q.addSoon('a', 5);
    q.addSoon('a', 5);
    q.addSoon('a', 5);
    await ran;
    q.add('b');
    await q.close();
    expect(runs).toEqual(['a', 'b']);
  });
});
