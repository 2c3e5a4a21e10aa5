import type { ColumnType, Generated } from 'kysely';

// Table interfaces for Kysely. Migrations create the tables; this file mirrors them.

export interface StoresTable {
  id: Generated<string>;
  name: string;
  public_key: string;
  secret_hash: string;
  allowed_origins: string[];
  created_at: ColumnType<Date, never, never>;
}

export interface Database {
  stores: StoresTable;
}
