import { ObjectCache } from './informer-cache.js';
import { isRetryable } from './retry.js';
import { KubeApiError } from './kube-api-error.js';
import { resourcePath } from './list-watch-source.js';

const obj = (name: string, rv: string, namespace = 'ns') => ({
  metadata: { name, namespace, resourceVersion: rv },
});

describe('ObjectCache.replace', () => {
  it('reports what a fresh list added, changed and removed', () => {
    const cache = new ObjectCache();
    cache.replace([obj('kept', '1'), obj('changed', '1'), obj('gone', '1')]);
    const diff = cache.replace([obj('kept', '1'), obj('changed', '2'), obj('new', '3')]);
    expect(diff.added.map((o) => o.metadata.name)).toEqual(['new']);
    expect(diff.updated.map((u) => u.obj.metadata.name)).toEqual(['changed']);
    expect(diff.deleted.map((o) => o.metadata.name)).toEqual(['gone']);
    expect(cache.list('ns')).toHaveLength(3);
    expect(cache.list('other')).toEqual([]);
  });
});

describe('isRetryable', () => {
  it.each([
    [429, false, true],
    [500, true, true],
    [500, false, false],
    [0, true, true],
    [404, true, false],
    [409, true, false],
  ])('status %i (idempotent: %s) is retryable: %s', (status, idempotent, retryable) => {
    expect(isRetryable(new KubeApiError(status, 'x', 'x'), idempotent)).toBe(retryable);
  });
});

describe('resourcePath', () => {
  it('builds core and group paths, namespaced or not', () => {
    expect(resourcePath('', 'v1', 'persistentvolumeclaims', 'shop')).toBe(
      '/api/v1/namespaces/shop/persistentvolumeclaims',
    );
    expect(resourcePath('snapshot.storage.k8s.io', 'v1', 'volumesnapshots')).toBe(
      '/apis/snapshot.storage.k8s.io/v1/volumesnapshots',
    );
  });
});
