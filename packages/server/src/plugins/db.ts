import fp from 'fastify-plugin';
import { createDb, type Db } from '../db/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

export interface DbPluginOptions {
  /** An existing handle (owned by the caller) or a URL to open one (owned by the app). */
  db?: Db;
  databaseUrl?: string;
  poolMax?: number;
}

export const dbPlugin = fp<DbPluginOptions>(
  async (app, options) => {
    if (options.db) {
      app.decorate('db', options.db);
      return;
    }
    if (!options.databaseUrl) throw new Error('db plugin: databaseUrl or db is required');
    const db = createDb(options.databaseUrl, options.poolMax);
    app.decorate('db', db);
    app.addHook('onClose', async () => {
      await db.destroy();
    });
  },
  { name: 'winback-db' },
);
