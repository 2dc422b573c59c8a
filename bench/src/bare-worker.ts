/**
 * One bare BullMQ worker of no-op jobs as a process of its own: the fleet scenario's baseline
 * runs as many of these as the layout it is held against runs worker processes. Arguments:
 * Redis URL, key prefix, concurrency. Says `ready` to its parent once connected, and closes
 * the worker and exits when the parent says anything.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [redisUrl, prefix, concurrency] = process.argv.slice(2);
if (!redisUrl || !prefix || !concurrency || !process.send) {
  throw new Error('usage: forked with <redis-url> <prefix> <concurrency>');
}
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker('noop', () => Promise.resolve(undefined), {
  connection,
  prefix,
  concurrency: Number(concurrency),
});
await worker.waitUntilReady();
process.send('ready');
process.once('message', () => {
  void worker.close().then(() => {
    connection.disconnect();
    process.exit(0);
  });
});
