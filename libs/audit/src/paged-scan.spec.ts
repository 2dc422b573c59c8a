import fc from 'fast-check';
import { collectPage, type PagedScan } from './paged-scan.js';

function memoryScan(
  values: number[],
  limit: number,
  keep: (n: number) => boolean,
): PagedScan<number> {
  return {
    limit,
    selective: true,
    read: (after, count) => {
      const start = after === undefined ? 0 : values.indexOf(Number(after)) + 1;
      const slice = values.slice(start, start + count);
      return Promise.resolve(slice.map((v) => ({ position: String(v), item: v })));
    },
    matches: keep,
    cursor: (position) => position,
  };
}

async function drain(values: number[], limit: number, keep: (n: number) => boolean, batch: number) {
  const seen: number[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const scan = memoryScan(values, limit, keep);
    const read = scan.read;
    scan.read = (after, count) => read(after ?? cursor, count);
    const page = await collectPage(scan, { batchSize: batch, maxBatches: 2 });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 10_000);
  return seen;
}

describe('paged scan', () => {
  it('visits every matching entry exactly once, in order, across pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.nat(10_000), { maxLength: 300 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (values, limit, batch, modulo) => {
          const keep = (n: number) => n % modulo === 0;
          expect(await drain(values, limit, keep, batch)).toEqual(values.filter(keep));
        },
      ),
    );
  });

  it('stops at the read budget and hands back a cursor when nothing matches yet', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const page = await collectPage(
      memoryScan(values, 10, (n) => n === 999),
      {
        batchSize: 50,
        maxBatches: 3,
      },
    );
    expect(page).toEqual({ items: [], nextCursor: '149' });
  });

  it('gives no cursor when the page ends the source', async () => {
    const page = await collectPage(
      memoryScan([1, 2, 3], 3, () => true),
      {
        batchSize: 10,
        maxBatches: 5,
      },
    );
    expect(page).toEqual({ items: [1, 2, 3] });
  });
});
