import type { FastifyInstance, FastifyRequest } from 'fastify';
import { profileNotFound } from '../../errors.js';
import { type ProfilePatch, profileToWire } from '../../domain/profile.js';
import { parseProfileRequest } from '../../domain/profile-request.js';
import type { ProfileService } from '../../services/profiles.js';
import { readAddress, readPlatform } from '../addressing.js';
import { addressHeaders, errorResponses, profileRequest } from '../openapi-schemas.js';
import { profileResponse } from '../schemas.js';

export const PROFILE_PATH = '/api/v2/server-side-api/profile/';

/** The body as a patch; the `adapty-platform` header fills in a device's platform when the body leaves it out. */
function readPatch(request: FastifyRequest): ProfilePatch {
  const platform = readPlatform(request);
  const patch = parseProfileRequest(request.body);
  if (platform !== undefined && patch.installation && patch.installation.platform === undefined) {
    patch.installation.platform = platform;
  }
  return patch;
}

const tags = ['Profiles (Adapty-compatible)'];
const security = [{ apiKey: [] }];
const read = { 200: profileResponse, ...errorResponses(404) };

export function profileRoutes(app: FastifyInstance, profiles: ProfileService): void {
  const create = {
    operationId: 'createProfile',
    summary: 'Create a profile, or make sure it exists (idempotent)',
    tags,
    security,
    headers: addressHeaders(true),
    body: profileRequest,
    response: { 200: profileResponse, ...errorResponses() },
  };
  const get = { operationId: 'getProfile', summary: 'Get a profile', tags, security, headers: addressHeaders(), response: read };
  const update = {
    operationId: 'updateProfile',
    summary: 'Update a profile (fields left out are kept)',
    tags,
    security,
    headers: addressHeaders(true),
    body: profileRequest,
    response: read,
  };
  const remove = {
    operationId: 'deleteProfile',
    summary: 'Delete a profile with its identifiers and attributes',
    tags,
    security,
    headers: addressHeaders(),
    response: { 204: { description: 'Deleted; empty body', type: 'null' }, ...errorResponses(404) },
  };

  app.post(PROFILE_PATH, { schema: create }, async (request) => {
    const address = readAddress(request);
    const record = await profiles.ensure(request.appId, address, readPatch(request));
    return { data: profileToWire(record, Date.now()) };
  });

  app.get(PROFILE_PATH, { schema: get }, async (request) => {
    const record = await profiles.find(request.appId, readAddress(request));
    if (!record) throw profileNotFound('profile_does_not_exist');
    return { data: profileToWire(record, Date.now()) };
  });

  app.patch(PROFILE_PATH, { schema: update }, async (request) => {
    const address = readAddress(request);
    const record = await profiles.update(request.appId, address, readPatch(request));
    if (!record) throw profileNotFound('profile_does_not_exist');
    return { data: profileToWire(record, Date.now()) };
  });

  app.delete(PROFILE_PATH, { schema: remove }, async (request, reply) => {
    if (!(await profiles.delete(request.appId, readAddress(request)))) throw profileNotFound('profile_does_not_exist');
    return reply.code(204).send();
  });
}
