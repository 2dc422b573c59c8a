import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Config } from '#lib/config';
import { RuntimeModule } from '#lib/runtime';
import { ApiModule } from '../../api/src/api.module.js';
import { HealthModule } from '../../api/src/health.module.js';
import { RequestCrModule } from '../../scheduler/src/request-cr.module.js';
import { SchedulerModule } from '../../scheduler/src/scheduler.module.js';
import { WorkerModule } from '../../worker/src/worker.module.js';

/** Composes the roles this process runs (`SNAPWARDEN_ROLES`) over the shared runtime. */
@Module({})
export class AppModule {
  static forRoles(config: Config, redisUrl: string, logger: Logger): DynamicModule {
    const roles = {
      // Policies, and in kubernetes mode the SnapshotRequest/RestoreRequest resources.
      scheduler: [SchedulerModule, RequestCrModule],
      worker: [WorkerModule],
      api: [ApiModule],
    } as const;
    return {
      module: AppModule,
      imports: [
        RuntimeModule.forRoot(config, redisUrl, logger),
        HealthModule,
        ...config.roles.flatMap((role) => roles[role]),
      ],
    };
  }
}
