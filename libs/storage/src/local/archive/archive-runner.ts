import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ArchiveError,
  SnapshotCorruptedError,
  TransientDriverError,
  type DriverError,
} from '../../errors.js';
import type { ArchiveJob, ArchiveMessage, PackResult } from './archive-job.js';

/** How long an archive job may move no byte before it is stopped. */
export const DEFAULT_STALL_MS = 60_000;

/** Bound on a worker thread's start, until its first report. */
const STARTUP_MS = 30_000;

// Errors a later attempt can get past: space freed, a device back, descriptors released.
const TRANSIENT_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EAGAIN',
  'EBUSY',
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'ETIMEDOUT',
  'ESTALE',
]);

export interface RunOptions {
  /** Names the operation in errors, e.g. `snapshot default/db-1`. */
  label: string;
  /** The watchdog's bound: no byte moved for this long stops the job. */
  stallMs: number;
}

/**
 * Runs one archive job in a worker thread of its own, so a hang or a burst of memory cannot
 * stall the API and the workers of this process. A watchdog stops the thread when it has
 * moved no byte for `stallMs` (a stuck read, a blocked thread alike). Failures come back as
 * `DriverError`s: transient ones (disk full, I/O) retryable, the rest final with the root cause.
 */
export function runArchiveJob(
  job: ArchiveJob & { op: 'pack' },
  options: RunOptions,
): Promise<PackResult>;
export function runArchiveJob(
  job: ArchiveJob & { op: 'extract' },
  options: RunOptions,
): Promise<void>;
export function runArchiveJob(job: ArchiveJob, options: RunOptions): Promise<PackResult | void> {
  return new Promise((resolve, reject) => {
    // A small young generation means frequent scavenges, which free the stream buffers'
    // memory (outside the JS heap) before it adds up to tens of MB of RSS.
    const worker = new Worker(workerFile(), {
      workerData: job,
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    });
    let settled = false;
    const watchdog = new Watchdog(options.stallMs, () => {
      const seconds = Math.round(options.stallMs / 100) / 10;
      finish(new ArchiveError(`${options.label}: no progress for ${seconds}s; stopped`, false));
    });
    const finish = (error: DriverError | undefined, result?: PackResult) => {
      if (settled) return;
      settled = true;
      watchdog.stop();
      // The job is over either way; the thread must be gone before the caller cleans up.
      void worker.terminate().finally(() => (error ? reject(error) : resolve(result)));
    };
    worker.on('message', (message: ArchiveMessage) => {
      if (message.type === 'progress') watchdog.progress(message.bytes);
      else if (message.type === 'done') finish(undefined, message.result);
      else finish(classify(message, options.label));
    });
    worker.on('error', (error) =>
      finish(new ArchiveError(`${options.label}: ${error.message}`, false)),
    );
    worker.on('exit', (code) =>
      finish(new ArchiveError(`${options.label}: archive thread exited (${code})`, false)),
    );
  });
}

/**
 * Fires `onStall` when the byte count reported has not grown for `stallMs`. Until the first
 * report the bound is at least `STARTUP_MS`: starting a thread on a busy machine takes a while.
 */
class Watchdog {
  private lastBytes = -1;
  private lastProgressAt = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stallMs: number,
    onStall: () => void,
  ) {
    const every = Math.max(10, Math.min(1000, stallMs / 4));
    this.timer = setInterval(() => {
      const bound = this.lastBytes < 0 ? Math.max(stallMs, STARTUP_MS) : stallMs;
      if (Date.now() - this.lastProgressAt >= bound) onStall();
    }, every);
  }

  progress(bytes: number): void {
    if (bytes !== this.lastBytes) this.lastProgressAt = Date.now();
    this.lastBytes = bytes;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function classify(failure: ArchiveMessage & { type: 'error' }, label: string): DriverError {
  const message = `${label}: ${failure.message}`;
  if (failure.format) return new SnapshotCorruptedError(message);
  if (failure.code !== undefined && TRANSIENT_CODES.has(failure.code)) {
    return new TransientDriverError(message);
  }
  return new ArchiveError(message, false);
}

/**
 * The compiled worker beside this module; when this module runs from its TypeScript source
 * (tests), the compiled worker of the same checkout under `dist/`.
 */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), 'archive-job.worker.js');
  if (here.endsWith('.js') || existsSync(beside)) return beside;
  const libs = here.lastIndexOf(`${sep}libs${sep}`);
  const built = join(
    here.slice(0, libs),
    'dist',
    dirname(here.slice(libs + 1)),
    'archive-job.worker.js',
  );
  if (!existsSync(built)) throw new Error(`archive worker ${built} is missing: run npm run build`);
  return built;
}
