import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createGunzip, createGzip } from 'node:zlib';
import { errorCode } from '../fs-util.js';
import type { ArchiveFault, ArchiveJob, ArchiveMessage, PackResult } from './archive-job.js';
import { emptyPackedContent, packTree } from './pack-tree.js';
import { ArchiveFormatError } from './tar-format.js';
import { unpackTree } from './unpack-tree.js';

const PROGRESS_EVERY_MS = 100;
const IO_CHUNK = 256 * 1024;
const ZLIB_CHUNK = 64 * 1024;

/** Bytes moved so far; the parent's watchdog stops this thread when it stops growing. */
let moved = 0;

function post(message: ArchiveMessage): void {
  parentPort?.postMessage(message);
}

async function pack(job: Extract<ArchiveJob, { op: 'pack' }>): Promise<PackResult> {
  const content = emptyPackedContent();
  const sum = new Checksum();
  const gzip = createGzip({ level: 6, chunkSize: ZLIB_CHUNK });
  const written = pipeline(gzip, sum.tap(), createWriteStream(job.dest, { flags: 'wx' }));
  try {
    // Every tar byte counts, headers included: a tree of empty files makes progress too.
    for await (const chunk of faulty(packTree(job.root, content), job.fault)) {
      await consumed(gzip, chunk);
      moved += chunk.length;
    }
    gzip.end();
    await written;
  } catch (error) {
    gzip.destroy();
    await written.catch(() => undefined);
    throw error;
  }
  const handle = await open(job.dest, 'r');
  await handle.sync().finally(() => handle.close());
  return { ...content, archive: sum.result() };
}

async function extract(job: Extract<ArchiveJob, { op: 'extract' }>): Promise<void> {
  await mkdir(job.dest, { recursive: true });
  const sum = new Checksum();
  await pipeline(
    createReadStream(job.archive, { highWaterMark: IO_CHUNK }),
    sum.tap(),
    createGunzip({ chunkSize: ZLIB_CHUNK }),
    async (source: AsyncIterable<Buffer>) => {
      const chunks = faulty(counted(source), job.fault)[Symbol.asyncIterator]();
      await unpackTree(chunks, { dest: job.dest, expected: job.expected, owners: job.owners });
    },
  );
  const { sha256, bytes } = sum.result();
  if (sha256 !== job.expected.archive.sha256 || bytes !== job.expected.archive.bytes) {
    throw new ArchiveFormatError('the archive does not match its recorded checksum');
  }
}

/** Counts the (decompressed) bytes the extraction pulls as progress. */
async function* counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    moved += chunk.length;
    yield chunk;
  }
}

/** Writes `chunk` and resolves once the stream has consumed it (so its buffer may be reused). */
function consumed(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/** SHA-256 and length of what flows through `tap()`. */
class Checksum {
  bytes = 0;
  private readonly hash = createHash('sha256');

  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        done(null, chunk);
      },
    });
  }

  result(): { sha256: string; bytes: number } {
    return { sha256: this.hash.digest('hex'), bytes: this.bytes };
  }
}

/** Passes `source` through, or after its first chunk stalls for ever (`stall`) or spins (`spin`). */
async function* faulty(
  source: AsyncIterable<Buffer>,
  fault?: ArchiveFault,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    yield chunk;
    if (fault === 'stall') await new Promise(() => undefined);
    if (fault === 'spin') for (;;);
  }
}

async function main(): Promise<void> {
  const job = workerData as ArchiveJob;
  post({ type: 'progress', bytes: 0 });
  const reporter = setInterval(() => post({ type: 'progress', bytes: moved }), PROGRESS_EVERY_MS);
  try {
    const result = job.op === 'pack' ? await pack(job) : await extract(job);
    post(result ? { type: 'done', result } : { type: 'done' });
  } catch (error) {
    const { message } = error instanceof Error ? error : new Error(String(error));
    const code = errorCode(error);
    const failure: ArchiveMessage = {
      type: 'error',
      message,
      format: isFormatError(error, code),
    };
    if (code !== undefined) failure.code = code;
    post(failure);
  } finally {
    clearInterval(reporter);
  }
}

/** A malformed archive: ours, or zlib's (`Z_DATA_ERROR`, `Z_BUF_ERROR` for a cut stream). */
function isFormatError(error: unknown, code: string | undefined): boolean {
  return error instanceof ArchiveFormatError || (code?.startsWith('Z_') ?? false);
}

void main();
