import { Module } from '@nestjs/common';
import { CONFIG } from '#lib/runtime';
import { createPolicySource } from './policy-source.factory.js';
import { POLICY_SOURCE } from './scheduler.constants.js';
import { SchedulerService } from './scheduler.service.js';

/** The scheduler role: policy source (chosen by mode) → job schedulers. */
@Module({
  providers: [
    { provide: POLICY_SOURCE, useFactory: createPolicySource, inject: [CONFIG] },
    SchedulerService,
  ],
  exports: [SchedulerService],
})
export class SchedulerModule {}
