import { Module } from '@nestjs/common';
import { RequestsGateway } from './request-providers.js';
import { RestoresController } from './restores.controller.js';
import { SnapshotRequestsController } from './snapshot-requests.controller.js';
import { SameOriginGuard } from './same-origin.guard.js';
import { WriteAuthGuard } from './write-auth.guard.js';

/** Write endpoints: snapshot requests and restores, behind the bearer token. */
@Module({
  controllers: [SnapshotRequestsController, RestoresController],
  providers: [RequestsGateway, SameOriginGuard, WriteAuthGuard],
  exports: [RequestsGateway],
})
export class RequestsModule {}
