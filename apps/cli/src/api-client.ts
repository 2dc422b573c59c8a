import type { CliConnection } from './cli-config.js';
import { CliError, EXIT, UnreachableError } from './exit-codes.js';

/** The API's error body: `{ statusCode, message, field? }`. */
interface ApiErrorBody {
  statusCode?: number;
  message?: string | string[];
  field?: string;
}

/** A thin JSON client for the snapwarden REST API; HTTP problems become {@link CliError}s. */
export class ApiClient {
  constructor(private readonly connection: CliConnection) {}

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    let response: Response;
    try {
      response = await fetch(`${this.connection.server}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause =
        error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new UnreachableError(`cannot reach ${this.connection.server}${cause}`);
    }
    const text = await response.text().catch((error: unknown) => {
      throw new UnreachableError(`lost ${this.connection.server}: ${String(error)}`);
    });
    if (response.ok) return JSON.parse(text) as T;
    throw httpError(response.status, text);
  }
}

function httpError(status: number, text: string): CliError {
  let body: ApiErrorBody;
  try {
    body = JSON.parse(text) as ApiErrorBody;
  } catch {
    body = { message: text };
  }
  const message = Array.isArray(body.message) ? body.message.join('; ') : (body.message ?? text);
  if (status === 502 || status === 503 || status === 504) {
    return new UnreachableError(`${status}: ${message}`);
  }
  // The server refused the input or the credentials: the caller must change something.
  const usage =
    status === 400 || status === 401 || status === 403 || status === 404 || status === 409;
  return new CliError(`${status}: ${message}`, usage ? EXIT.usage : EXIT.failed);
}
