import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  badRequest,
  internalError,
  pathNotFound,
  unsupportedMediaType,
} from './errors.js';
import {
  AGGREGATED_DISCOVERY,
  aggregatedDiscovery,
  apiGroup,
  coreVersions,
  groupList,
  resourceList,
  SERVER_VERSION,
} from './discovery.js';
import type { FaultInjector } from './faults.js';
import {
  decodeBody,
  type Negotiated,
  negotiate,
  readBody,
  sendError,
  sendObject,
  warningHeaders,
} from './http-util.js';
import { openApiV3Document, openApiV3Index, openApiV3Target } from './openapi.js';
import { patchTypeOf } from './patch.js';
import { renderList, renderObject, type RenderOptions } from './present.js';
import type { RequestLog } from './request-log.js';
import type { ResourceRegistry } from './resources.js';
import { route, type ResourceRequest } from './router.js';
import { serveScale } from './scale.js';
import { compileFilter } from './selectors.js';
import type { DeleteOptions, FieldValidation, SimStore } from './sim-store.js';
import type { IncludeObject } from './table.js';
import { isRecord } from './types.js';
import { serveWatch, type WatchSettings } from './watch.js';

/** Everything the HTTP layer needs. */
export interface HandlerDeps {
  store: SimStore;
  registry: ResourceRegistry;
  faults: FaultInjector;
  log: RequestLog;
  watch: WatchSettings;
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: Buffer;
  info: ResourceRequest;
  render: RenderOptions;
  warnings: string[];
}

function fieldValidationOf(url: URL): FieldValidation {
  const value = url.searchParams.get('fieldValidation');
  return value === 'Strict' || value === 'Ignore' ? value : 'Warn';
}

function includeOf(url: URL): IncludeObject {
  const value = url.searchParams.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function numberParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw badRequest(`invalid ${name}: ${raw}`);
  return value;
}

function deleteOptionsOf(body: unknown, url: URL): DeleteOptions {
  const opts = isRecord(body) ? body : {};
  const preconditions = isRecord(opts.preconditions) ? opts.preconditions : {};
  const policy =
    url.searchParams.get('propagationPolicy') ??
    (typeof opts.propagationPolicy === 'string' ? opts.propagationPolicy : undefined);
  const orphan =
    opts.orphanDependents === true || url.searchParams.get('orphanDependents') === 'true';
  return {
    dryRun:
      url.searchParams.get('dryRun') === 'All' ||
      (Array.isArray(opts.dryRun) && opts.dryRun.includes('All')),
    propagationPolicy: policy ?? (orphan ? 'Orphan' : undefined),
    preconditions: {
      uid: typeof preconditions.uid === 'string' ? preconditions.uid : undefined,
      resourceVersion:
        typeof preconditions.resourceVersion === 'string'
          ? preconditions.resourceVersion
          : undefined,
    },
  };
}

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

/** Serves discovery, OpenAPI, health and resource requests; logs each one. */
export class ApiHandler {
  constructor(private readonly deps: HandlerDeps) {}

  /** Node `request` listener. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    let logged = false;
    const log = (verb: string, info?: ResourceRequest): void => {
      if (logged) return;
      logged = true;
      this.deps.log.record({
        at: new Date(),
        method,
        path: url.pathname,
        query: url.search,
        verb,
        resource: info
          ? `${info.rt.plural}${info.subresource ? `/${info.subresource}` : ''}`
          : undefined,
        subresource: info?.subresource,
        group: info?.group,
        namespace: info?.namespace,
        name: info?.name,
        status: res.statusCode,
        userAgent: req.headers['user-agent'],
      });
    };
    let info: ResourceRequest | undefined;
    try {
      const body = await readBody(req);
      const routed = route(method, url, this.deps.registry);
      if (routed.kind === 'nonresource') {
        this.serveNonResource(req, res, url);
        log(routed.verb);
        return;
      }
      info = routed;
      await this.serveResource({ req, res, url, body, info: routed }, () =>
        log(routed.verb, routed),
      );
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : internalError(error instanceof Error ? error.message : String(error));
      if (!(error instanceof ApiError)) console.error('k8s-sim: unexpected error', error);
      if (!res.headersSent) sendError(res, apiError);
      else res.destroy();
    }
    log(info?.verb ?? method.toLowerCase(), info);
  }

  private serveNonResource(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (HEALTH_PATHS.has(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    const doc = this.nonResourceDocument(path, req.headers.accept ?? '');
    if (!doc) throw pathNotFound();
    sendObject(res, 200, doc.body, doc.contentType ? { contentType: doc.contentType } : {});
  }

  private nonResourceDocument(
    path: string,
    accept: string,
  ): { body: unknown; contentType?: string } | undefined {
    const { registry } = this.deps;
    const aggregated = accept.includes('as=APIGroupDiscoveryList') && accept.includes('v=v2');
    if (aggregated && (path === '/api' || path === '/apis')) {
      return {
        body: aggregatedDiscovery(registry, path === '/api'),
        contentType: AGGREGATED_DISCOVERY,
      };
    }
    const fixed: Record<string, () => unknown> = {
      '/version': () => SERVER_VERSION,
      '/api': coreVersions,
      '/apis': () => groupList(registry),
      '/openapi/v3': () => openApiV3Index(registry),
    };
    const body = fixed[path]?.() ?? this.discoveryDocument(path);
    return body ? { body } : undefined;
  }

  private discoveryDocument(path: string): Record<string, unknown> | undefined {
    const { registry } = this.deps;
    const target = openApiV3Target(path);
    if (target) return openApiV3Document(registry, target.group, target.version);
    const core = /^\/api\/([^/]+)$/.exec(path);
    if (core) return resourceList(registry, '', core[1] ?? '');
    const group = /^\/apis\/([^/]+)$/.exec(path);
    if (group) return apiGroup(registry, group[1] ?? '');
    const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    return gv ? resourceList(registry, gv[1] ?? '', gv[2] ?? '') : undefined;
  }

  private async serveResource(
    pending: Omit<Call, 'render' | 'warnings'>,
    logStart: () => void,
  ): Promise<void> {
    const { faults } = this.deps;
    const { info } = pending;
    const target = {
      verb: info.verb,
      resource: `${info.rt.plural}${info.subresource ? `/${info.subresource}` : ''}`,
      namespace: info.namespace,
      name: info.name,
    };
    const delay = faults.delayFor(target);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const failure = faults.takeFailure(target);
    if (failure) throw failure;
    const negotiated: Negotiated = negotiate(pending.req.headers.accept);
    this.dispatch(
      { ...pending, render: { negotiated, include: includeOf(pending.url) }, warnings: [] },
      logStart,
    );
  }

  private dispatch(call: Call, logStart: () => void): void {
    if (call.info.subresource === 'scale') {
      const { info } = call;
      const scale = serveScale(this.deps.store, {
        verb: info.verb,
        rt: info.rt,
        namespace: info.namespace,
        name: info.name ?? '',
        body: call.body,
        contentType: call.req.headers['content-type'],
      });
      return this.reply(call, 200, scale);
    }
    switch (call.info.verb) {
      case 'get':
        return this.reply(
          call,
          200,
          renderObject(
            call.info.rt,
            call.info.version,
            this.deps.store.get(call.info.rt, call.info.namespace, call.info.name ?? ''),
            call.render,
          ),
        );
      case 'list':
        return this.list(call);
      case 'watch':
        return this.watch(call, logStart);
      case 'create':
        return this.create(call);
      case 'update':
        return this.update(call);
      case 'patch':
        return this.patch(call);
      case 'delete':
        return this.remove(call);
      case 'deletecollection':
        return this.removeCollection(call);
    }
  }

  private reply(call: Call, status: number, body: unknown): void {
    sendObject(call.res, status, body, {
      yaml: call.render.negotiated.yaml,
      headers: warningHeaders(call.warnings),
    });
  }

  private writeOptions(call: Call): {
    dryRun: boolean;
    fieldValidation: FieldValidation;
    warnings: string[];
    subresource?: string;
  } {
    return {
      dryRun: call.url.searchParams.get('dryRun') === 'All',
      fieldValidation: fieldValidationOf(call.url),
      warnings: call.warnings,
      subresource: call.info.subresource,
    };
  }

  private list(call: Call): void {
    const { info, url } = call;
    const result = this.deps.store.list(info.rt, info.namespace, {
      labelSelector: url.searchParams.get('labelSelector') ?? undefined,
      fieldSelector: url.searchParams.get('fieldSelector') ?? undefined,
      limit: numberParam(url, 'limit'),
      continue: url.searchParams.get('continue') ?? undefined,
    });
    this.reply(call, 200, renderList(info.rt, info.version, result, call.render));
  }

  private watch(call: Call, logStart: () => void): void {
    const { info, url } = call;
    const nameSelector = info.name ? `metadata.name=${info.name}` : undefined;
    const fieldSelector = [url.searchParams.get('fieldSelector'), nameSelector]
      .filter(Boolean)
      .join(',');
    const filter = compileFilter(
      info.rt,
      info.namespace,
      url.searchParams.get('labelSelector') ?? undefined,
      fieldSelector || undefined,
    );
    serveWatch(
      { req: call.req, res: call.res },
      { store: this.deps.store, faults: this.deps.faults, settings: this.deps.watch },
      {
        rt: info.rt,
        version: info.version,
        filter,
        resourceVersion: url.searchParams.get('resourceVersion') ?? undefined,
        allowBookmarks: ['true', '1'].includes(url.searchParams.get('allowWatchBookmarks') ?? ''),
        sendInitialEvents: url.searchParams.get('sendInitialEvents') === 'true',
        timeoutSeconds: numberParam(url, 'timeoutSeconds'),
        render: call.render,
      },
    );
    logStart();
  }

  private create(call: Call): void {
    const { info } = call;
    const body = decodeBody(call.body, call.req.headers['content-type']);
    const created = this.deps.store.create(info.rt, info.namespace, body, this.writeOptions(call));
    this.reply(call, 201, renderObject(info.rt, info.version, created, call.render));
  }

  private update(call: Call): void {
    const { info } = call;
    const body = decodeBody(call.body, call.req.headers['content-type']);
    const updated = this.deps.store.update(
      info.rt,
      info.namespace,
      info.name ?? '',
      body,
      this.writeOptions(call),
    );
    this.reply(call, 200, renderObject(info.rt, info.version, updated, call.render));
  }

  private patch(call: Call): void {
    const { info, url } = call;
    const contentType = call.req.headers['content-type'];
    const type = patchTypeOf(contentType);
    const accepted = [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ];
    if (!type)
      throw unsupportedMediaType(contentType ?? '', [
        ...accepted,
        'application/strategic-merge-patch+json',
      ]);
    if (type === 'strategic' && info.rt.custom)
      throw unsupportedMediaType(contentType ?? '', accepted);
    const patch = decodeBody(call.body, type === 'apply' ? 'application/yaml' : 'application/json');
    const result = this.deps.store.patch(
      info.rt,
      info.namespace,
      info.name ?? '',
      { type, body: patch },
      {
        ...this.writeOptions(call),
        fieldManager: url.searchParams.get('fieldManager') ?? undefined,
        force: url.searchParams.get('force') === 'true',
      },
    );
    this.reply(
      call,
      result.created ? 201 : 200,
      renderObject(info.rt, info.version, result.object, call.render),
    );
  }

  private remove(call: Call): void {
    const { info } = call;
    const options = deleteOptionsOf(decodeBody(call.body, 'application/json'), call.url);
    const { object, deleted } = this.deps.store.delete(
      info.rt,
      info.namespace,
      info.name ?? '',
      options,
    );
    if (!deleted || info.rt.returnDeletedObject) {
      this.reply(
        call,
        200,
        renderObject(info.rt, info.version, object, {
          ...call.render,
          negotiated: { ...call.render.negotiated, as: undefined },
        }),
      );
      return;
    }
    this.reply(call, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: object.metadata.name,
        ...(info.rt.group ? { group: info.rt.group } : {}),
        kind: info.rt.plural,
        uid: object.metadata.uid,
      },
    });
  }

  private removeCollection(call: Call): void {
    const { info, url } = call;
    const options = deleteOptionsOf(decodeBody(call.body, 'application/json'), url);
    const items = this.deps.store.deleteCollection(
      info.rt,
      info.namespace,
      {
        labelSelector: url.searchParams.get('labelSelector') ?? undefined,
        fieldSelector: url.searchParams.get('fieldSelector') ?? undefined,
      },
      options,
    );
    const result = { items, resourceVersion: String(this.deps.store.objects.currentRevision()) };
    this.reply(
      call,
      200,
      renderList(info.rt, info.version, result, {
        ...call.render,
        negotiated: { ...call.render.negotiated, as: undefined },
      }),
    );
  }
}
