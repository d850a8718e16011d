/**
 * Routes of the admin API are declared once, with valibot schemas for path, query and body.
 * The same declaration validates the request (400 problem naming the field path) and feeds
 * the OpenAPI 3.1 document, so the document cannot drift from what is enforced.
 */
import type { Context, Hono } from "hono";
import * as v from "valibot";
import { HttpProblem, validationProblem } from "./problem.ts";
import type { TokenPrincipal } from "./tokens.ts";

export type AnySchema = v.GenericSchema<unknown, unknown> | v.GenericSchemaAsync<unknown, unknown>;
type Out<S> = S extends AnySchema ? v.InferOutput<S> : undefined;

export type ApiEnv = { Variables: { principal: TokenPrincipal } };
export type ApiContext = Context<ApiEnv>;

export interface ResponseSpec {
  description: string;
  schema?: AnySchema;
  /** default application/json when a schema is given */
  contentType?: string;
}

export interface RouteSpec<P, Q, B> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono path under the API base, e.g. /messages/:id */
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  params?: P;
  query?: Q;
  /** JSON request body */
  body?: B;
  /** a non-JSON request body (documented only; the handler reads it) */
  rawBody?: { contentType: string[]; description: string };
  responses: Record<number, ResponseSpec>;
  /** default true: a bearer token is required */
  auth?: boolean;
  /** largest JSON body accepted (default 1 MiB) */
  maxBodyBytes?: number;
}

export interface Operation extends RouteSpec<AnySchema | undefined, AnySchema | undefined, AnySchema | undefined> {
  fullPath: string;
}

export interface Input<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

/** A query string as an object: a key given once is a string, given several times an array. */
export function queryObject(c: Context): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, vals] of Object.entries(c.req.queries())) out[k] = vals.length === 1 ? vals[0] : vals;
  return out;
}

async function check<S extends AnySchema>(schema: S, value: unknown, where: string): Promise<v.InferOutput<S>> {
  const r = await v.safeParseAsync(schema, value);
  if (!r.success) throw validationProblem(r.issues, where);
  return r.output as v.InferOutput<S>;
}

/** JSON bodies nest at most this deep (validation and storing recurse). */
export const MAX_JSON_DEPTH = 64;

/**
 * A parsed JSON body's first problem the schemas cannot catch safely: nesting past
 * MAX_JSON_DEPTH (valibot and JSON.stringify recurse, so a 60,000-deep body overflowed the
 * stack) or a number that overflowed to ±Infinity (1e999). Walked iteratively.
 */
export function jsonShapeProblem(root: unknown): { path: string; message: string } | null {
  const stack: { value: unknown; path: string[]; depth: number }[] = [{ value: root, path: [], depth: 0 }];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) return { path: path.join("."), message: "expected a finite number" };
    } else if (value !== null && typeof value === "object") {
      if (depth >= MAX_JSON_DEPTH) return { path: path.join("."), message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
      const entries = Array.isArray(value) ? value.map((x, i) => [String(i), x] as const) : Object.entries(value);
      for (const [k, x] of entries) stack.push({ value: x, path: [...path, k], depth: depth + 1 });
    }
  }
  return null;
}

/** Reads a request body up to `max` bytes (413 past it, without reading the rest). */
export async function readBody(c: Context, max: number): Promise<Uint8Array> {
  const len = c.req.header("content-length");
  if (len && /^\d+$/.test(len) && Number(len) > max) throw new HttpProblem(413, `request body larger than ${max} bytes`, { maxBytes: max });
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new HttpProblem(413, `request body larger than ${max} bytes`, { maxBytes: max });
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

export class ApiRouter {
  readonly operations: Operation[] = [];
  constructor(
    readonly app: Hono<ApiEnv>,
    readonly base: string,
    /** sets c.var.principal or throws a 401 problem */
    readonly authenticate: (c: ApiContext) => Promise<void>,
  ) {}

  route<P extends AnySchema | undefined = undefined, Q extends AnySchema | undefined = undefined, B extends AnySchema | undefined = undefined>(
    spec: RouteSpec<P, Q, B>,
    handler: (c: ApiContext, input: Input<P, Q, B>) => Promise<Response> | Response,
  ): void {
    const fullPath = this.base + spec.path;
    this.operations.push({ ...(spec as unknown as Operation), fullPath });
    this.app.on(spec.method.toUpperCase(), fullPath, async (c) => {
      if (spec.auth !== false) await this.authenticate(c);
      const params = spec.params ? await check(spec.params, c.req.param(), "path") : undefined;
      const query = spec.query ? await check(spec.query, queryObject(c), "query") : undefined;
      let body: unknown;
      if (spec.body) {
        const ct = c.req.header("content-type") ?? "";
        if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(ct)) throw new HttpProblem(415, "expected Content-Type: application/json");
        const bytes = await readBody(c, spec.maxBodyBytes ?? 1024 * 1024);
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder().decode(bytes));
        } catch (e) {
          // A runtime may give up on very deep nesting while parsing (a RangeError).
          const message = e instanceof RangeError ? `nested deeper than ${MAX_JSON_DEPTH} levels` : "not valid JSON";
          throw new HttpProblem(400, `request body is ${message}`, { errors: [{ path: "", in: "body", message }] });
        }
        const shape = jsonShapeProblem(parsed);
        if (shape) throw new HttpProblem(400, `body${shape.path ? ` field "${shape.path}"` : ""}: ${shape.message}`, { errors: [{ path: shape.path, in: "body", message: shape.message }] });
        body = await check(spec.body, parsed, "body");
      }
      return handler(c, { params, query, body } as Input<P, Q, B>);
    });
  }
}
