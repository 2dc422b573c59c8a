import { isLabelKey, isLabelValue } from './k8s-syntax.js';
import { matchesSelector, parseSelector } from './label-selector.js';
import type { LabelSelector } from './policy.schema.js';

const shop = { app: 'shop', tier: 'db', env: 'prod' };

describe('matchesSelector', () => {
  it.each<[string, LabelSelector, Record<string, string>, boolean]>([
    ['empty selector matches everything', {}, shop, true],
    ['empty selector matches unlabelled objects', {}, {}, true],
    ['all matchLabels present', { matchLabels: { app: 'shop', tier: 'db' } }, shop, true],
    ['one matchLabel differs', { matchLabels: { app: 'shop', tier: 'web' } }, shop, false],
    ['matchLabel missing', { matchLabels: { team: 'a' } }, shop, false],
    [
      'In with the value',
      { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev', 'prod'] }] },
      shop,
      true,
    ],
    [
      'In without the value',
      { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] },
      shop,
      false,
    ],
    [
      'In with the key absent',
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      shop,
      false,
    ],
    [
      'NotIn with another value',
      { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
      shop,
      true,
    ],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] },
      shop,
      false,
    ],
    [
      'NotIn with the key absent',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      shop,
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, shop, true],
    ['Exists, absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, shop, false],
    [
      'DoesNotExist',
      { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] },
      shop,
      true,
    ],
    [
      'DoesNotExist, present',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      shop,
      false,
    ],
    [
      'labels AND expressions',
      {
        matchLabels: { app: 'shop' },
        matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }],
      },
      shop,
      false,
    ],
    [
      'inherited properties are not labels',
      { matchExpressions: [{ key: 'toString', operator: 'Exists' }] },
      {},
      false,
    ],
  ])('%s', (_name, selector, labels, expected) => {
    expect(matchesSelector(labels, selector)).toBe(expected);
  });
});

describe('parseSelector', () => {
  it('reads the kubectl syntax', () => {
    expect(parseSelector('app=shop,tier!=web,env in (a,b),!legacy,team')).toEqual({
      matchLabels: { app: 'shop' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: ['web'] },
        { key: 'env', operator: 'In', values: ['a', 'b'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'team', operator: 'Exists' },
      ],
    });
  });

  it.each<[string, LabelSelector]>([
    ['', {}],
    ['   ', {}],
    ['app==shop', { matchLabels: { app: 'shop' } }],
    [
      ' app = shop , env notin ( dev , test ) ',
      {
        matchLabels: { app: 'shop' },
        matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev', 'test'] }],
      },
    ],
    ['app.kubernetes.io/name=db', { matchLabels: { 'app.kubernetes.io/name': 'db' } }],
    ['tier=', { matchLabels: { tier: '' } }],
    [
      'app=a,app=b',
      {
        matchLabels: { app: 'a' },
        matchExpressions: [{ key: 'app', operator: 'In', values: ['b'] }],
      },
    ],
    ['app=a,app=a', { matchLabels: { app: 'a' } }],
  ])('parses %j', (text, selector) => {
    expect(parseSelector(text)).toEqual(selector);
  });

  it('selects the same objects as the equivalent structured selector', () => {
    const selector = parseSelector('app=shop,env in (prod),!legacy');
    expect(matchesSelector(shop, selector)).toBe(true);
    expect(matchesSelector({ ...shop, legacy: 'yes' }, selector)).toBe(false);
    expect(matchesSelector({ ...shop, env: 'dev' }, selector)).toBe(false);
  });

  it.each([
    ['app=shop,', /empty requirement/],
    [',app', /empty requirement/],
    ['env in (a,b', /unbalanced parentheses/],
    ['env in a,b)', /unbalanced parentheses/],
    ['env in ()', /cannot parse "env in \(\)"/],
    ['env in ((a))', /unbalanced/],
    ['app>3', /cannot parse "app>3"/],
    ['app=shop=x', /cannot parse/],
    ['-app=x', /cannot parse/],
    ['app=sh op', /cannot parse/],
    ['bad_prefix_/x=1', /invalid label key "bad_prefix_\/x"/],
    ['app=-x', /invalid label value "-x"/],
    [`app=${'v'.repeat(64)}`, /invalid label value/],
  ])('rejects %j clearly', (text, message) => {
    expect(() => parseSelector(text)).toThrow(message);
    expect(() => parseSelector(text)).toThrow(/invalid label selector/);
  });
});

describe('label syntax', () => {
  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['snapwarden.io/keep', true],
    ['A_b.c-D', true],
    ['', false],
    ['/name', false],
    ['Example.com/name', false],
    ['a/b/c', false],
    ['-app', false],
    ['app-', false],
    ['x'.repeat(64), false],
  ])('key %j is %s', (key, valid) => {
    expect(isLabelKey(key)).toBe(valid);
  });

  it.each([
    ['', true],
    ['shop', true],
    ['v1.2_3-x', true],
    ['-x', false],
    ['x y', false],
    ['x'.repeat(63), true],
    ['x'.repeat(64), false],
  ])('value %j is %s', (value, valid) => {
    expect(isLabelValue(value)).toBe(valid);
  });
});
