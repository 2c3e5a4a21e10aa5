import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

// The flags keep headless Chromium from reaching for Google's services, which this kind of
// sandboxed machine refuses; --no-sandbox because CI runs as root.
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The system Chromium: CHROMIUM_PATH, else Debian's or another usual place. */
export function chromiumPath(env = process.env): string | undefined {
  const candidates = [
    env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  return candidates.find((path): path is string => Boolean(path && existsSync(path)));
}

/**
 * Whether browser suites can run: returns the executable, or `undefined` after a loud line saying
 * they are skipped. Under CI=true a missing Chromium fails the run instead.
 */
export function needsChromium(): string | undefined {
  const path = chromiumPath();
  if (path) return path;
  const line =
    '\n!!! Chromium is not installed (set CHROMIUM_PATH or apt-get install chromium): browser suites are SKIPPED\n';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${line.trim()}`);
  process.stderr.write(line);
  return undefined;
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: chromiumArgs, headless: true });
}
