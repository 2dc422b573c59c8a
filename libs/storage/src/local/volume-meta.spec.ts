import { MalformedFileError } from '../errors.js';
import { parseVolumeMeta } from './volume-meta.js';

const FILE = '/data/volumes/db.volume.yaml';

describe('parseVolumeMeta', () => {
  it.each([
    ['an empty file', '', { namespace: 'default', labels: {} }],
    ['a comment only', '# nothing yet\n', { namespace: 'default', labels: {} }],
    ['a namespace only', 'namespace: shop\n', { namespace: 'shop', labels: {} }],
    [
      'namespace and labels, with prefixed keys',
      'namespace: shop\nlabels:\n  app: shop\n  example.com/tier: "gold"\n  empty: ""\n',
      { namespace: 'shop', labels: { app: 'shop', 'example.com/tier': 'gold', empty: '' } },
    ],
    ['labels only', 'labels: {app: shop}\n', { namespace: 'default', labels: { app: 'shop' } }],
  ])('reads %s', (_case, text, expected) => {
    expect(parseVolumeMeta(text, FILE)).toEqual(expected);
  });

  it.each([
    ['broken YAML', 'labels: [unclosed\n', /invalid YAML/],
    ['a list instead of a mapping', '- a\n- b\n', /expected a mapping/],
    ['an unknown key (a typo)', 'lables:\n  app: shop\n', /unknown key "lables"/],
    ['a namespace that is not a DNS label', 'namespace: Shop_Prod\n', /namespace "Shop_Prod"/],
    ['labels that are not a mapping', 'labels: shop\n', /labels must be a mapping/],
    ['an unquoted number as label value', 'labels:\n  version: 2\n', /labels\.version: value 2/],
    ['an invalid label key', 'labels:\n  "bad key": x\n', /invalid key "bad key"/],
    ['duplicate keys', 'namespace: a\nnamespace: b\n', /invalid YAML/],
  ])('refuses %s with an error naming the file', (_case, text, message) => {
    const parse = () => parseVolumeMeta(text, FILE);
    expect(parse).toThrow(MalformedFileError);
    expect(parse).toThrow(message);
    expect(parse).toThrow(FILE);
  });
});
