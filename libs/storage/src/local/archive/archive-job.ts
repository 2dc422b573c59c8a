import type { ArchiveContent } from './archive-content.js';
import type { PackedContent } from './pack-tree.js';

/** A fault to inject into an archive job, so tests can prove the watchdog. */
export type ArchiveFault = 'stall' | 'spin';

/** Decides, per job, which fault it suffers (none when it returns undefined). */
export type FaultInjector = (op: ArchiveJob['op']) => ArchiveFault | undefined;

/** One archive operation, run in its own worker thread. */
export type ArchiveJob =
  | { op: 'pack'; root: string; dest: string; fault?: ArchiveFault }
  | {
      op: 'extract';
      archive: string;
      dest: string;
      expected: ArchiveContent;
      owners: boolean;
      fault?: ArchiveFault;
    };

/** What a pack job returns: the whole record of the archive it wrote. */
export type PackResult = PackedContent & { archive: ArchiveContent['archive'] };

/** Messages from the worker to the thread that started it. */
export type ArchiveMessage =
  | { type: 'progress'; bytes: number }
  | { type: 'done'; result?: PackResult }
  | { type: 'error'; message: string; code?: string; format: boolean };
