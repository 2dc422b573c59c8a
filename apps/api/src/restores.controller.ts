import { Body, Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { restoreRunId } from '#lib/engine';
import { parseRestoreRequestSpec, restoreRequestSpecOpenApiSchema } from '#lib/policy';
import { parseRequestBody } from './request-body.js';
import { RequestsGateway } from './request-providers.js';
import { conflict, notFound } from './snapshot-requests.controller.js';
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
  @UseGuards(WriteAuthGuard)
  @ApiWrite(restoreRequestSpecOpenApiSchema)
  async create(@Body() body: unknown) {
    const input = parseRequestBody(body, 'restore', parseRestoreRequestSpec);
    const key = `${input.namespace}/${input.name}`;
    if (!(await this.gateway.restores.create({ ...input, trigger: 'api' }))) {
      throw conflict('restore', key);
    }
    await this.gateway.producer.submitRestore(key);
    return this.withRun(await this.gateway.restores.status(key));
  }

  @Get(':namespace/:name')
  async get(@Param('namespace') namespace: string, @Param('name') name: string) {
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
