import { formatFieldErrors, type FieldError } from './field-errors.js';
import { parseBackupPolicy, type PolicyContext } from './policy.validate.js';

const caps: Record<string, number> = { csi: 7, local: 50 };
const ctx: PolicyContext = {
  defaultDriver: 'csi',
  maxSnapshotsPerVolume: (driver) => caps[driver],
};

function policy(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'nightly', ...metadata },
    spec: {
      schedule: '0 2 * * *',
      claimNames: ['data-db-0'],
      retention: { keepDaily: 3, keepWeekly: 2 },
      ...spec,
    },
  };
}

function errorsOf(input: unknown, context: PolicyContext = ctx): FieldError[] {
  const result = parseBackupPolicy(input, context);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

describe('parseBackupPolicy', () => {
  it('applies every default and fills the driver from the context', () => {
    const result = parseBackupPolicy(policy(), ctx);
    expect(result).toEqual({
      ok: true,
      policy: {
        apiVersion: 'snapwarden.io/v1alpha1',
        kind: 'BackupPolicy',
        metadata: { name: 'nightly', namespace: 'default' },
        spec: {
          schedule: '0 2 * * *',
          timeZone: 'UTC',
          jitterSeconds: 0,
          claimNames: ['data-db-0'],
          driver: 'csi',
          retention: { keepDaily: 3, keepWeekly: 2 },
          reservedSlots: 1,
          concurrencyPolicy: 'Forbid',
          suspend: false,
          deletionPolicy: 'Retain',
        },
      },
    });
  });

  it('keeps what the document sets', () => {
    const result = parseBackupPolicy(
      policy(
        {
          schedule: '@daily',
          timeZone: 'Europe/Berlin',
          jitterSeconds: 300,
          claimNames: undefined,
          selector: {
            matchLabels: { app: 'shop' },
            matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }],
          },
          snapshotClassName: 'csi-evs',
          driver: 'local',
          reservedSlots: 2,
          concurrencyPolicy: 'Replace',
          startingDeadlineSeconds: 600,
          suspend: true,
          snapshotLabels: { 'example.com/team': 'db' },
          deletionPolicy: 'Delete',
        },
        {
          namespace: 'shop',
          uid: 'u-1',
          generation: 4,
          labels: { a: 'b' },
          annotations: { note: 'x y' },
        },
      ),
      ctx,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.spec).toMatchObject({
      driver: 'local',
      timeZone: 'Europe/Berlin',
      reservedSlots: 2,
      suspend: true,
    });
    expect(result.policy.metadata).toEqual({
      name: 'nightly',
      namespace: 'shop',
      uid: 'u-1',
      generation: 4,
      labels: { a: 'b' },
      annotations: { note: 'x y' },
    });
  });

  it('accepts and drops metadata Kubernetes adds, and ignores status', () => {
    const doc = {
      ...policy(
        {},
        {
          resourceVersion: '42',
          creationTimestamp: '2026-11-21T00:00:00Z',
          managedFields: [{ manager: 'kubectl' }],
          finalizers: ['x'],
        },
      ),
      status: { observedGeneration: 3, conditions: [] },
    };
    const result = parseBackupPolicy(doc, ctx);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.policy.metadata).sort()).toEqual(['name', 'namespace']);
    expect(result.policy).not.toHaveProperty('status');
  });

  it.each<[string, unknown, FieldError[]]>([
    [
      'an unknown spec field, by its own path',
      policy({ foo: 1 }),
      [{ field: 'spec.foo', message: 'unknown field' }],
    ],
    [
      'an unknown retention field',
      policy({ retention: { keepDaily: 1, keepDayly: 2 } }),
      [{ field: 'spec.retention.keepDayly', message: 'unknown field' }],
    ],
    [
      'a negative count',
      policy({ retention: { keepLast: -1, keepDaily: 1 } }),
      [{ field: 'spec.retention.keepLast', message: 'must be at least 0' }],
    ],
    [
      'a fractional count',
      policy({ retention: { keepLast: 1.5 } }),
      [{ field: 'spec.retention.keepLast', message: 'must be an integer' }],
    ],
    [
      'a missing schedule',
      policy({ schedule: undefined }),
      [{ field: 'spec.schedule', message: 'required' }],
    ],
    [
      'a missing retention',
      policy({ retention: undefined }),
      [{ field: 'spec.retention', message: 'required' }],
    ],
    [
      'a bad time zone',
      policy({ timeZone: 'Mars/Olympus' }),
      [{ field: 'spec.timeZone', message: 'must be an IANA time zone such as Europe/Berlin' }],
    ],
    [
      'an unknown concurrency policy',
      policy({ concurrencyPolicy: 'Skip' }),
      [{ field: 'spec.concurrencyPolicy', message: 'must be one of "Forbid", "Replace", "Allow"' }],
    ],
    [
      'a wrong type',
      policy({ suspend: 'yes' }),
      [{ field: 'spec.suspend', message: 'must be a boolean' }],
    ],
    [
      'an empty claim name',
      policy({ claimNames: ['ok', ''] }),
      [{ field: 'spec.claimNames[1]', message: 'must not be empty' }],
    ],
    [
      'neither selector nor claims',
      policy({ claimNames: undefined }),
      [{ field: 'spec.selector', message: 'selector or claimNames is required' }],
    ],
    [
      'an empty claim list without selector',
      policy({ claimNames: [] }),
      [{ field: 'spec.selector', message: 'selector or claimNames is required' }],
    ],
    [
      'a bad snapshot label key',
      policy({ snapshotLabels: { 'Bad Key': 'x' } }),
      [{ field: 'spec.snapshotLabels[Bad Key]', message: 'invalid label key' }],
    ],
    [
      'a bad snapshot label value',
      policy({ snapshotLabels: { 'example.com/team': 'a b' } }),
      [{ field: 'spec.snapshotLabels[example.com/team]', message: 'invalid label value "a b"' }],
    ],
    [
      'In without values',
      policy({ selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }),
      [{ field: 'spec.selector.matchExpressions[0].values', message: 'In needs values' }],
    ],
    [
      'a bad snapshot class name',
      policy({ snapshotClassName: 'Fast_SSD' }),
      [{ field: 'spec.snapshotClassName', message: 'must be a DNS-1123 subdomain' }],
    ],
    [
      'a bad policy name',
      policy({}, { name: 'Nightly.Backup' }),
      [{ field: 'metadata.name', message: expect.stringMatching(/DNS-1123 label/) as string }],
    ],
    [
      'a wrong kind',
      { ...policy(), kind: 'CronJob' },
      [{ field: 'kind', message: 'must be one of "BackupPolicy"' }],
    ],
    [
      'a document that is not an object',
      'schedule: 0 2 * * *',
      [{ field: '(root)', message: 'must be an object' }],
    ],
  ])('reports %s', (_name, input, expected) => {
    expect(errorsOf(input)).toEqual(expected);
  });

  it.each([
    ['0 2 * *', /4 fields/],
    ['61 2 * * *', /invalid schedule "61 2 \* \* \*"/],
    ['@reboot', /unknown schedule macro/],
  ])('reports the bad schedule %j on spec.schedule', (schedule, message) => {
    const errors = errorsOf(policy({ schedule }));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe('spec.schedule');
    expect(errors[0]?.message).toMatch(message);
  });

  it.each([
    ['no keep count', { maxAge: '30d' }],
    ['only zero counts', { keepLast: 0, keepDaily: 0 }],
  ])('requires a keep count with %s (maxAge alone cannot bound the count)', (_name, retention) => {
    expect(errorsOf(policy({ retention }))).toEqual([
      {
        field: 'spec.retention',
        message: expect.stringMatching(/at least one of keepLast, .* must be 1 or more/) as string,
      },
    ]);
  });

  it.each([
    ['30x', /invalid duration "30x"/],
    ['0', /longer than 0/],
  ])('reports a bad maxAge %j', (maxAge, message) => {
    const errors = errorsOf(policy({ retention: { keepLast: 2, maxAge } }));
    expect(errors[0]?.field).toBe('spec.retention.maxAge');
    expect(errors[0]?.message).toMatch(message);
  });

  it.each([
    ['@hourly', 3600, /less than 3600 seconds, the shortest interval of schedule "@hourly"/],
    ['@hourly', 86_400, /less than 3600 seconds/],
    ['*/5 * * * * *', 5, /less than 5 seconds/],
    ['0 9,17 * * *', 28_800, /less than 28800 seconds/],
  ])('rejects jitter not below the shortest interval of %j: %d s', (schedule, jitter, message) => {
    const errors = errorsOf(policy({ schedule, jitterSeconds: jitter }));
    expect(errors).toEqual([
      { field: 'spec.jitterSeconds', message: expect.stringMatching(message) },
    ]);
  });

  it.each([
    ['@hourly', 3599],
    ['0 2 * * *', 86_399],
    ['*/5 * * * * *', 4],
  ])('accepts jitter below the shortest interval of %j: %d s', (schedule, jitter) => {
    expect(parseBackupPolicy(policy({ schedule, jitterSeconds: jitter }), ctx).ok).toBe(true);
  });

  it('lists every problem at once', () => {
    const errors = errorsOf(
      policy({ schedule: 'nope', timeZone: 'Nowhere/City', reservedSlots: -1, bar: true }),
    );
    expect(errors.map((e) => e.field).sort()).toEqual([
      'spec.bar',
      'spec.reservedSlots',
      'spec.schedule',
      'spec.timeZone',
    ]);
  });

  describe('against the driver cap', () => {
    it.each<[string, Record<string, unknown>, FieldError[]]>([
      ['keepLast 6 fits cap 7 with 1 reserved', { retention: { keepLast: 6 } }, []],
      [
        'keepLast 7 does not',
        { retention: { keepLast: 7 } },
        [
          {
            field: 'spec.retention',
            message:
              "keeps up to 7 snapshots per volume but the driver's cap is 7 with 1 reserved slot: at most 6",
          },
        ],
      ],
      [
        'a union of rules counts every rule',
        { retention: { keepLast: 2, keepDaily: 3, keepWeekly: 3 } },
        [
          {
            field: 'spec.retention',
            message:
              "keeps up to 8 snapshots per volume but the driver's cap is 7 with 1 reserved slot: at most 6",
          },
        ],
      ],
      [
        'no reserved slot leaves the whole cap',
        { retention: { keepLast: 7 }, reservedSlots: 0 },
        [],
      ],
      [
        'bucket rules without keepLast ≥ 2 need a slot for the newest ready snapshot',
        { retention: { keepDaily: 6 } },
        [
          {
            field: 'spec.retention',
            message: expect.stringMatching(
              /^keeps up to 7 snapshots per volume \(6 by its keep rules plus the newest ready one .*\) but the driver's cap is 7 with 1 reserved slot: at most 6$/,
            ) as string,
          },
        ],
      ],
      ['keepDaily 5 fits', { retention: { keepDaily: 5 } }, []],
      [
        'keepLast 2 makes keepDaily 4 fit exactly',
        { retention: { keepLast: 2, keepDaily: 4 } },
        [],
      ],
      [
        'reservedSlots must leave room',
        { reservedSlots: 7, retention: { keepLast: 2 } },
        [
          {
            field: 'spec.reservedSlots',
            message: 'must be less than the cap of driver "csi", 7 snapshots per volume',
          },
        ],
      ],
      [
        'several reserved slots are named in plural',
        { reservedSlots: 3, retention: { keepLast: 5 } },
        [
          {
            field: 'spec.retention',
            message:
              "keeps up to 5 snapshots per volume but the driver's cap is 7 with 3 reserved slots: at most 4",
          },
        ],
      ],
      [
        'the cap of the driver the policy names applies',
        { driver: 'local', retention: { keepLast: 40 } },
        [],
      ],
      ['an unknown cap skips the check', { driver: 'other', retention: { keepLast: 400 } }, []],
    ])('%s', (_name, spec, expected) => {
      const result = parseBackupPolicy(policy(spec), ctx);
      expect(result.ok ? [] : result.errors).toEqual(expected);
    });
  });

  it('never throws, even when the context does', () => {
    const broken: PolicyContext = {
      defaultDriver: 'csi',
      maxSnapshotsPerVolume: () => {
        throw new Error('driver registry down');
      },
    };
    expect(parseBackupPolicy(policy(), broken)).toEqual({
      ok: false,
      errors: [{ field: '(root)', message: 'cannot validate: driver registry down' }],
    });
  });

  it.each([undefined, null, 42, [], {}, { spec: null }, { apiVersion: 'v1' }])(
    'never throws on %j',
    (input) => {
      expect(parseBackupPolicy(input, ctx).ok).toBe(false);
    },
  );
});

describe('formatFieldErrors', () => {
  it('prints one line per error, field first', () => {
    expect(
      formatFieldErrors([
        { field: 'spec.schedule', message: 'required' },
        { field: 'spec.foo', message: 'unknown field' },
      ]),
    ).toBe('spec.schedule: required\nspec.foo: unknown field');
  });
});
