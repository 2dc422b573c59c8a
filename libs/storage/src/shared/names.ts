import { InvalidRequestError } from '../errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True for a DNS-1123 label: what Kubernetes allows as a namespace or claim name. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** True for a DNS-1123 subdomain: what Kubernetes allows as a VolumeSnapshot name. */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/** True when a snapshot reference could name a snapshot at all (and is safe in a path). */
export function isSnapshotRef(ref: { namespace: string; name: string }): boolean {
  return isDnsLabel(ref.namespace) && isDnsSubdomain(ref.name);
}

/** Throws an `InvalidRequestError` naming `field` unless `value` is a DNS-1123 label. */
export function assertDnsLabel(value: string, field: string): void {
  if (!isDnsLabel(value)) {
    throw new InvalidRequestError(`${field} "${value}" is not a DNS-1123 label`, field);
  }
}

/** Throws an `InvalidRequestError` naming `field` unless `value` is a DNS-1123 subdomain. */
export function assertDnsSubdomain(value: string, field: string): void {
  if (!isDnsSubdomain(value)) {
    throw new InvalidRequestError(`${field} "${value}" is not a DNS-1123 subdomain`, field);
  }
}
