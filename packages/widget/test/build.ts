import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds dist/ (rollup.config.mjs) before the suites that test the built code. */
export default function build(): void {
  const widget = join(dirname(fileURLToPath(import.meta.url)), '..');
  const rollup = createRequire(join(widget, 'package.json')).resolve('rollup/dist/bin/rollup');
  execFileSync(process.execPath, [rollup, '-c', '--silent'], { cwd: widget, stdio: 'inherit' });
}
