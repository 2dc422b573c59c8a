import { Module } from '@nestjs/common';
import { CONFIG, DRIVER, KUBE_CLIENT, LOGGER } from '#lib/runtime';
import { createPolicySource } from './policy-source.factory.js';
import { POLICY_SOURCE } from './scheduler.constants.js';
import { SchedulerService } from './scheduler.service.js';

/** The scheduler role: policy source (chosen by mode) → job schedulers. */
@Module({
  providers: [
    {
      provide: POLICY_SOURCE,
      useFactory: createPolicySource,
      inject: [CONFIG, LOGGER, KUBE_CLIENT, DRIVER],
    },
    SchedulerService,
  ],
  exports: [SchedulerService],
})
export class SchedulerModule {}
