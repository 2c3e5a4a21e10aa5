import type { Config } from '../config.js';

export async function workerCommand(_config: Config): Promise<void> {
  throw new Error('not implemented yet');
}
