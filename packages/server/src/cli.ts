import { parseArgs } from 'node:util';
import { serveCommand } from './commands/serve.js';
import { ConfigError, loadConfig } from './config.js';
import { UsageError } from './errors.js';

const usage = `usage: winback <command>

  serve                         run an HTTP/WebSocket node (needs DATABASE_URL)
  worker                        run the background jobs (needs DATABASE_URL and REDIS_URL)
  migrate                       bring the database schema up to date
  demo [--seed]                 run everything on embedded defaults (Postgres, queue, SMTP);
                                --seed first fills the demo store with a month of carts
                                (replacing the month an earlier --seed made)
  store create --name N --origin https://shop.example [--origin ...]
                                create a store; prints its public key and admin secret

Settings come from environment variables; see the README's configuration table.`;

async function main(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, strict: false, allowPositionals: true });
  const [command, subcommand] = positionals;
  if (!command || command === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const config = loadConfig(process.env);
  switch (command) {
    case 'serve':
      return serveCommand(config);
    case 'worker':
      return (await import('./commands/worker.js')).workerCommand(config);
    case 'migrate':
      return (await import('./commands/migrate.js')).migrateCommand(config);
    case 'demo': {
      const demo = await import('./commands/demo.js');
      return demo.demoCommand(config, demo.parseDemoArgs(argv.slice(1)));
    }
    case 'store':
      if (subcommand !== 'create')
        throw new UsageError('unknown store command; try `winback store create --help`');
      return (await import('./commands/store.js')).storeCreateCommand(config, argv.slice(2));
    default:
      throw new UsageError(`unknown command "${command}"\n\n${usage}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Expected failures are one line naming the problem; anything else keeps its stack.
  if (error instanceof ConfigError || error instanceof UsageError) {
    process.stderr.write(`winback: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `winback: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
