// The demo shop's own behaviour: a cart kept in localStorage and a pretend checkout, reported to
// Winback through the async stub, so the calls made before the sdk's script arrives wait for it.

/**
 * @typedef {{ id: string, title: string, variant: string, unitPrice: number, quantity: number }} CartLine
 * @typedef {((command: string, ...args: unknown[]) => void) & { q?: unknown[][] }} Winback
 */

const STORAGE_KEY = 'winback-demo-cart';
const CURRENCY = 'EUR';
/** Bumped whenever the consent sentence next to the checkbox changes. */
const CONSENT_TEXT_VERSION = 'demo-cart-reminder-1';
const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: CURRENCY });

/** @type {Window & { winback?: Winback }} */
const page = window;
// The async stub: queue calls until the script tag's sdk replaces it and replays them. (Rest
// arguments instead of `arguments`: the sdk reads each queued call as an array-like either way.)
page.winback =
  page.winback ||
  /** @type {Winback} */ (
    (...args) => {
      const stub = /** @type {Winback} */ (page.winback);
      stub.q = stub.q || [];
      stub.q.push(args);
    }
  );
/**
 * Calls Winback through `window.winback` each time: the sdk replaces the stub when it loads, so
 * a reference kept to the stub would queue calls that are never replayed.
 *
 * @param {string} command
 * @param {unknown[]} args
 */
const winback = (command, ...args) => page.winback?.(command, ...args);

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

/** @param {CartLine[]} lines */
const subtotalOf = (lines) => lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0);

/**
 * Tells Winback the whole cart. Money in cents; the image as an absolute URL, so a recovery
 * mail can show it. The sdk works out what changed and skips an unchanged cart.
 *
 * @param {CartLine[]} lines
 */
function reportCart(lines) {
  winback('cart', {
    currency: CURRENCY,
    subtotal: subtotalOf(lines),
    lines: lines.map((line) => ({
      id: line.id,
      title: line.title,
      variant: line.variant,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
      imageUrl: new URL(`/images/${line.id}.svg`, location.href).href,
    })),
  });
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
      label.textContent = `${line.quantity} × ${line.title} (${line.variant})`;
      const amount = document.createElement('span');
      amount.textContent = money.format((line.unitPrice * line.quantity) / 100);
      item.append(label, amount);
      return item;
    }),
  );
  const count = lines.reduce((sum, line) => sum + line.quantity, 0);
  byId('cart-count').textContent = String(count);
  byId('cart-subtotal').textContent = money.format(subtotalOf(lines) / 100);
}

function start() {
  let lines = loadCart();
  render(lines);
  // Every page that shows a cart reports it: Winback may not have seen it yet. An empty cart
  // Winback never saw is not news.
  if (lines.length > 0) reportCart(lines);

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
      const { id = '', title = '', variant = '', price = '0' } = product.dataset;
      const existing = lines.find((line) => line.id === id);
      lines = existing
        ? lines.map((line) => (line === existing ? { ...line, quantity: line.quantity + 1 } : line))
        : [...lines, { id, title, variant, unitPrice: Number(price), quantity: 1 }];
      saveCart(lines);
      render(lines);
      reportCart(lines);
    });
  }

  // Consent first, with the version of the text the shopper saw; the sdk sends no address
  // until consent for its channel is given.
  byId('save-cart').addEventListener('submit', (event) => {
    event.preventDefault();
    const email = /** @type {HTMLInputElement} */ (byId('save-email')).value.trim();
    const consented = /** @type {HTMLInputElement} */ (byId('save-consent')).checked;
    if (!email || !consented) return;
    winback('consent', { email: true, textVersion: CONSENT_TEXT_VERSION });
    winback('identify', { email });
    const note = byId('save-note');
    note.hidden = false;
    note.textContent = 'Saved. If you leave, a reminder will follow (see the admin outbox).';
  });

  byId('checkout').addEventListener('click', () => {
    const note = byId('cart-note');
    note.hidden = false;
    if (lines.length === 0) {
      note.textContent = 'Your cart is empty.';
      return;
    }
    winback('track', 'checkout_started');
    // The pretend payment succeeds at once: the order completes and the cart empties.
    const orderId = `demo-${Date.now().toString(36)}`;
    winback('track', 'order_completed', {
      orderId,
      value: subtotalOf(lines),
      currency: CURRENCY,
    });
    note.textContent = `Thanks! Order ${orderId} is a demo, so nothing was charged. Your cart is now empty.`;
    // No empty cart to report: after `order_completed` the sdk starts the next cart afresh.
    lines = [];
    saveCart(lines);
    render(lines);
  });
}

start();
