import { afterAll, beforeAll } from '@jest/globals';
import { startTestRedis, type TestRedis } from './redis-server.js';

/**
 * A private `redis-server` for the calling suite: started before its tests, stopped after them.
 * Returns the server, to be called inside tests and hooks.
 */
export function useTestRedis(): () => TestRedis {
  let server: TestRedis | undefined;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the suite’s redis-server is not started yet');
    return server;
  };
}
