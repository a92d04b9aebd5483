// Small DOM helpers. Data is only ever inserted as text (textContent / text nodes), never as HTML.

export const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`elemen #${id} tidak ada`);
  return node;
};

// el('button', {class: 'x', type: 'button', onclick: fn, dataset: {a: 1}}, 'teks', childNode)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(id, value) {
  $(id).textContent = value === undefined || value === null ? '' : String(value);
}

export function show(node, visible = true) {
  (typeof node === 'string' ? $(node) : node).hidden = !visible;
}

// Show one `.view` section and hide the others.
export function showView(name) {
  for (const section of document.querySelectorAll('main .view')) {
    section.hidden = section.id !== `view-${name}`;
  }
}

let bannerTimer = null;
export function banner(message, kind = '', seconds = 0) {
  const node = $('banner');
  clearTimeout(bannerTimer);
  if (!message) {
    node.hidden = true;
    node.textContent = '';
    return;
  }
  node.className = `notice ${kind}`.trim();
  node.textContent = message;
  node.hidden = false;
  if (seconds > 0) bannerTimer = setTimeout(() => banner(''), seconds * 1000);
}

export function fieldError(id, message) {
  const node = $(id);
  node.textContent = message || '';
  node.hidden = !message;
}

// <dialog> with a fallback for browsers without showModal (older exam-room PCs).
export function openDialog(node) {
  if (typeof node.showModal === 'function') node.showModal();
  else node.setAttribute('open', '');
}

export function closeDialog(node) {
  if (typeof node.close === 'function') node.close();
  else node.removeAttribute('open');
}

export function isOpen(node) {
  return node.hasAttribute('open');
}
