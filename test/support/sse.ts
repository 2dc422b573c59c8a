/** One server-sent event as a client sees it. */
export interface SseMessage {
  id?: string;
  data: string;
}

/** A server-sent event stream read with fetch; `comments` counts `:` lines seen so far. */
export interface SseReader {
  /** Resolves with the next `count` messages (data lines joined), or rejects after `timeoutMs`. */
  take(count: number, timeoutMs: number): Promise<SseMessage[]>;
  comments(): string[];
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url` as an event stream; rejects when the answer is not 200 text/event-stream. */
export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseReader> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal, headers });
  if (response.status !== 200 || !response.body) {
    throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  }
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let buffer = '';
  let wake: () => void = () => undefined;
  const decoder = new TextDecoder();
  const ended = (async () => {
    const reader = response.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value as Uint8Array, { stream: true });
        buffer = drain(buffer, messages, comments);
        wake();
      }
    } catch {
      // aborted by close()
    } finally {
      wake();
    }
  })();
  return {
    async take(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${count} events`);
        await Promise.race([
          new Promise<void>((resolve) => (wake = resolve)),
          new Promise((resolve) => setTimeout(resolve, 200)),
        ]);
      }
      return messages.splice(0, count);
    },
    comments: () => comments,
    ended,
    close: () => controller.abort(),
  };
}

/** Moves the complete blocks of `buffer` to `messages`/`comments`; returns the rest. */
function drain(buffer: string, messages: SseMessage[], comments: string[]): string {
  const blocks = buffer.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    const data: string[] = [];
    let id: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) messages.push({ ...(id ? { id } : {}), data: data.join('\n') });
  }
  return rest;
}
