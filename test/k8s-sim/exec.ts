import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest } from './errors.js';
import type { RequestLog } from './request-log.js';
import type { SimStore } from './sim-store.js';
import { getPath, getString, isRecord } from './types.js';

/** One `pods/exec` session as the simulator received it. */
export interface ExecCall {
  at: Date;
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

/** What a simulated command does. Defaults: exit 0 at once, no output. */
export interface ExecResult {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /** Time before the exit status is sent (output is sent at once). */
  delayMs?: number;
  /** Never send a status: the session stays open until the client closes it. */
  hang?: boolean;
}

/** Decides a call's result; `undefined` defers to earlier responders (and the default). */
export type ExecResponder = (call: ExecCall) => ExecResult | undefined;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/;

/**
 * `pods/exec` over WebSocket, the way client-node's `Exec` speaks it: an HTTP upgrade on
 * `GET …/pods/<pod>/exec?command=…&container=…&stdout=true&stderr=true`, subprotocol
 * `v5.channel.k8s.io` (or v4), binary frames whose first byte is the channel (1 stdout,
 * 2 stderr, 3 status as a `metav1.Status`). Refusals happen before the upgrade, as HTTP errors
 * with a Status body: pod not found (404), container not given for a multi-container pod,
 * unknown container, pod not Running (400). Results come from responders set per test.
 */
export class ExecSimulator {
  /** Every session accepted, in order. */
  readonly calls: ExecCall[] = [];
  private responders: ExecResponder[] = [];
  private readonly sockets = new Set<Duplex>();

  constructor(
    private readonly store: SimStore,
    private readonly log: RequestLog,
  ) {}

  /** Adds a responder (the latest one that answers wins); returns its removal. */
  respond(responder: ExecResponder): () => void {
    this.responders.push(responder);
    return () => {
      this.responders = this.responders.filter((r) => r !== responder);
    };
  }

  /** Drops responders and the call history. */
  reset(): void {
    this.responders = [];
    this.calls.length = 0;
  }

  /** Sessions currently open (hung ones included). */
  get openSessions(): number {
    return this.sockets.size;
  }

  /** Closes every open session (the server is stopping). */
  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Node `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const match = EXEC_PATH.exec(url.pathname);
    const record = (status: number, namespace?: string, name?: string) =>
      this.log.record({
        at: new Date(),
        method: 'GET',
        path: url.pathname,
        query: url.search,
        verb: 'create',
        resource: 'pods/exec',
        namespace,
        name,
        status,
        userAgent: req.headers['user-agent'],
      });
    if (!match) {
      refuse(
        socket,
        new ApiError(404, 'NotFound', 'the server could not find the requested resource'),
      );
      record(404);
      return;
    }
    const namespace = decodeURIComponent(match[1] ?? '');
    const pod = decodeURIComponent(match[2] ?? '');
    try {
      const call = this.accept(req, url, namespace, pod);
      record(101, namespace, pod);
      this.start(req, socket, call);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : badRequest(String(error));
      refuse(socket, apiError);
      record(apiError.code, namespace, pod);
    }
  }

  private accept(req: IncomingMessage, url: URL, namespace: string, pod: string): ExecCall {
    const object = this.store.objects.get('pods', namespace, pod);
    if (!object)
      throw new ApiError(404, 'NotFound', `pods "${pod}" not found`, { name: pod, kind: 'pods' });
    const containers = (getPath(object, ['spec', 'containers']) as unknown[] | undefined) ?? [];
    const names = containers.map((c) => (isRecord(c) ? String(c.name) : ''));
    let container = url.searchParams.get('container') ?? '';
    if (container === '') {
      if (names.length !== 1)
        throw badRequest(
          `a container name must be specified for pod ${pod}, choose one of: [${names.join(' ')}]`,
        );
      container = names[0] ?? '';
    }
    if (!names.includes(container))
      throw badRequest(`container ${container} is not valid for pod ${pod}`);
    if (getString(object, ['status', 'phase']) !== 'Running')
      throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
    const command = url.searchParams.getAll('command');
    if (command.length === 0) throw badRequest('you must specify at least 1 command');
    if (!req.headers['sec-websocket-key']) throw badRequest('not a WebSocket upgrade request');
    return { at: new Date(), namespace, pod, container, command };
  }

  private start(req: IncomingMessage, socket: Duplex, call: ExecCall): void {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const protocol = PROTOCOLS.find((p) => offered.includes(p)) ?? PROTOCOLS[1];
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}${GUID}`)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
    );
    this.sockets.add(socket);
    this.calls.push(call);
    const result = this.resultFor(call);
    const timers: NodeJS.Timeout[] = [];
    const cleanup = () => {
      timers.forEach((t) => clearTimeout(t));
      this.sockets.delete(socket);
    };
    socket.on('close', cleanup);
    socket.on('error', cleanup);
    onClientFrames(socket, (opcode, payload) => {
      if (opcode === 8) {
        socket.end(frame(8, payload.subarray(0, 2)));
        cleanup();
      } else if (opcode === 9) socket.write(frame(10, payload));
    });
    if (result.stdout) socket.write(frame(2, channel(1, result.stdout)));
    if (result.stderr) socket.write(frame(2, channel(2, result.stderr)));
    if (result.hang) return;
    const finish = () => {
      socket.write(frame(2, channel(3, JSON.stringify(statusOf(call, result.exitCode ?? 0)))));
      socket.write(frame(8, Buffer.from([0x03, 0xe8])));
    };
    timers.push(setTimeout(finish, result.delayMs ?? 0));
  }

  private resultFor(call: ExecCall): ExecResult {
    for (let i = this.responders.length - 1; i >= 0; i -= 1) {
      const result = this.responders[i]?.(call);
      if (result) return result;
    }
    return {};
  }
}

function statusOf(call: ExecCall, exitCode: number): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${call.command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

function refuse(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.toStatus());
  socket.end(
    `HTTP/1.1 ${error.code} ${error.reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function channel(number: number, text: string): Buffer {
  return Buffer.concat([Buffer.from([number]), Buffer.from(text)]);
}

/** One unmasked server frame (FIN set). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) header = Buffer.from([0x80 | opcode, length]);
  else if (length < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(126, 1);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Parses the client's (masked) frames and hands each one's opcode and payload over. */
function onClientFrames(socket: Duplex, handle: (opcode: number, payload: Buffer) => void): void {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let next = readFrame(buffer); next; next = readFrame(buffer)) {
      buffer = buffer.subarray(next.consumed);
      handle(next.opcode, next.payload);
    }
  });
}

/** The first complete frame of `buffer`, unmasked, or undefined while it is incomplete. */
function readFrame(
  buffer: Buffer,
): { opcode: number; payload: Buffer; consumed: number } | undefined {
  const header = readHeader(buffer);
  if (!header) return undefined;
  const { length, masked } = header;
  const offset = header.offset + (masked ? 4 : 0);
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  for (let i = 0; masked && i < payload.length; i += 1) {
    payload[i] = (payload[i] ?? 0) ^ (buffer[header.offset + (i % 4)] ?? 0);
  }
  return { opcode: (buffer[0] ?? 0) & 0x0f, payload, consumed: offset + length };
}

/** Payload length, mask flag and where the mask (or payload) starts. */
function readHeader(
  buffer: Buffer,
): { length: number; masked: boolean; offset: number } | undefined {
  if (buffer.length < 2) return undefined;
  const masked = ((buffer[1] ?? 0) & 0x80) !== 0;
  const short = (buffer[1] ?? 0) & 0x7f;
  if (short < 126) return { length: short, masked, offset: 2 };
  if (short === 126) {
    return buffer.length < 4 ? undefined : { length: buffer.readUInt16BE(2), masked, offset: 4 };
  }
  if (buffer.length < 10) return undefined;
  return { length: Number(buffer.readBigUInt64BE(2)), masked, offset: 10 };
}
