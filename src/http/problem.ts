/**
 * RFC 9457 problem details. Every error the HTTP side answers is `application/problem+json`,
 * and none of them repeats the request body, a token or a password back: validation errors
 * name the field path and what was expected, never the value that was received.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as v from "valibot";

export const PROBLEM_TYPE = "application/problem+json";

export interface FieldError {
  /** dot path of the offending field ("filter.scoreMin"), or "" for the whole input */
  path: string;
  /** in: json, query, path, header, body */
  in: string;
  message: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  [k: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Thrown anywhere under a route; the app's error handler turns it into a problem response. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail?: string,
    readonly extra: Partial<Problem> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? TITLES[status] ?? String(status));
  }
}

export function problemBody(status: number, detail?: string, extra: Partial<Problem> = {}): Problem {
  return { type: "about:blank", title: TITLES[status] ?? "Error", status, ...(detail ? { detail } : {}), ...extra };
}

export function problem(c: Context, status: number, detail?: string, extra: Partial<Problem> = {}, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(problemBody(status, detail, extra)), status as ContentfulStatusCode, { "Content-Type": PROBLEM_TYPE, ...headers });
}

/**
 * A valibot issue as a field error without the received value. valibot's default messages
 * say `... but received "<value>"`, which would echo a password or token, so the message is
 * rebuilt from the issue's kind and expectation only.
 */
export function fieldError(issue: v.BaseIssue<unknown>, where: string): FieldError {
  const path = v.getDotPath(issue) ?? "";
  let message: string;
  // a strict object reports both an unknown key (expected "never") and a missing one (received "undefined")
  if (issue.kind === "schema" && issue.expected === "never") message = "unknown field";
  else if (issue.type === "strict_object" && issue.received === "undefined") message = "required";
  else if (issue.type === "strict_object") message = "unknown field";
  else if (issue.kind === "schema") message = issue.received === "undefined" ? `required (${issue.expected ?? issue.type})` : `expected ${issue.expected ?? issue.type}`;
  else if (issue.type === "check" || issue.type === "custom" || issue.type === "regex") message = cleanMessage(issue.message) || `invalid ${issue.type}`;
  else message = `invalid ${issue.type}${issue.expected ? `: expected ${issue.expected}` : ""}`;
  return { path, in: where, message };
}

/** Custom messages are written by us and never contain the value; the default ones are cut at "but received". */
function cleanMessage(m: string): string {
  return m.replace(/,?\s*but received[\s\S]*$/i, "").trim();
}

export function validationProblem(issues: readonly v.BaseIssue<unknown>[], where: string): HttpProblem {
  const errors = issues.map((i) => fieldError(i, where));
  const first = errors[0];
  const detail = first ? `${where}${first.path ? ` field "${first.path}"` : ""}: ${first.message}` : `invalid ${where}`;
  return new HttpProblem(400, detail, { errors });
}
