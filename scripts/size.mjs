#!/usr/bin/env node
// `pnpm size`: builds the browser bundles and prints ONE JSON line of min+gzip (level 9) bytes,
//   {"sdk":B,"sdk_lazy":B,"widget":B|null,"adapters":{"<name>":B,...}}
// then exits 1 if any is over its budget (DESIGN.md §6). Build output goes to stderr.
//
// `sdk` is the script-tag build's core, dist/winback.js, which every page loads; `sdk_lazy` its
// lazy part, dist/winback-lazy-<hash>.js, which a page loads only when it first needs exit
// intent, consent/identify or the HTTP fallback. The lazy part's budget, 1.5 KB, is this
// script's own (DESIGN.md §6 budgets the core): about the size of what it holds today, so that
// it does not grow unnoticed; it is never on the critical path.
//
// `--ceiling sdk=N` tolerates a bundle that is over its budget up to N bytes, loudly: a ratchet
// for CI while a known overage is being worked off, so it cannot grow in the meantime.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const budgets = { sdk: 3072, sdkLazy: 1536, adapter: 1024, widget: 10240 };

/** Runs a package's rollup config; a package without one has nothing to build yet. */
function build(pkg) {
  const dir = join(root, 'packages', pkg);
  if (!existsSync(join(dir, 'rollup.config.mjs'))) return false;
  const rollup = createRequire(join(dir, 'package.json')).resolve('rollup/dist/bin/rollup');
  execFileSync(process.execPath, [rollup, '-c', '--silent'], {
    cwd: dir,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  return true;
}

const gzipped = (file) => gzipSync(readFileSync(file), { level: 9 }).length;

build('sdk');
const sdkDist = join(root, 'packages/sdk/dist');
// The build leaves exactly one lazy part, named by its hash.
const lazyParts = readdirSync(sdkDist).filter((name) => /^winback-lazy-.*\.js$/.test(name));
if (lazyParts.length !== 1) {
  console.error(
    `size: expected one lazy part in ${sdkDist}, found ${lazyParts.join(', ') || 'none'}`,
  );
  process.exit(1);
}
const sizes = {
  sdk: gzipped(join(sdkDist, 'winback.js')),
  sdk_lazy: gzipped(join(sdkDist, lazyParts[0])),
  // The widget is a placeholder until its issue; it reports null until it has a build.
  widget: build('widget') ? gzipped(join(root, 'packages/widget/dist/widget.js')) : null,
  adapters: {},
};
// Platform adapters are built by the sdk's config as dist/adapters/<platform>.js.
const adapters = join(sdkDist, 'adapters');
if (existsSync(adapters)) {
  for (const file of readdirSync(adapters)
    .filter((name) => name.endsWith('.js'))
    .sort()) {
    sizes.adapters[file.replace(/\.js$/, '')] = gzipped(join(adapters, file));
  }
}

console.log(JSON.stringify(sizes));

const ceilings = Object.fromEntries(
  process.argv
    .slice(2)
    .flatMap((arg, i, args) => (arg === '--ceiling' && args[i + 1] ? [args[i + 1].split('=')] : []))
    .map(([name, bytes]) => [name, Number(bytes)]),
);
const sdkLimit = Math.max(budgets.sdk, ceilings.sdk ?? 0);
if (sizes.sdk > budgets.sdk && sizes.sdk <= sdkLimit) {
  console.error(
    `size: WARNING sdk ${sizes.sdk} > budget ${budgets.sdk}, tolerated up to ${sdkLimit} by --ceiling`,
  );
}

const over = [
  sizes.sdk > sdkLimit && `sdk ${sizes.sdk} > ${sdkLimit}`,
  sizes.sdk_lazy > budgets.sdkLazy && `sdk_lazy ${sizes.sdk_lazy} > ${budgets.sdkLazy}`,
  sizes.widget !== null &&
    sizes.widget > budgets.widget &&
    `widget ${sizes.widget} > ${budgets.widget}`,
  ...Object.entries(sizes.adapters)
    .filter(([, bytes]) => bytes > budgets.adapter)
    .map(([name, bytes]) => `adapter ${name} ${bytes} > ${budgets.adapter}`),
].filter(Boolean);
if (over.length) {
  console.error(`size: over budget (min+gzip bytes): ${over.join('; ')}`);
  process.exit(1);
}
