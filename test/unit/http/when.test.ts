/** The API's date parameters: ISO dates or epoch milliseconds, and only days that exist. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWhen } from "../../../src/http/schemas.ts";

test("parseWhen takes ISO dates, date-times and epoch ms; refuses days a month does not have", () => {
  assert.equal(parseWhen("2026-03-03"), Date.UTC(2026, 2, 3));
  assert.equal(parseWhen("2026-03-03T10:00:00Z"), Date.UTC(2026, 2, 3, 10));
  assert.equal(parseWhen("1767225600000"), 1767225600000);
  assert.equal(parseWhen("2028-02-29"), Date.UTC(2028, 1, 29), "a leap day");
  for (const bad of ["2026-02-31", "2026-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "yesterday", "2026-1-1"]) {
    assert.equal(parseWhen(bad), null, bad);
  }
});
