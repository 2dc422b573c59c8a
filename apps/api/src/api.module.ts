import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller.js';
import { EventsController } from './events.controller.js';
import { LiveModule } from './live.module.js';
import { PoliciesController } from './policies.controller.js';
import { RequestsModule } from './requests.module.js';
import { RunsController } from './runs.controller.js';
import { SnapshotsController } from './snapshots.controller.js';
import { StatsController } from './stats.controller.js';
import { VolumesController } from './volumes.controller.js';

/** The api role: the REST API. */
@Module({
  imports: [RequestsModule, LiveModule],
  controllers: [
    RunsController,
    EventsController,
    VolumesController,
    SnapshotsController,
    PoliciesController,
    StatsController,
    DashboardController,
  ],
})
export class ApiModule {}
