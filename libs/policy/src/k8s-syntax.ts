const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Maximum length of a DNS-1123 label (and of most Kubernetes object names we generate). */
export const DNS1123_LABEL_MAX = 63;
/** Maximum length of a DNS-1123 subdomain. */
export const DNS1123_SUBDOMAIN_MAX = 253;

/** True for a lowercase RFC 1123 label: `[a-z0-9]`, inner `-`, at most 63 characters. */
export function isDns1123Label(s: string): boolean {
  return s.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(s);
}

/** True for a lowercase RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(s);
}

/**
 * True for a Kubernetes label key: an optional DNS-1123 subdomain prefix and `/`, then a name
 * of at most 63 characters of `[A-Za-z0-9._-]` that starts and ends alphanumeric.
 */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1 && !isDns1123Subdomain(key.slice(0, slash))) return false;
  return name.length <= DNS1123_LABEL_MAX && QUALIFIED_NAME.test(name);
}

/** True for a Kubernetes label value: empty, or like a label key's name part. */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= DNS1123_LABEL_MAX && QUALIFIED_NAME.test(value));
}
