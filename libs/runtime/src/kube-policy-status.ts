import type { PolicyEvent, PolicyObjectRef, PolicyStatus, PolicyStatusPort } from '#lib/engine';
import type { KubeClient } from '#lib/kube';
import { API_VERSION, BACKUP_POLICY_KIND } from '#lib/policy';

const GROUP = 'snapwarden.io';
const VERSION = 'v1alpha1';
const PLURAL = 'backuppolicies';

/**
 * BackupPolicy status and Events through the Kubernetes API: a merge patch of the status
 * subresource (libs/kube retries it on 409 Conflict) and a core v1 Event on the policy
 * (repeats of the same event bump its count).
 */
export class KubePolicyStatus implements PolicyStatusPort {
  constructor(
    private readonly kube: KubeClient,
    private readonly component = 'snapwarden',
  ) {}

  async patchStatus(ref: PolicyObjectRef, status: PolicyStatus): Promise<void> {
    await this.kube.patchCustomStatus(GROUP, VERSION, PLURAL, ref.namespace, ref.name, {
      ...status,
    });
  }

  async recordEvent(ref: PolicyObjectRef, event: PolicyEvent): Promise<void> {
    await this.kube.createEvent({
      involvedObject: {
        apiVersion: API_VERSION,
        kind: BACKUP_POLICY_KIND,
        name: ref.name,
        namespace: ref.namespace,
        uid: ref.uid || undefined,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: this.component,
    });
  }
}
