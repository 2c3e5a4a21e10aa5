import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; features register their own metrics on it. */
    metrics: Registry;
  }
}

/**
 * Prometheus metrics at `/metrics`: process defaults plus request durations by route. Each app
 * has its own registry, so several apps in one process (tests) do not collide.
 */
const metrics: FastifyPluginAsync = async (app) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'winback_' });
  const requestDuration = new Histogram({
    name: 'winback_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.decorate('metrics', registry);

  app.addHook('onResponse', async (request, reply) => {
    // Only matched routes, so a scan of random paths cannot blow up the label set.
    const route = request.routeOptions.url;
    if (!route) return;
    requestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};

export const metricsFeature = fp(metrics, { name: 'winback-metrics' });
