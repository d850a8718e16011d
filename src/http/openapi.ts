/**
 * The OpenAPI 3.1 document, built from the route declarations and their valibot schemas
 * (@valibot/to-json-schema, JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect).
 * Query and path schemas are converted in "input" mode: the documented type is what goes
 * over the wire (a string), before valibot's transforms.
 */
import { toJsonSchema, type JsonSchema } from "@valibot/to-json-schema";
import type { AnySchema, Operation } from "./router.ts";
import { problemSchema } from "./schemas.ts";

type Json = Record<string, unknown>;

function js(schema: AnySchema): Json {
  const out = toJsonSchema(schema as never, { target: "draft-2020-12", typeMode: "input", errorMode: "ignore" }) as Json;
  delete out.$schema;
  return out;
}

function parameters(schema: AnySchema | undefined, where: "path" | "query"): Json[] {
  if (!schema) return [];
  const s = js(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const p = { ...(prop as Json) };
    const description = p.description as string | undefined;
    delete p.description;
    return {
      name,
      in: where,
      required: where === "path" ? true : required.has(name),
      ...(description ? { description } : {}),
      schema: p,
      ...(where === "query" && (p.anyOf || p.type === "array") ? { style: "form", explode: true } : {}),
    };
  });
}

export function buildOpenApi(ops: Operation[], info: { version: string; serverUrl?: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const problemRef = { $ref: "#/components/schemas/Problem" };
  const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: problemRef } } });
  for (const op of ops) {
    const path = op.fullPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      const ct = r.contentType ?? (r.schema ? "application/json" : undefined);
      responses[status] = { description: r.description, ...(ct ? { content: { [ct]: r.schema ? { schema: js(r.schema) } : {} } } : {}) };
    }
    if (op.params || op.query || op.body) responses["400"] ??= problemResponse("invalid request: the problem's errors name each field path");
    if (op.auth !== false) {
      responses["401"] ??= problemResponse("missing or unknown bearer token");
      responses["403"] ??= problemResponse("the token's scope does not cover this");
    }
    responses.default ??= problemResponse("error (RFC 9457 problem details)");
    const operation: Json = {
      operationId: op.operationId,
      summary: op.summary,
      tags: op.tags,
      parameters: [...parameters(op.params, "path"), ...parameters(op.query, "query")],
      responses,
      ...(op.auth === false ? { security: [] } : {}),
    };
    if (op.body) operation.requestBody = { required: true, content: { "application/json": { schema: js(op.body) } } };
    else if (op.rawBody) {
      operation.requestBody = {
        required: true,
        description: op.rawBody.description,
        content: Object.fromEntries(op.rawBody.contentType.map((t) => [t, { schema: { type: "string", contentMediaType: t } }])),
      };
    }
    (paths[path] ??= {})[op.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "quarantined admin API",
      version: info.version,
      description: "Administration of the spam quarantine. Every error is application/problem+json (RFC 9457).",
      license: { name: "proprietary", identifier: "LicenseRef-proprietary" },
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    security: [{ bearer: [] }],
    tags: [...new Set(ops.flatMap((o) => o.tags))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "a token made with `quarantined token add NAME --scope admin|DOMAIN`" } },
      schemas: { Problem: js(problemSchema) },
    },
  };
}
