import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { SnapshotDriver } from '#lib/storage';
import { DRIVER } from '#lib/runtime';
import { VolumesQuerySchema } from './list-query.schema.js';
import { parseInput } from './query-validation.js';
import { ApiTags } from '@nestjs/swagger';
import { ApiQueryFrom } from './api-query.decorator.js';

/** Every snapshot the driver knows, managed or not, newest first. */
@ApiTags('snapshots')
@Controller('api/v1/snapshots')
export class SnapshotsController {
  constructor(@Inject(DRIVER) private readonly driver: SnapshotDriver) {}

  @Get()
  @ApiQueryFrom(VolumesQuerySchema)
  async list(@Query() query: unknown) {
    const { namespace } = parseInput(VolumesQuerySchema, query, 'query');
    const snapshots = await this.driver.listAllSnapshots(namespace);
    return {
      items: snapshots.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()),
    };
  }
}
