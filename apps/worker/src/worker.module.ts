import { Module } from '@nestjs/common';
import { WorkerService } from './worker.service.js';

/** The worker role: processors for every queue. */
@Module({ providers: [WorkerService], exports: [WorkerService] })
export class WorkerModule {}
