import { createRequire } from 'node:module';
import type * as ClientNodeModule from '@kubernetes/client-node';

/** The @kubernetes/client-node module. */
export type ClientNode = typeof ClientNodeModule;

const requireModule = createRequire(import.meta.url);
let loaded: ClientNode | undefined;
let mergePatch: ReturnType<ClientNode['setHeaderOptions']> | undefined;

/**
 * @kubernetes/client-node, loaded on first use (a synchronous `require` of the ES module, sharing
 * the `import` cache). About 80 MB of RSS and a few seconds of start-up: a local-mode process,
 * which never makes a Kubernetes client, never loads it.
 */
export function clientNode(): ClientNode {
  loaded ??= requireModule('@kubernetes/client-node') as ClientNode;
  return loaded;
}

/** client-node when something already loaded it; `undefined` in a process that never did. */
export function loadedClientNode(): ClientNode | undefined {
  return loaded;
}

/** The request option of a JSON merge patch (`application/merge-patch+json`). */
export function mergePatchOptions(): ReturnType<ClientNode['setHeaderOptions']> {
  const cn = clientNode();
  mergePatch ??= cn.setHeaderOptions('Content-Type', cn.PatchStrategy.MergePatch);
  return mergePatch;
}
