import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { type RunningCli, startCli } from './helpers/cli.js';
import { freePort } from './helpers/discover.js';

const chromium = needsChromium();

// The demo as a person meets it: the real `winback demo`, in a real browser.
describe.skipIf(!chromium)('the demo pages in Chromium', () => {
  let browser: Browser;
  let demo: RunningCli;
  let dataDir: string;
  let base: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'winback-browser-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    [browser, demo] = await Promise.all([
      launchChromium(chromium!),
      startCli(['demo'], { PORT: String(port), WINBACK_DATA_DIR: dataDir }, /admin: http/),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop('SIGINT');
    await rm(dataDir, { recursive: true, force: true });
  });

  async function open(path: string) {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const response = await page.goto(`${base}${path}`);
    return { page, response, problems };
  }

  it('shows the storefront, whose cart works, without a console error', async () => {
    const { page, response, problems } = await open('/');
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Winback demo store');
    await page.locator('.product .add').first().click();
    await page.locator('.product .add').nth(1).click();
    await expect.poll(() => page.locator('#cart-count').textContent()).toBe('2');
    await page.reload();
    expect(await page.locator('#cart-count').textContent()).toBe('2');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the admin page under its strict CSP without a violation', async () => {
    const { page, response, problems } = await open('/admin');
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'|script-src/);
    expect(await page.title()).toMatch(/Winback admin/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
