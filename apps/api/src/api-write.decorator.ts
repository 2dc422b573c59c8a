import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiResponse } from '@nestjs/swagger';
import type { OpenApiSchema } from '#lib/policy';
import { API_TOKEN_SCHEME } from './api-docs.js';

const metadata = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'DNS label; generated when missing' },
    namespace: { type: 'string', default: 'default' },
  },
};

/**
 * Documents a write endpoint: bearer authentication, the body (`metadata` + the request kind's
 * `spec`, the same schema the CRD uses) and its error answers.
 */
export function ApiWrite(spec: () => OpenApiSchema): MethodDecorator {
  return applyDecorators(
    ApiBearerAuth(API_TOKEN_SCHEME),
    ApiBody({
      schema: {
        type: 'object',
        required: ['spec'],
        properties: { metadata, spec: spec() as Record<string, unknown> },
      },
    }),
    ApiResponse({ status: 201, description: 'Created; the request with its phase' }),
    ApiResponse({ status: 400, description: 'Invalid body; `field` names the problem' }),
    ApiResponse({ status: 401, description: 'Missing or wrong bearer token' }),
    ApiResponse({ status: 403, description: 'Cross-origin write (browser from another site)' }),
    ApiResponse({ status: 409, description: 'The name is taken' }),
  );
}
