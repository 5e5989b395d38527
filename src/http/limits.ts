import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Limits } from '../config.js';
import { ApiError } from '../errors.js';

/** The options of Fastify and Node's HTTP server that bound what one client can hold. */
export function serverLimits(limits: Limits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node looks for requests over their time; its default of 30 s would let a slow
      // client hold a connection far longer than the configured timeouts.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
  };
}

export function applyConnectionLimit(app: FastifyInstance, limits: Limits): void {
  app.server.maxConnections = limits.maxConnections;
}

function clientErrorFor(code: string | undefined): ApiError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return ApiError.general('request_timeout', 'The request did not arrive in time.');
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return ApiError.general('headers_too_large', 'The request headers are too large.');
  }
  return ApiError.general('validation_error', 'The request is not valid HTTP.');
}

/**
 * Errors Node raises before a request reaches Fastify (malformed HTTP, oversized headers, a
 * client too slow to send its request) are answered in the same envelope, then the connection
 * is closed.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const apiError = clientErrorFor(error.code);
  // Only the code: the error also carries the raw request bytes, Authorization header included.
  this.log.debug({ code: error.code }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(apiError.toBody());
    socket.write(
      `HTTP/1.1 ${apiError.statusCode} ${apiError.code.replace(/_/g, ' ')}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
