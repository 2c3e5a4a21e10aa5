import type { Db } from '../../db/index.js';
import type { StoreCache } from './access.js';
import type { BatchWriter } from './batch-writer.js';
import type { EventsStoredListener, FrameContext } from './frames.js';
import type { IngestThrottle } from './rate-limit.js';

/** What the ingest routes share; built once when the feature registers. */
export interface IngestDeps {
  db: Db;
  /** Group commit across connections (see batch-writer.ts). */
  writer: BatchWriter;
  stores: StoreCache;
  listeners: readonly EventsStoredListener[];
  /** Per IP and per key rate limits, asked before a frame is stored. */
  throttle: IngestThrottle;
  /** Outcome counter for one transport. */
  count(transport: 'ws' | 'http'): NonNullable<FrameContext['count']>;
}
