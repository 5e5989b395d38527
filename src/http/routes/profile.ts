import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import { type ProfilePatch, profileToWire } from '../../domain/profile.js';
import { parseProfileRequest } from '../../domain/profile-request.js';
import type { Store } from '../../storage/store.js';
import { readAddress, readPlatform } from '../addressing.js';
import { profileResponse } from '../schemas.js';

export const PROFILE_PATH = '/api/v2/server-side-api/profile/';

const notFound = () => new ApiError('profile_does_not_exist', [{ source: null, errors: ['Profile not found'] }]);

/** The body as a patch; the `adapty-platform` header fills in a device's platform when the body leaves it out. */
function readPatch(request: FastifyRequest): ProfilePatch {
  const platform = readPlatform(request);
  const patch = parseProfileRequest(request.body);
  if (platform !== undefined && patch.installation && patch.installation.platform === undefined) {
    patch.installation.platform = platform;
  }
  return patch;
}

export function profileRoutes(app: FastifyInstance, store: Store): void {
  const schema = { response: { 200: profileResponse } };

  app.post(PROFILE_PATH, { schema }, async (request) => {
    const address = readAddress(request);
    const record = await store.ensureProfile(request.appId, address, readPatch(request));
    return { data: profileToWire(record, Date.now()) };
  });

  app.get(PROFILE_PATH, { schema }, async (request) => {
    const record = await store.findProfile(request.appId, readAddress(request));
    if (!record) throw notFound();
    return { data: profileToWire(record, Date.now()) };
  });

  app.patch(PROFILE_PATH, { schema }, async (request) => {
    const address = readAddress(request);
    const record = await store.updateProfile(request.appId, address, readPatch(request));
    if (!record) throw notFound();
    return { data: profileToWire(record, Date.now()) };
  });

  app.delete(PROFILE_PATH, async (request, reply) => {
    if (!(await store.deleteProfile(request.appId, readAddress(request)))) throw notFound();
    return reply.code(204).send();
  });
}
