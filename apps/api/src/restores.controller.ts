import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { restoreRunId } from '#lib/engine';
import {
  parseRestoreRequestSpec,
  RESTORE_REQUEST_KIND,
  restoreRequestSpecOpenApiSchema,
} from '#lib/policy';
import { createAndSubmit } from './request-submit.js';
import { NoQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { parseRequestBody } from './request-body.js';
import { RequestsGateway } from './request-providers.js';
import { notFound } from './snapshot-requests.controller.js';
import { SameOriginGuard } from './same-origin.guard.js';
import { WriteAuthGuard } from './write-auth.guard.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiWrite } from './api-write.decorator.js';

/** Restores: `POST` starts a RestoreRequest, `GET` shows its phase, claim and message. */
@ApiTags('restores')
@Controller('api/v1/restores')
export class RestoresController {
  constructor(@Inject(RequestsGateway) private readonly gateway: RequestsGateway) {}

  @Post()
  @HttpCode(201)
  @UseGuards(SameOriginGuard, WriteAuthGuard)
  @ApiWrite(restoreRequestSpecOpenApiSchema)
  async create(@Body() body: unknown) {
    const kind = { name: RESTORE_REQUEST_KIND, prefix: 'restore' };
    const input = parseRequestBody(body, kind, parseRestoreRequestSpec);
    const key = `${input.namespace}/${input.name}`;
    const { restores, producer } = this.gateway;
    await createAndSubmit('restore', key, {
      create: () => restores.create({ ...input, trigger: 'api' }),
      submit: () => producer.submitRestore(key),
      discard: () => restores.discard(key),
      queued: () => producer.restoreQueued(key),
    });
    return this.withRun(await restores.status(key));
  }

  @Get(':namespace/:name')
  async get(
    @Param('namespace') namespace: string,
    @Param('name') name: string,
    @Query() query: unknown,
  ) {
    parseInput(NoQuerySchema, query, 'query');
    const status = await this.gateway.restores.status(`${namespace}/${name}`);
    if (!status) throw notFound('restore', `${namespace}/${name}`);
    return this.withRun(status);
  }

  /** The record with the id of its run in the history (kind `restore`). */
  private withRun<T extends { namespace: string; name: string; createdAt: string }>(
    status: T | undefined,
  ): (T & { runId: string }) | undefined {
    return status && { ...status, runId: restoreRunId(status) };
  }
}
