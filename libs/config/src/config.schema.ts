import { z } from 'zod';
import { parseSentinelList } from './redis-target.js';

const ROLES = ['scheduler', 'worker', 'api'] as const;
/** A process role; one build runs any subset of them. */
export type Role = (typeof ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const DURATION = /^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/;

function durationToMs(value: string): number {
  const units: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)([dhms])/g)) {
    total += Number(amount) * (units[unit ?? 's'] ?? 0);
  }
  return total;
}

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .optional()
    .transform((v) => v ?? fallback);

/** A duration such as `30d`, `12h` or `1h30m`, in milliseconds, optionally at least `min`. */
const duration = (fallback: string, min?: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => v ?? fallback)
    .refine((v) => v !== '' && DURATION.test(v), {
      message: 'must be a duration such as 30d, 12h or 90s',
      abort: true,
    })
    .transform(durationToMs)
    .refine((ms) => min === undefined || ms >= durationToMs(min), `must be at least ${min}`);

const roles = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const list = (v ?? ROLES.join(','))
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const unknown = list.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown.length > 0 || list.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a comma-separated subset of ${ROLES.join(',')} (unknown: ${unknown.join(',') || 'none given'})`,
      });
      return z.NEVER;
    }
    return [...new Set(list)] as Role[];
  });

/**
 * The process environment snapwarden reads, validated once at start. Nothing else reads
 * `process.env`: every setting reaches the code through the `Config` this schema yields.
 */
export const EnvSchema = z.object({
  SNAPWARDEN_MODE: z.enum(['local', 'kubernetes']).default('local'),
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_SENTINELS: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      try {
        parseSentinelList(v);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${(error as Error).message}` });
      }
    })
    .optional(),
  REDIS_SENTINEL_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]+$/, 'must be the monitored primary name (letters, digits, . _ -)')
    .optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  PORT: int(1, 65535, 8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  SNAPWARDEN_DATA_DIR: z.string().trim().min(1, 'must not be empty').default('./data'),
  SNAPWARDEN_POLICY_DIR: z.string().trim().min(1, 'must not be empty').default('./policies'),
  SNAPWARDEN_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SNAPWARDEN_ROLES: roles,
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SNAPWARDEN_DRIVER: z.enum(['local', 'memory']).optional(),
  SNAPWARDEN_MEMORY_VOLUMES_FILE: z.string().trim().min(1, 'must not be empty').optional(),
  SNAPWARDEN_MAX_SNAPSHOTS_PER_VOLUME: int(1, 1000, 7),
  SNAPWARDEN_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'must be letters, digits, - or _')
    .default('snapwarden'),
  SNAPWARDEN_WORKER_CONCURRENCY: int(1, 1000, 8),
  SNAPWARDEN_JOB_LOCK_MS: int(1000, 3_600_000, 30_000),
  SNAPWARDEN_RESYNC_INTERVAL: duration('60s'),
  SNAPWARDEN_CLEANUP_INTERVAL: duration('60s', '1s'),
  SNAPWARDEN_FAILED_SNAPSHOT_GRACE: duration('1h'),
  SNAPWARDEN_READY_TIMEOUT: duration('10m'),
  SNAPWARDEN_AUDIT_MAX_EVENTS: int(100, 100_000_000, 100_000),
  SNAPWARDEN_AUDIT_MAX_AGE: duration('30d'),
  SNAPWARDEN_RUNS_MAX: int(100, 10_000_000, 10_000),
  KUBECONFIG: z.string().trim().min(1, 'must not be empty').optional(),
  SNAPWARDEN_NAMESPACE: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
      'must be a namespace name (DNS-1123 label: lowercase letters, digits and -)',
    )
    .optional(),
  SNAPWARDEN_KUBE_QPS: int(1, 10_000, 20),
  SNAPWARDEN_STATUS_CATCH_UP_AFTER: duration('5m', '1s'),
  SNAPWARDEN_KUBE_BURST: int(1, 10_000, 40),
});

export type Env = z.input<typeof EnvSchema>;
