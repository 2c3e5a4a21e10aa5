// The demo shop's own behaviour: a cart kept in localStorage and a pretend checkout. The
// Winback sdk will watch this cart once it is wired in; until then the shop works on its own.

/**
 * @typedef {{ id: string, title: string, unitPrice: number, quantity: number }} CartLine
 */

const STORAGE_KEY = 'winback-demo-cart';
const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });

/** @returns {CartLine[]} */
function loadCart() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

/** @param {CartLine[]} lines */
function saveCart(lines) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(lines));
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
}

/** @param {CartLine[]} lines */
function render(lines) {
  const list = byId('cart-lines');
  list.replaceChildren(
    ...lines.map((line) => {
      const item = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = `${line.quantity} × ${line.title}`;
      const amount = document.createElement('span');
      amount.textContent = money.format((line.unitPrice * line.quantity) / 100);
      item.append(label, amount);
      return item;
    }),
  );
  const count = lines.reduce((sum, line) => sum + line.quantity, 0);
  const subtotal = lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0);
  byId('cart-count').textContent = String(count);
  byId('cart-subtotal').textContent = money.format(subtotal / 100);
}

function start() {
  let lines = loadCart();
  render(lines);

  const cart = byId('cart');
  const toggle = document.querySelector('.cart-toggle');
  toggle?.addEventListener('click', () => {
    cart.hidden = !cart.hidden;
    toggle.setAttribute('aria-expanded', String(!cart.hidden));
  });

  for (const button of document.querySelectorAll('.product .add')) {
    button.addEventListener('click', () => {
      const product = button.closest('.product');
      if (!(product instanceof HTMLElement)) return;
      const { id = '', title = '', price = '0' } = product.dataset;
      const existing = lines.find((line) => line.id === id);
      lines = existing
        ? lines.map((line) => (line === existing ? { ...line, quantity: line.quantity + 1 } : line))
        : [...lines, { id, title, unitPrice: Number(price), quantity: 1 }];
      saveCart(lines);
      render(lines);
    });
  }

  byId('checkout').addEventListener('click', () => {
    const note = byId('cart-note');
    note.hidden = false;
    note.textContent =
      lines.length === 0
        ? 'Your cart is empty.'
        : 'Thanks! This is a demo, so nothing was charged. Your cart is now empty.';
    lines = [];
    saveCart(lines);
    render(lines);
  });
}

start();
