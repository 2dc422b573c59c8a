import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GarbageCollector = (options: { type: 'major'; execution: 'sync'; flavor: string }) => void;

let collector: GarbageCollector | undefined;

/**
 * Gives back the memory a burst of allocation left behind. Under a burst (the first pass over
 * thousands of policy files) V8 grows its young generation to its maximum, over 100 MB, and an
 * idle process then allocates too little for V8 to shrink it again: the resident size stays
 * that of the burst. A last-resort collection (the one V8 runs when memory is short) shrinks it
 * at once, at the cost of one pause of a few hundred milliseconds. Returns the resident size
 * before and after, in bytes.
 */
export function compactHeap(): { rssBefore: number; rssAfter: number } {
  const rssBefore = process.memoryUsage.rss();
  // The collector is reachable only from a context made after `--expose-gc` was set.
  if (!collector) {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as GarbageCollector;
  }
  collector({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { rssBefore, rssAfter: process.memoryUsage.rss() };
}
