import type { Controller } from './server.js';
import type { SimStore } from './sim-store.js';
import { getPath, getString, isRecord, type KubeObject } from './types.js';
import { WorkQueue } from './work-queue.js';

const DEPLOYMENTS = 'deployments.apps';
const REPLICA_SETS = 'replicasets.apps';
const STATEFUL_SETS = 'statefulsets.apps';

/** Options of {@link WorkloadController}. */
export interface WorkloadControllerOptions {
  /** Time a pod of a scaled-down workload takes to terminate (default 100 ms). */
  podStopDelayMs: number;
}

/**
 * Tiny deployment, replica-set and stateful-set controllers plus a kubelet for their pods: a
 * Deployment owns one ReplicaSet (`<name>-sim`) with its replicas and template; a ReplicaSet
 * owns pods `<rs>-<i>`, a StatefulSet pods `<sts>-<i>` (claims from `volumeClaimTemplates`
 * mounted as `<template>-<sts>-<i>`, which must exist). Pods it creates are `Running` at once;
 * pods beyond `spec.replicas` are deleted after `podStopDelayMs`. Other pods are left alone
 * (they stay Pending, as without a kubelet).
 */
export class WorkloadController implements Controller {
  private readonly queue = new WorkQueue((key) => this.sync(key));
  private readonly stopper = new WorkQueue((key) => this.deletePod(key));
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly store: SimStore,
    private readonly options: WorkloadControllerOptions,
  ) {}

  start(): void {
    for (const resource of [DEPLOYMENTS, REPLICA_SETS, STATEFUL_SETS]) {
      this.unsubscribe.push(
        this.store.objects.subscribe(resource, (event) => {
          const { namespace, name } = event.object.metadata;
          this.queue.add(`${resource}|${namespace ?? ''}|${name ?? ''}`);
        }),
      );
    }
    this.unsubscribe.push(
      this.store.objects.subscribe('pods', (event) => {
        const owner = event.object.metadata.ownerReferences?.[0];
        if (event.type !== 'DELETED' || !owner) return;
        const resource = owner.kind === 'StatefulSet' ? STATEFUL_SETS : REPLICA_SETS;
        this.queue.add(`${resource}|${event.object.metadata.namespace ?? ''}|${owner.name}`);
      }),
    );
  }

  stop(): void {
    this.unsubscribe.splice(0).forEach((u) => u());
    this.queue.stop();
    this.stopper.stop();
  }

  private sync(key: string): void {
    const [resource = '', namespace = '', name = ''] = key.split('|');
    const object = this.store.objects.get(resource, namespace, name);
    if (!object || object.metadata.deletionTimestamp) return;
    if (resource === DEPLOYMENTS) this.syncDeployment(object);
    else this.syncPods(object, resource === STATEFUL_SETS);
  }

  private syncDeployment(deployment: KubeObject): void {
    const namespace = deployment.metadata.namespace ?? '';
    const rsName = `${deployment.metadata.name ?? ''}-sim`;
    const replicas = replicasOf(deployment);
    const rs = this.store.objects.get(REPLICA_SETS, namespace, rsName);
    if (!rs) {
      this.store.seed({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: rsName, namespace, ownerReferences: [ownerRef(deployment)] },
        spec: {
          replicas,
          selector: getPath(deployment, ['spec', 'selector']),
          template: getPath(deployment, ['spec', 'template']),
        },
      });
      return;
    }
    if (replicasOf(rs) !== replicas) this.store.mergeInto(rs, { spec: { replicas } });
    const ready = Number(getPath(rs, ['status', 'readyReplicas']) ?? 0);
    this.writeCounts(deployment, Number(getPath(rs, ['status', 'replicas']) ?? 0), ready);
  }

  private syncPods(owner: KubeObject, stateful: boolean): void {
    const namespace = owner.metadata.namespace ?? '';
    const base = owner.metadata.name ?? '';
    const replicas = replicasOf(owner);
    const mine = this.store.objects
      .list('pods', namespace)
      .filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid));
    for (let i = 0; i < replicas; i += 1) {
      const name = `${base}-${i}`;
      if (!mine.some((p) => p.metadata.name === name)) this.createPod(owner, name, i, stateful);
    }
    for (const pod of mine) {
      const ordinal = Number(pod.metadata.name?.slice(base.length + 1));
      if (ordinal >= replicas && !pod.metadata.deletionTimestamp) {
        this.stopper.add(`${namespace}|${pod.metadata.name ?? ''}`, this.options.podStopDelayMs);
      }
    }
    const live = mine.filter((p) => Number(p.metadata.name?.slice(base.length + 1)) < replicas);
    this.writeCounts(owner, mine.length, Math.min(live.length, replicas));
    const deployment = owner.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
    if (deployment) this.queue.add(`${DEPLOYMENTS}|${namespace}|${deployment.name}`);
  }

  private createPod(owner: KubeObject, name: string, ordinal: number, stateful: boolean): void {
    const template = getPath(owner, ['spec', 'template']);
    const templateSpec = isRecord(template) && isRecord(template.spec) ? template.spec : {};
    const templateMeta = isRecord(template) && isRecord(template.metadata) ? template.metadata : {};
    const volumes = Array.isArray(templateSpec.volumes) ? [...templateSpec.volumes] : [];
    if (stateful) {
      const claimTemplates = getPath(owner, ['spec', 'volumeClaimTemplates']);
      for (const t of Array.isArray(claimTemplates) ? claimTemplates : []) {
        const tplName = getString(t, ['metadata', 'name']) ?? '';
        volumes.push({
          name: tplName,
          persistentVolumeClaim: {
            claimName: `${tplName}-${owner.metadata.name ?? ''}-${ordinal}`,
          },
        });
      }
    }
    const pod = this.store.seed({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: isRecord(templateMeta.labels) ? templateMeta.labels : {},
        ownerReferences: [ownerRef(owner)],
      },
      spec: { ...templateSpec, volumes },
    } as KubeObject);
    this.store.writeStatus(pod, { phase: 'Running' });
  }

  private deletePod(key: string): void {
    const [namespace = '', name = ''] = key.split('|');
    const pod = this.store.objects.get('pods', namespace, name);
    if (!pod) return;
    this.store.delete(this.store.resourceFor('v1', 'Pod'), namespace, name);
  }

  private writeCounts(owner: KubeObject, replicas: number, ready: number): void {
    const status = isRecord(owner.status) ? owner.status : {};
    if (status.replicas === replicas && status.readyReplicas === ready) return;
    this.store.writeStatus(owner, {
      ...status,
      replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      updatedReplicas: replicas,
    });
  }
}

function replicasOf(object: KubeObject): number {
  const value = getPath(object, ['spec', 'replicas']);
  return typeof value === 'number' ? value : 1;
}

function ownerRef(owner: KubeObject) {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}
