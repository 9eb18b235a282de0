// Building the page with DOM APIs only. Every piece of data becomes a text node or a
// property, never markup: a vehicle id, a note or a zone name holding `<img onerror=…>` is
// shown as those characters. Nothing in the page assigns innerHTML.

/**
 * Creates an element. `props`: `class`, `text` (textContent), `data` (dataset entries),
 * `on` ({event: handler}), `style` ({property: value}, set through the CSSOM, which the page's
 * Content-Security-Policy allows), and anything else as an attribute (`false`/`null` omit it,
 * `true` sets it empty). Children: nodes, strings (as text), arrays, or null (skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (key === 'style') Object.assign(node.style, value);
    else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** Appends children as `el` takes them. */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Removes every child of `node`. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replaces the children of `node`. */
export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}

/** A `<select>` of `[value, label]` pairs. */
export function select(options, props = {}) {
  return el('select', props, options.map(([value, label]) => el('option', { value, text: label })));
}

/** A labelled form field. */
export function field(label, input, hint) {
  return el('label', { class: 'field' }, el('span', { class: 'field-label', text: label }), input,
    hint ? el('small', { class: 'hint', text: hint }) : null);
}

/** A message line that can show an error or a success (role=status, read by screen readers). */
export function messageLine() {
  const line = el('p', { class: 'message', role: 'status' });
  return {
    node: line,
    error(text) { line.className = 'message error'; line.textContent = text; },
    ok(text) { line.className = 'message ok'; line.textContent = text; },
    clear() { line.className = 'message'; line.textContent = ''; },
  };
}
