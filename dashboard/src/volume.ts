import { getJson } from './api.js';
import { badge, el, table } from './dom.js';
import { when } from './format.js';
import { restoreForm } from './forms.js';
import type { Snapshot, VolumeView } from './types.js';

/** The cap bar: ready snapshots, reserved slots (snapshots not ready yet) and free slots. */
export function capBar(snapshots: Snapshot[], cap: number): HTMLElement {
  const ready = snapshots.filter((s) => s.readyToUse).length;
  const reserved = snapshots.length - ready;
  const cells = Array.from({ length: Math.max(cap, snapshots.length) }, (_, i) =>
    el('span', {
      className: i < ready ? 'slot used' : i < ready + reserved ? 'slot reserved' : 'slot free',
    }),
  );
  return el('div', { className: 'cap' }, [
    el(
      'div',
      {
        className: 'cap-bar',
        attrs: {
          role: 'meter',
          'aria-valuemin': '0',
          'aria-valuemax': String(cap),
          'aria-valuenow': String(snapshots.length),
          'aria-label': 'Snapshots against the cap',
        },
      },
      cells,
    ),
    el('span', { className: 'cap-text', text: `${snapshots.length} / ${cap}` }),
    el('span', {
      className: 'cap-legend',
      text: ` (${ready} ready, ${reserved} reserved, ${Math.max(0, cap - snapshots.length)} free)`,
    }),
  ]);
}

/** A volume: its snapshots against the cap, and a restore action per ready snapshot. */
export async function renderVolume(
  root: HTMLElement,
  namespace: string,
  name: string,
): Promise<void> {
  const [volumes, snapshots] = await Promise.all([
    getJson<{ items: VolumeView[] }>('/api/v1/volumes', { namespace }),
    getJson<{ items: Snapshot[] }>('/api/v1/snapshots', { namespace }),
  ]);
  const volume = volumes.items.find((v) => v.name === name);
  if (!volume) {
    root.replaceChildren(el('h2', { text: `Volume ${namespace}/${name} not found` }));
    return;
  }
  const own = snapshots.items.filter((s) => s.volumeName === name);
  const restore = el('div', { attrs: { id: 'restore-slot' } });
  const rows = own.map((s) => [
    s.name,
    when(s.createdAt),
    badge(s.readyToUse ? 'ready' : s.state),
    s.error ?? '',
    s.readyToUse
      ? el('button', {
          text: 'Restore…',
          attrs: { type: 'button', 'aria-label': `Restore ${s.name}` },
          onClick: () => restore.replaceChildren(restoreForm(namespace, s.name)),
        })
      : '',
  ]);
  root.replaceChildren(
    el('h2', { text: `Volume ${namespace}/${name}` }),
    el('p', {
      text: `Labels: ${
        Object.entries(volume.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || 'none'
      }`,
    }),
    capBar(own, volume.cap),
    table('Snapshots', ['Snapshot', 'Created', 'State', 'Error', 'Action'], rows),
    restore,
  );
}
