import fc from 'fast-check';
import { OUTPUT_TAIL_BYTES, OutputTail } from './hook-executor.js';

describe('OutputTail', () => {
  it('keeps exactly the last bytes of whatever chunks arrive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary-ascii', maxLength: 3000 }), { maxLength: 20 }),
        (chunks) => {
          const tail = new OutputTail();
          chunks.forEach((c) => tail.push(c));
          expect(tail.text()).toBe(chunks.join('').slice(-OUTPUT_TAIL_BYTES).trimEnd());
        },
      ),
    );
  });
});
