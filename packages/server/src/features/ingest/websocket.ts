import type { WebsocketPluginOptions } from '@fastify/websocket';
import { limits } from '@winback/shared/limits';

/**
 * Options for the app's one `@fastify/websocket` registration (it owns the server's single
 * `upgrade` listener, so it is registered once, at the root, and every WebSocket route shares
 * it).
 *
 * - `maxPayload`: no client message may exceed the protocol's frame limit. `ws` would otherwise
 *   buffer up to 100 MiB per message before anyone could refuse it; over the limit it closes the
 *   connection with 1009 (message too big) without buffering the message.
 * - `errorHandler`: protocol errors (oversized message, bad UTF-8, bad opcode) have already
 *   started a clean close with the right status code, so they are logged by code and the close
 *   handshake is left to finish; terminating at once could cut the close frame off. Anything
 *   else ends the connection.
 */
export const websocketOptions: WebsocketPluginOptions = {
  options: { maxPayload: limits.frameBytes, perMessageDeflate: false },
  errorHandler(error, socket, request) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
      request.log.info({ code }, 'websocket closed for a protocol error');
      return;
    }
    request.log.warn({ error: { name: error.name } }, 'websocket failed');
    socket.terminate();
  },
};
