/** Properties of {@link el}: text is always set with `textContent`, never parsed as markup. */
export interface ElProps {
  text?: string;
  className?: string;
  attrs?: Record<string, string>;
  onClick?: () => void;
}

/** Creates an element; string children become text nodes (user data is never markup). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElProps = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.text !== undefined) node.textContent = props.text;
  if (props.className) node.className = props.className;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  if (props.onClick) node.addEventListener('click', props.onClick);
  for (const child of children) {
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** A link to a dashboard route (`#/…`). */
export function link(route: string, text: string): HTMLAnchorElement {
  return el('a', { text, attrs: { href: `#${route}` } });
}

/** A table with a caption, header cells and rows of cells; `id` names it for tests and live swaps. */
export function table(
  caption: string,
  headers: string[],
  rows: (Node | string)[][],
  id?: string,
): HTMLTableElement {
  return el('table', id ? { attrs: { id } } : {}, [
    el('caption', { text: caption }),
    el('thead', {}, [
      el(
        'tr',
        {},
        headers.map((h) => el('th', { text: h, attrs: { scope: 'col' } })),
      ),
    ]),
    el(
      'tbody',
      {},
      rows.map((cells) =>
        el(
          'tr',
          {},
          cells.map((cell) => el('td', {}, [cell])),
        ),
      ),
    ),
  ]);
}

/** A labelled form control: `<label for>` + the control. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement,
): HTMLDivElement {
  return el('div', { className: 'field' }, [
    el('label', { text: label, attrs: { for: control.id } }),
    control,
  ]);
}

/** An input with an id and a name. */
export function input(id: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return el('input', { attrs: { id, name: id, type: 'text', ...attrs } });
}

/** A select of `options` (the first, empty, meaning "any" unless `required`). */
export function select(id: string, options: string[], anyLabel = 'any'): HTMLSelectElement {
  return el('select', { attrs: { id, name: id } }, [
    el('option', { text: anyLabel, attrs: { value: '' } }),
    ...options.map((o) => el('option', { text: o, attrs: { value: o } })),
  ]);
}

/** A state badge: text plus a class for its colour. */
export function badge(state: string): HTMLSpanElement {
  return el('span', { text: state, className: `badge badge-${state.replace(/[^a-z-]/g, '')}` });
}

/** A section: a heading and its content, wrapped so it can scroll sideways on narrow screens. */
export function section(id: string, children: (Node | string)[]): HTMLElement {
  return el('section', { className: 'block', attrs: { id } }, children);
}

/** Where focus is: the focused element's id, or its link target inside `root`. */
function focusKey(root: HTMLElement): string | undefined {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || !root.contains(active)) return undefined;
  if (active.id) return `#${active.id}`;
  const href = active.getAttribute('href');
  return href ? `a[href="${CSS.escape(href)}"]` : undefined;
}

/**
 * Replaces `root`'s content in one step (no empty frame), keeping focus on the element with the
 * same id or link target, and the page's scroll position.
 */
export function swap(root: HTMLElement, children: Node[]): void {
  const key = focusKey(root);
  const { scrollX, scrollY } = window;
  root.replaceChildren(...children);
  if (key) root.querySelector<HTMLElement>(key)?.focus({ preventScroll: true });
  window.scrollTo(scrollX, scrollY);
}
