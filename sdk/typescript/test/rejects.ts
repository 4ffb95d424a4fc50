// The one way the tests wait for a call that must fail: it resolves to the OtnError it failed
// with, and fails the test if the call succeeded or failed with anything else.
import assert from "node:assert/strict";
import { OtnError } from "@otn/client";

export async function rejects(p: Promise<unknown>): Promise<OtnError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof OtnError, `not an OtnError: ${e}`);
    return e;
  }
  assert.fail("expected the call to fail");
}
