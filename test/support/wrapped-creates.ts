import type { MemoryDriver, SnapshotDriver } from '#lib/storage';

type CreateArgs = Parameters<MemoryDriver['createSnapshot']>;
type CreateResult = ReturnType<MemoryDriver['createSnapshot']>;

/**
 * The memory driver with its `createSnapshot` replaced by `create`, which gets the driver
 * itself to call through; every other method is the driver's own.
 */
export function wrappedCreates(
  inner: MemoryDriver,
  create: (target: MemoryDriver, ...args: CreateArgs) => CreateResult,
): SnapshotDriver {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'createSnapshot' || typeof value !== 'function') {
        return typeof value === 'function' ? (value.bind(target) as unknown) : value;
      }
      return (...args: CreateArgs) => create(target, ...args);
    },
  });
}
