// @ts-check
// Building the page with DOM APIs only. Every piece of data becomes a text node or a
// property, never markup: a vehicle id, a note or a zone name holding `<img onerror=…>` is
// shown as those characters. Nothing in the page assigns innerHTML.

/**
 * Creates an element. `props`: `class`, `text` (textContent), `data` (dataset entries),
 * `on` ({event: handler}), `style` ({property: value}, set through the CSSOM, which the page's
 * Content-Security-Policy allows), and anything else as an attribute (`false`/`null` omit it,
 * `true` sets it empty). Children: nodes, strings (as text), arrays, or null (skipped).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(/** @type {Record<string, any>} */ (props))) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (key === 'style') Object.assign(node.style, value);
    else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') /** @type {any} */ (node)[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/**
 * @typedef {{ class?: string, text?: unknown, data?: Record<string, string>,
 *   on?: Record<string, (event: any) => void>, style?: Partial<CSSStyleDeclaration>,
 *   [attribute: string]: unknown }} Props
 * @typedef {Node | string | number | null | undefined | false | readonly unknown[]} Child
 *   (or arrays of the same, nested to any depth: their items are not checked)
 */

/**
 * Appends children as `el` takes them.
 * @template {Node & ParentNode} N
 * @param {N} node
 * @param {Child} children
 * @returns {N}
 */
export function append(node, children) {
  for (const child of /** @type {Child[]} */ ([children].flat(Infinity))) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Removes every child of `node`.
 * @template {Node} N
 * @param {N} node
 */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/**
 * Replaces the children of `node`.
 * @template {Node & ParentNode} N
 * @param {N} node
 * @param {...Child} children
 */
export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}

/**
 * A `<select>` of `[value, label]` pairs.
 * @param {[string, string][]} options
 * @param {Props} [props]
 */
export function select(options, props = {}) {
  return el('select', props, options.map(([value, label]) => el('option', { value, text: label })));
}

/**
 * A labelled form field.
 * @param {string} label
 * @param {HTMLElement} input
 * @param {string} [hint]
 */
export function field(label, input, hint) {
  return el('label', { class: 'field' }, el('span', { class: 'field-label', text: label }), input,
    hint ? el('small', { class: 'hint', text: hint }) : null);
}

/** A message line that can show an error or a success (role=status, read by screen readers). */
export function messageLine() {
  const line = el('p', { class: 'message', role: 'status' });
  return {
    node: line,
    /** @param {string} text */
    error(text) { line.className = 'message error'; line.textContent = text; },
    /** @param {string} text */
    ok(text) { line.className = 'message ok'; line.textContent = text; },
    clear() { line.className = 'message'; line.textContent = ''; },
  };
}
