const TOKEN_KEY = 'snapwarden.apiToken';

/** The API token kept for this browser tab (sessionStorage), or ''. */
export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** Keeps (or with '' forgets) the API token for this tab. */
export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An API answer other than 2xx, with the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => ({}))) as { message?: unknown };
  if (!response.ok) {
    const raw = body.message;
    const message = Array.isArray(raw)
      ? raw.map((m) => String(m)).join('; ')
      : typeof raw === 'string'
        ? raw
        : response.statusText;
    throw new ApiError(response.status, `${response.status}: ${message}`);
  }
  return body as T;
}

/** GET `path` with `query` (empty values left out) as JSON. */
export async function getJson<T>(
  path: string,
  query: Record<string, string | undefined> = {},
): Promise<T> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const qs = params.toString();
  return answer<T>(
    await fetch(qs ? `${path}?${qs}` : path, { headers: { Accept: 'application/json' } }),
  );
}

/** POST `body` as JSON with the kept bearer token. */
export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${getToken()}` },
    body: JSON.stringify(body),
  });
  return answer<T>(response);
}
