import type { Config } from '#lib/config';
import type { PolicySource } from '#lib/engine';
import { PolicyFileSource } from './policy-file.source.js';

/** The policy source of this process's mode: the policy folder in local mode. */
export function createPolicySource(config: Config): PolicySource {
  return new PolicyFileSource(config.policyDir, {
    defaultDriver: config.driver,
    maxSnapshotsPerVolume: () => config.maxSnapshotsPerVolume,
  });
}
