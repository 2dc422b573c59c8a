import {
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  parseSnapshotRequestSpec,
  SNAPSHOT_REQUEST_KIND,
  snapshotRequestSpecOpenApiSchema,
} from '#lib/policy';
import { createAndSubmit } from './request-submit.js';
import { NoQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { parseRequestBody } from './request-body.js';
import { RequestsGateway } from './request-providers.js';
import { SameOriginGuard } from './same-origin.guard.js';
import { WriteAuthGuard } from './write-auth.guard.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiWrite } from './api-write.decorator.js';

/** On-demand snapshots: `POST` starts a SnapshotRequest, `GET` shows its phase and claims. */
@ApiTags('snapshot-requests')
@Controller('api/v1/snapshot-requests')
export class SnapshotRequestsController {
  constructor(@Inject(RequestsGateway) private readonly gateway: RequestsGateway) {}

  @Post()
  @HttpCode(201)
  @UseGuards(SameOriginGuard, WriteAuthGuard)
  @ApiWrite(snapshotRequestSpecOpenApiSchema)
  async create(@Body() body: unknown) {
    const kind = { name: SNAPSHOT_REQUEST_KIND, prefix: 'snapreq' };
    const input = parseRequestBody(body, kind, parseSnapshotRequestSpec);
    const key = `${input.namespace}/${input.name}`;
    const { snapshots, producer } = this.gateway;
    await createAndSubmit('snapshot request', key, {
      create: () => snapshots.create({ ...input, trigger: 'api' }),
      submit: () => producer.submitRequest(key, input.spec.timeoutSeconds * 1000),
      discard: () => snapshots.discard(key),
      queued: () => producer.requestQueued(key),
    });
    return snapshots.status(key);
  }

  @Get(':namespace/:name')
  async get(
    @Param('namespace') namespace: string,
    @Param('name') name: string,
    @Query() query: unknown,
  ) {
    parseInput(NoQuerySchema, query, 'query');
    const status = await this.gateway.snapshots.status(`${namespace}/${name}`);
    if (!status) throw notFound('snapshot request', `${namespace}/${name}`);
    return status;
  }
}

/** 409 for a name that is taken. */
export function conflict(what: string, key: string): ConflictException {
  return new ConflictException({
    statusCode: 409,
    error: 'Conflict',
    field: 'metadata.name',
    message: `${what} ${key} already exists`,
  });
}

/** 404 naming the request. */
export function notFound(what: string, key: string): NotFoundException {
  return new NotFoundException({
    statusCode: 404,
    error: 'Not Found',
    field: 'name',
    message: `${what} ${key} not found`,
  });
}
