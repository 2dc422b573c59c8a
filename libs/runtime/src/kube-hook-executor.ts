import {
  OutputTail,
  type HookExecution,
  type HookExecutor,
  type HookInvocation,
  type HookTargets,
} from '#lib/engine';
import {
  execInPod,
  isLivePod,
  mountsClaim,
  type KubeClient,
  type KubeWorkloads,
  type Pod,
} from '#lib/kube';
import { matchesSelector } from '#lib/policy';

/**
 * Kubernetes mode: a hook runs through `pods/exec` in each running pod that mounts the claim
 * (or, with `podSelector`, each running pod of the claim's namespace it selects), one after the
 * other. A named container the pod lacks fails the hook in that pod without an exec.
 */
export class KubeHookExecutor implements HookExecutor {
  private readonly seen = new Map<string, Pod>();

  constructor(
    private readonly kube: KubeClient,
    private readonly workloads: KubeWorkloads,
  ) {}

  async targets(invocation: HookInvocation): Promise<HookTargets> {
    const { hook, volume } = invocation;
    const pods = (await this.workloads.listPods(volume.namespace)).filter(
      (pod) =>
        pod.status?.phase === 'Running' &&
        pod.metadata.deletionTimestamp === undefined &&
        isLivePod(pod) &&
        (hook.podSelector
          ? matchesSelector(pod.metadata.labels ?? {}, hook.podSelector)
          : mountsClaim(pod, volume.name)),
    );
    if (pods.length === 0) {
      return {
        none: hook.podSelector
          ? 'no running pod matches podSelector'
          : `no running pod mounts claim ${volume.name}`,
      };
    }
    for (const pod of pods) this.seen.set(`${volume.namespace}/${pod.metadata.name}`, pod);
    return { targets: pods.map((p) => p.metadata.name).sort() };
  }

  async run(invocation: HookInvocation, pod: string): Promise<HookExecution> {
    const { hook, volume } = invocation;
    const target = hook.container ? `${pod}/${hook.container}` : pod;
    const started = Date.now();
    const known = this.seen.get(`${volume.namespace}/${pod}`);
    this.seen.delete(`${volume.namespace}/${pod}`);
    const containers = (known?.spec?.containers ?? []).map((c) => c.name);
    if (hook.container && known && !containers.includes(hook.container)) {
      return {
        target,
        ok: false,
        output: '',
        durationMs: 0,
        error: `container ${hook.container} not found in pod ${pod} (has ${containers.join(', ')})`,
      };
    }
    const tail = new OutputTail();
    const result = await execInPod(this.kube, {
      namespace: volume.namespace,
      pod,
      container: hook.container,
      command: hook.command,
      timeoutMs: hook.timeoutSeconds * 1000,
      onOutput: (chunk) => tail.push(chunk),
    });
    const base = { target, output: tail.text(), durationMs: Date.now() - started };
    if ('exitCode' in result)
      return { ...base, ok: result.exitCode === 0, exitCode: result.exitCode };
    return { ...base, ok: false, error: result.error };
  }
}
