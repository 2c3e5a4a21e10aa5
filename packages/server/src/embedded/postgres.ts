export interface EmbeddedPostgres {
  /** Connection URL to the `postgres` database as the `postgres` user. */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Keep the data folder when stopped (the demo) or delete it (tests). */
  persistent: boolean;
}

export async function startEmbeddedPostgres(
  _options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  throw new Error('not implemented yet');
}
