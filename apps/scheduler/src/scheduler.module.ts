import { Module } from '@nestjs/common';
import { SchedulerService } from './scheduler.service.js';

/** The scheduler role: policy source → job schedulers. */
@Module({ providers: [SchedulerService], exports: [SchedulerService] })
export class SchedulerModule {}
