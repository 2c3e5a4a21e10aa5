/**
 * Groups calls that arrive while one is running into one call over all of their inputs, the way
 * a group commit does: the first call runs at once on its own; those made while it runs wait and
 * then run together (at most `maxBatch` at a time), and so on. Under load a statement per item
 * becomes a statement per group — one round trip to Postgres instead of one per item — without
 * adding any wait when idle.
 *
 * `run` gets the inputs of one group and returns one output per input, in the same order. If it
 * throws, every call of that group rejects with the error.
 *
 * @example
 *   const readStatus = batched(async (ids: string[]) => {
 *     const rows = await db.selectFrom('messages').select(['id', 'status'])
 *       .where('id', 'in', ids).execute();
 *     const byId = new Map(rows.map((row) => [row.id, row.status]));
 *     return ids.map((id) => byId.get(id));
 *   });
 *   await Promise.all([readStatus(a), readStatus(b)]); // two round trips at most, usually one
 */
export function batched<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  { maxBatch = 64 }: { maxBatch?: number } = {},
): (input: I) => Promise<O> {
  type Waiting = { input: I; resolve: (output: O) => void; reject: (error: unknown) => void };
  const queue: Waiting[] = [];
  let running = false;

  const drain = async () => {
    running = true;
    while (queue.length > 0) {
      const group = queue.splice(0, maxBatch);
      try {
        const outputs = await run(group.map((waiting) => waiting.input));
        if (outputs.length !== group.length) {
          throw new Error(`batched: ${outputs.length} outputs for ${group.length} inputs`);
        }
        for (const [index, waiting] of group.entries()) waiting.resolve(outputs[index] as O);
      } catch (error) {
        for (const waiting of group) waiting.reject(error);
      }
    }
    running = false;
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!running) void drain();
    });
}
