import type { JobQueue } from '../../queue/index.js';

/** One job per ledger row, named by the row's id; the payload carries ids only. */
export const SEND_JOB = 'message.send';

export type SendPayload = { storeId: string };

/** Arms the send job of each ledger row at its scheduled time (all at once: ids differ). */
export async function scheduleSends(
  queue: JobQueue,
  storeId: string,
  messages: readonly { id: string; scheduledAt: Date }[],
): Promise<void> {
  await Promise.all(
    messages.map((message) =>
      queue.schedule<SendPayload>(SEND_JOB, message.id, message.scheduledAt, { storeId }),
    ),
  );
}
