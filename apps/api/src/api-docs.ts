import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { Request, Response } from 'express';

/** Path of the OpenAPI document. */
export const API_DOCS_PATH = '/api/docs';

/** Name of the bearer security scheme the write endpoints declare. */
export const API_TOKEN_SCHEME = 'api-token';

/**
 * Builds the OpenAPI document from the controllers' decorators and serves it as JSON at
 * `GET /api/docs`. Call before `listen`, in processes that run the api role.
 */
export function setupApiDocs(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('snapwarden')
    .setDescription(
      'Scheduled, rotated, audited volume snapshots. Reads are open; writes need ' +
        '`Authorization: Bearer <SNAPWARDEN_API_TOKEN>`.',
    )
    .setVersion('v1')
    .addBearerAuth({ type: 'http', scheme: 'bearer' }, API_TOKEN_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config);
  app
    .getHttpAdapter()
    .get(API_DOCS_PATH, (_req: Request, res: Response) => void res.json(document));
  return document;
}
