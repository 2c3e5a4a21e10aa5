// Entry of the benchmarks: `node test/bench/run.mjs ingest` runs ingest.ts. The TypeScript
// sources run through tsx's loader, as the server's own bin does.
import { register } from 'tsx/esm/api';

const name = process.argv[2];
if (!name || !/^[a-z-]+$/.test(name)) {
  process.stderr.write('usage: node test/bench/run.mjs <bench name>\n');
  process.exit(2);
}
register();
await import(`./${name}.ts`);
