import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { profileNotFound } from '../../errors.js';
import { type ProfilePatch, profileToWire } from '../../domain/profile.js';
import { type ProfileBody, profileBody, toProfilePatch } from '../../schemas/profile.js';
import type { ProfileService } from '../../services/profiles.js';
import { profileHeaders, profileHeadersOf, readAddress } from '../addressing.js';
import { emptyBodyIsEmptyObject } from '../json-body.js';
import { addressHeaders, errorResponses, noBody } from '../schemas/common.js';
import { profileResponse } from '../schemas/profile.js';

export const PROFILE_PATH = '/api/v2/server-side-api/profile/';

/** The body as a patch; the `adapty-platform` header fills in a device's platform when the body leaves it out. */
function readPatch(request: FastifyRequest, body: ProfileBody): ProfilePatch {
  const { platform } = profileHeadersOf(request);
  const patch = toProfilePatch(body);
  if (platform !== undefined && patch.installation && patch.installation.platform === undefined) {
    patch.installation.platform = platform;
  }
  return patch;
}

const tags = ['Profiles (Adapty-compatible)'];
const security = [{ apiKey: [] }];
const read = { 200: profileResponse, ...errorResponses(404) };
// Header problems first, then an empty body read as {}, then the body's schema.
const writeHooks = [profileHeaders({ platform: true }), emptyBodyIsEmptyObject];

export function profileRoutes(app: FastifyInstance, profiles: ProfileService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const create = {
    operationId: 'createProfile',
    summary: 'Create a profile, or make sure it exists (idempotent)',
    tags,
    security,
    headers: addressHeaders(true),
    body: profileBody,
    response: { 200: profileResponse, ...errorResponses() },
  };
  const get = { operationId: 'getProfile', summary: 'Get a profile', tags, security, headers: addressHeaders(), response: read };
  const update = {
    operationId: 'updateProfile',
    summary: 'Update a profile (fields left out are kept)',
    tags,
    security,
    headers: addressHeaders(true),
    body: profileBody,
    response: read,
  };
  const remove = {
    operationId: 'deleteProfile',
    summary: 'Delete a profile with its identifiers and attributes',
    tags,
    security,
    headers: addressHeaders(),
    response: { 204: noBody('Deleted; empty body'), ...errorResponses(404) },
  };

  api.post(PROFILE_PATH, { schema: create, preValidation: writeHooks }, async (request) => {
    const record = await profiles.ensure(request.appId, profileHeadersOf(request).address, readPatch(request, request.body));
    return { data: profileToWire(record, Date.now()) };
  });

  // GET and DELETE have nothing else to validate: the headers are read in the handler (no hook).
  api.get(PROFILE_PATH, { schema: get }, async (request) => {
    const record = await profiles.find(request.appId, readAddress(request));
    if (!record) throw profileNotFound('profile_does_not_exist');
    return { data: profileToWire(record, Date.now()) };
  });

  api.patch(PROFILE_PATH, { schema: update, preValidation: writeHooks }, async (request) => {
    const record = await profiles.update(request.appId, profileHeadersOf(request).address, readPatch(request, request.body));
    if (!record) throw profileNotFound('profile_does_not_exist');
    return { data: profileToWire(record, Date.now()) };
  });

  api.delete(PROFILE_PATH, { schema: remove }, async (request, reply) => {
    if (!(await profiles.delete(request.appId, readAddress(request)))) throw profileNotFound('profile_does_not_exist');
    return reply.code(204).send();
  });
}
