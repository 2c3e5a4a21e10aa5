/**
 * Redis names used by the BullMQ adapter. Every key of one job kind carries the same hash tag
 * (`{kind}`), so BullMQ's multi-key scripts and our own pointer keys stay in one Redis Cluster
 * slot while different kinds still spread over the cluster.
 */

/** The BullMQ queue name for a kind; BullMQ prefixes it as `<prefix>:{kind}:<type>`. */
export function queueName(kind: string): string {
  return `{${kind}}`;
}

/** The key holding the BullMQ job id of the latest schedule of (kind, id). */
export function latestKey(prefix: string, kind: string, id: string): string {
  return `${prefix}:${queueName(kind)}:latest:${id}`;
}

/**
 * A BullMQ job id for one schedule of `id`. BullMQ refuses custom ids containing ':' or looking
 * like integers; URI-encoding removes every ':' and the '|' separator makes it never numeric.
 * Each schedule gets its own generation, so a re-schedule never collides with a job that is
 * still running or kept in the completed set.
 */
export function bullmqJobId(id: string, generation: string): string {
  return `${encodeURIComponent(id)}|${generation}`;
}

export function validatePrefix(prefix: string): void {
  if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new TypeError(
      `queue prefix must be non-empty without braces or spaces (got ${JSON.stringify(prefix)})`,
    );
  }
}
