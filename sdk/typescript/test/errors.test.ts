// OtnError from the status details a server sends (fake server): the reason as the generated
// ErrorReason enum, looked up by name, metadata, field violations and RetryInfo.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Client, OtnError, errorReasonName, errorReasonOf, v1 } from "@otn/client";
import { FakeServer, fail } from "./fake-server";
import { rejects } from "./rejects";

/** Every ErrorReason of the generated enum but UNSPECIFIED (and ts-proto's UNRECOGNIZED). */
const REASONS = Object.values(v1.ErrorReason).filter(
  (v): v is v1.ErrorReason => typeof v === "number" && v > 0,
);

describe("errors (fake server)", { timeout: 60_000 }, () => {
  let fake: FakeServer;
  let client: Client;

  before(async () => {
    fake = await FakeServer.start();
  });
  beforeEach(() => {
    fake.reset();
    client = new Client(fake.target, { retry: { maxAttempts: 1 } });
  });
  afterEach(() => client.close());
  after(() => fake.stop());

  it("takes CANCELLED after the call's own deadline for DEADLINE_EXCEEDED, whatever its message", () => {
    const e = OtnError.fromServiceError({ code: status.CANCELLED, details: "Timeout expired" }, true);
    assert.equal(e.code, status.DEADLINE_EXCEEDED);
    const before = OtnError.fromServiceError({ code: status.CANCELLED, details: "Timeout expired" });
    assert.equal(before.code, status.CANCELLED);
  });

  it("maps every reason string of errors.proto to its ErrorReason, by name", async () => {
    assert.ok(REASONS.length >= 16, `only ${REASONS.length} reasons generated`);
    for (const reason of REASONS) {
      const name = errorReasonName(reason);
      assert.equal(`ERROR_REASON_${name}`, v1.ErrorReason[reason]);
      fake.script.getNotification = [fail(status.FAILED_PRECONDITION, { reason: name })];
      const err = await rejects(client.getNotification({ notificationId: "n-1" }));
      assert.equal(err.reason, reason, name);
      assert.equal(err.reasonName, name);
      assert.equal(err.domain, "otn.v1");
    }
  });

  it("keeps an unknown reason's name and reports ERROR_REASON_UNSPECIFIED", async () => {
    fake.script.getNotification = [fail(status.FAILED_PRECONDITION, { reason: "SOMETHING_NEWER", metadata: { a: "1" } })];
    const err = await rejects(client.getNotification({ notificationId: "n-1" }));
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_UNSPECIFIED);
    assert.equal(err.reasonName, "SOMETHING_NEWER");
    assert.deepEqual(err.metadata, { a: "1" });
    assert.equal(errorReasonOf("UNRECOGNIZED"), v1.ErrorReason.ERROR_REASON_UNSPECIFIED);
    assert.equal(errorReasonOf(""), v1.ErrorReason.ERROR_REASON_UNSPECIFIED);
  });

  it("decodes ErrorInfo metadata, BadRequest violations and RetryInfo", async () => {
    fake.script.sendNotification = [
      fail(status.INVALID_ARGUMENT, {
        details: "2 bad fields",
        reason: "INVALID_FIELD",
        metadata: { request_id: "r-1" },
        violations: ["content.text", "options.regions[0]"],
      }),
    ];
    const bad = await rejects(client.sendNotification({ pageId: "p", topicKey: "t", content: { text: "x" } }));
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    assert.equal(bad.codeName, "INVALID_ARGUMENT");
    assert.equal(bad.details, "2 bad fields");
    assert.equal(bad.reason, v1.ErrorReason.ERROR_REASON_INVALID_FIELD);
    assert.deepEqual(bad.metadata, { request_id: "r-1" });
    assert.deepEqual(bad.fields, ["content.text", "options.regions[0]"]);
    assert.equal(bad.fieldViolations[0].description, "content.text is bad");
    assert.equal(bad.retryDelayMs, undefined);
    assert.equal(bad.local, false);
    assert.equal(
      bad.message,
      "INVALID_ARGUMENT: 2 bad fields [INVALID_FIELD] (content.text: content.text is bad; options.regions[0]: options.regions[0] is bad)",
    );

    fake.script.listEligible = [fail(status.UNAVAILABLE, { reason: "GRAPH_API_UNAVAILABLE", retryDelayMs: 1500 })];
    const busy = await rejects(client.listEligible({ pageId: "p", topicKey: "t" }));
    assert.equal(busy.reason, v1.ErrorReason.ERROR_REASON_GRAPH_API_UNAVAILABLE);
    assert.equal(busy.retryDelayMs, 1500);
  });

  it("a status without details has no reason", async () => {
    fake.script.listEligible = [{ stallMs: 5_000 }];
    const err = await rejects(client.listEligible({ pageId: "p", topicKey: "t" }, { timeoutMs: 100 }));
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
    assert.equal(err.reason, v1.ErrorReason.ERROR_REASON_UNSPECIFIED);
    assert.equal(err.reasonName, "");
    assert.deepEqual(err.fieldViolations, []);
    assert.deepEqual(err.metadata, {});

    fake.script.getNotification = [fail(status.NOT_FOUND)];
    const missing = await rejects(client.getNotification({ notificationId: "n-1" }));
    assert.equal(missing.code, status.NOT_FOUND);
    assert.equal(missing.reason, v1.ErrorReason.ERROR_REASON_UNSPECIFIED);
    assert.equal(missing.domain, undefined);
  });
});
