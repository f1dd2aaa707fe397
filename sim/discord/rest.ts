import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedRequest } from './types.ts';

/** A REST answer: status and JSON body (undefined → 204 No Content). */
export interface RestReply {
  status: number;
  body?: unknown;
  /** Headers that replace the defaults (a route's rate limit bucket). */
  headers?: Record<string, string>;
}

/** A route handler: gets the path parameters, the parsed body and the request record. */
export type RouteHandler = (params: string[], body: any, request: RecordedRequest) => RestReply;

interface Route {
  method: string;
  pattern: RegExp;
  auth: boolean;
  handler: RouteHandler;
}

/** Discord's JSON error shape (`{ message, code }`), which @discordjs/rest turns into DiscordAPIError. */
export function apiError(status: number, code: number, message: string, errors?: unknown): RestReply {
  return { status, body: errors ? { message, code, errors } : { message, code } };
}

/**
 * A tiny router for `/api/v{N}/…`: exact regexes per route, `Authorization: Bot <token>` checked on
 * routes that need it (interaction callbacks and webhook routes are authorised by their token in the
 * path, as on Discord). Every request is recorded; unknown routes answer 404 `{message, code: 0}`.
 */
export class RestRouter {
  readonly #routes: Route[] = [];
  readonly #token: string;
  readonly #onRequest: (request: RecordedRequest) => void;

  constructor(token: string, onRequest: (request: RecordedRequest) => void) {
    this.#token = token;
    this.#onRequest = onRequest;
  }

  /** Registers a route; `path` uses `:param` segments (`@original` and `@me` match literally). */
  on(method: string, path: string, handler: RouteHandler, auth = true): this {
    const pattern = new RegExp(`^${path.replace(/:[a-z]+/g, '([^/]+)')}$`);
    this.#routes.push({ method, pattern, auth, handler });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/^\/api(\/v\d+)?/, '') || '/';
    const raw = await readBody(req);
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(url.searchParams),
      body: parseBody(raw, String(req.headers['content-type'] ?? '')),
      at: performance.now(),
      status: 0,
    };
    let reply: RestReply;
    const match = this.#routes
      .map((route) => ({ route, params: route.method === request.method ? route.pattern.exec(path) : null }))
      .find((m) => m.params !== null);
    if (!match) {
      reply = apiError(404, 0, '404: Not Found');
    } else if (match.route.auth && req.headers.authorization !== `Bot ${this.#token}`) {
      reply = apiError(401, 0, '401: Unauthorized');
    } else {
      try {
        reply = match.route.handler(match.params!.slice(1).map(decodeURIComponent), request.body, request);
      } catch (error) {
        reply = apiError(500, 0, `simulator error: ${(error as Error).message}`);
      }
    }
    request.status = reply.status;
    this.#onRequest(request);
    const headers: Record<string, string> = {
      'x-ratelimit-limit': '50',
      'x-ratelimit-remaining': '49',
      'x-ratelimit-reset-after': '1',
      'x-ratelimit-bucket': 'sim',
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status === 200 ? 204 : reply.status, headers).end();
    } else {
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** JSON bodies, or multipart (files) where discord.js puts the JSON in the `payload_json` part. */
function parseBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return null;
  const text = raw.toString('utf8');
  if (contentType.startsWith('multipart/form-data')) {
    const match = /name="payload_json"[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/.exec(text);
    return match ? JSON.parse(match[1]!) : null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
