import type { Config } from '../config.js';

export async function storeCreateCommand(_config: Config, _argv: string[]): Promise<void> {
  throw new Error('not implemented yet');
}
