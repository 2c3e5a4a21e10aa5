import type { FastifyBaseLogger } from 'fastify';

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits 0 (or 1 if stopping failed or took
 * longer than `timeoutMs`). A second signal while stopping exits at once.
 */
export function stopOnSignal(
  stop: () => Promise<void>,
  { timeoutMs, logger }: { timeoutMs: number; logger: FastifyBaseLogger },
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
