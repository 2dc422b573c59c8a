import { ApiClient } from './api-client.js';
import type { Observed, RequestBackend } from './backend.js';
import type { CliConnection } from './cli-config.js';

/** Requests through the REST API: `POST <path>`, `GET <path>/<namespace>/<name>`. */
export class ApiBackend<Spec, S> implements RequestBackend<Spec, S> {
  private readonly api: ApiClient;

  constructor(
    connection: CliConnection,
    private readonly path: string,
  ) {
    this.api = new ApiClient(connection);
  }

  async create(namespace: string, name: string | undefined, spec: Spec): Promise<Observed<S>> {
    const status = await this.api.post<S>(this.path, { metadata: { namespace, name }, spec });
    return { status, json: status };
  }

  async get(namespace: string, name: string): Promise<Observed<S>> {
    const status = await this.api.get<S>(`${this.path}/${namespace}/${name}`);
    return { status, json: status };
  }
}
