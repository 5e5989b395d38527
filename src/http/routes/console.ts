import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';

export const CONSOLE_PATH = '/console/';

/**
 * Where `npm run build` writes the console (scripts/build-console.mjs): dist/console/ of the
 * project, the same folder whether this file runs from src/ (tsx) or dist/ (the build).
 */
export const CONSOLE_DIST = path.resolve(import.meta.dirname, '..', '..', '..', 'dist', 'console');

/** The files of the bundle, by the name the page asks for, and how each is sent. */
const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;
type FileName = keyof typeof FILES;

/**
 * Only the console's own files run and load, only the server's own API is called, and nothing is
 * sent or framed anywhere else. Pico CSS draws its form icons as data: SVG images.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Revalidated every time (ETag): a new build is seen at once, an unchanged file costs a 304.
  'cache-control': 'no-cache',
};

interface Asset {
  body: Buffer;
  etag: string;
}

function readBundle(dir: string): Map<FileName, Asset> | null {
  const assets = new Map<FileName, Asset>();
  for (const name of Object.keys(FILES) as FileName[]) {
    let body: Buffer;
    try {
      body = fs.readFileSync(path.join(dir, name));
    } catch {
      return null;
    }
    assets.set(name, { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/**
 * The operator console at /console/: a page built into dist/console/ that calls this server's
 * public API with the key typed into it. The files are read once, when the server starts; they
 * need no key (the page asks for one) and every answer carries the console's security headers.
 */
export function consoleRoutes(app: FastifyInstance, dir = CONSOLE_DIST): void {
  const assets = readBundle(dir);
  const serve = (name: FileName) => async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(SECURITY_HEADERS);
    if (assets === null) throw ApiError.general('service_unavailable', 'The console is not built: run npm run build, then start the server again.');
    const asset = assets.get(name)!;
    void reply.header('etag', asset.etag).type(FILES[name]);
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };
  // /console and /console/ are one route (the router ignores trailing slashes); the page names its files by absolute path.
  app.get(CONSOLE_PATH, serve('index.html'));
  app.get(`${CONSOLE_PATH}console.js`, serve('console.js'));
  app.get(`${CONSOLE_PATH}console.css`, serve('console.css'));
}
