/** What started a run: a policy's tick, an on-demand request, a restore, or a cleanup pass. */
export const RUN_KINDS = ['scheduled', 'on-demand', 'restore', 'cleanup'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * A run's result. `running` until every volume is terminal; then `succeeded` (every volume
 * succeeded or was skipped), `failed` (every volume failed) or `partial` (some failed).
 * `missed` and `skipped` runs are recorded terminal at once.
 */
export const RUN_STATES = [
  'running',
  'succeeded',
  'failed',
  'partial',
  'missed',
  'skipped',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** One volume's progress in a run; `succeeded`, `failed` and `skipped` are terminal and final. */
export const VOLUME_RUN_STATES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type VolumeRunState = (typeof VOLUME_RUN_STATES)[number];

/** The result of one volume in a run. */
export interface VolumeRunResult {
  /** Volume name inside the run's namespace. */
  volume: string;
  state: VolumeRunState;
  snapshot?: string;
  error?: string;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  attempts?: number;
}

/** How many of a run's volumes are in each state; `pending` counts those not yet terminal. */
export interface RunCounts {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  pending: number;
}

/** One entry of the job history: one tick, request, restore or cleanup pass, per volume. */
export interface RunRecord {
  id: string;
  kind: RunKind;
  /** `namespace/name` of the policy, when the run belongs to one. */
  policy?: string;
  namespace: string;
  trigger: string;
  /** Nominal time of the run (the tick); the history is ordered by it. */
  scheduledAt: string;
  /** When the run was recorded. */
  createdAt: string;
  finishedAt?: string;
  /** `finishedAt - createdAt`. */
  durationMs?: number;
  state: RunState;
  message?: string;
  /** In the order the run was started with. */
  volumes: VolumeRunResult[];
  counts: RunCounts;
}

/** Input of `RunStore.start`. */
export interface RunStartInput {
  /** Deterministic id (e.g. policy uid + tick), so a retried or duplicated start finds the run. */
  id: string;
  kind: RunKind;
  policy?: string;
  namespace: string;
  trigger: string;
  scheduledAt: Date;
  /** Volume names inside `namespace`; duplicates are ignored. */
  volumes: string[];
  message?: string;
  /** Record a run that did not happen; it is terminal at once and its volumes are `skipped`. */
  state?: 'missed' | 'skipped';
  /**
   * Volumes already decided when the run starts (`skipped` or `failed`, e.g. a claim that does
   * not exist); the others start `pending`. A run whose volumes are all decided is terminal at
   * once, with the state {@link finalRunState} gives.
   */
  decided?: VolumeRunResult[];
  /**
   * Opaque text stored with the run in the same atomic step, e.g. which volumes a tick
   * admitted: a retried start reads it back instead of deciding again.
   */
  admission?: string;
}

const TERMINAL: ReadonlySet<VolumeRunState> = new Set(['succeeded', 'failed', 'skipped']);
const KINDS: ReadonlySet<string> = new Set(RUN_KINDS);
const STATES: ReadonlySet<string> = new Set(RUN_STATES);
const VOLUME_STATES: ReadonlySet<string> = new Set(VOLUME_RUN_STATES);

/** Whether a volume in this state is done (its result no longer changes). */
export function isTerminalVolumeState(state: VolumeRunState): boolean {
  return TERMINAL.has(state);
}

/** Whether `value` is a {@link RunKind}. */
export function isRunKind(value: string): value is RunKind {
  return KINDS.has(value);
}

/** Whether `value` is a {@link RunState}. */
export function isRunState(value: string): value is RunState {
  return STATES.has(value);
}

/** Whether `value` is a {@link VolumeRunState}. */
export function isVolumeRunState(value: string): value is VolumeRunState {
  return VOLUME_STATES.has(value);
}

/** Final state of a run whose volumes are all terminal (the same rule the update script applies). */
export function finalRunState(
  counts: Pick<RunCounts, 'succeeded' | 'failed' | 'skipped'>,
): RunState {
  if (counts.failed === 0) return 'succeeded';
  return counts.succeeded + counts.skipped === 0 ? 'failed' : 'partial';
}
