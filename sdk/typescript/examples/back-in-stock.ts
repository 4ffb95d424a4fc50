// A back-in-stock alert on the sandbox, end to end.
//
// Three shoppers opt in the way they would on Messenger: each messages the page, then taps
// "Notify Me" on the topic. In the sandbox a simulator plays Meta; its control API (on the
// server's HTTP listener) makes those people act, and posts the signed opt-in webhook that makes
// otn record each grant. Then the alert goes out to them and its deliveries are followed until
// every one is final.
//
//   otn-server --sandbox                                 # gRPC :50051, HTTP (and /_sim/) :8080
//   node dist/examples/back-in-stock.js [127.0.0.1:50051]
//
// Environment: OTN_API_KEY (sent when set; the sandbox accepts calls without one) and
// OTN_SANDBOX_URL (the server's HTTP listener, default http://127.0.0.1:8080). Exits 0 when every
// delivery was sent, 1 otherwise.
import { Client, OtnError, v1 } from "@otn/client";

const PAGE = "sandbox-page";
const TOPIC = "back-in-stock:sku-123";
const SHOPPERS = ["shopper-1", "shopper-2", "shopper-3"];
const E = v1.DeliveryEventType;
const FINAL = new Set([E.DELIVERY_EVENT_TYPE_SENT, E.DELIVERY_EVENT_TYPE_FAILED, E.DELIVERY_EVENT_TYPE_CANCELLED]);

/** POSTs to the sandbox's simulator control API: `{base}/_sim/{action}`. */
async function sandbox(base: string, action: string, body: Record<string, string>): Promise<unknown> {
  const r = await fetch(`${base}/_sim/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`sandbox ${action}: HTTP ${r.status}: ${await r.text()}`);
  return r.json();
}

async function main(target: string): Promise<number> {
  const base = (process.env.OTN_SANDBOX_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  for (const psid of SHOPPERS) {
    // real opt-ins: the simulator issues the token, otn records it from the webhook
    await sandbox(base, "message", { page_id: PAGE, psid, text: "Any news on Sneaker X?" });
    await sandbox(base, "notify_me", { page_id: PAGE, psid, payload: TOPIC });
  }
  console.log("opted in:", SHOPPERS.join(" "));

  const client = new Client(target, { apiKey: process.env.OTN_API_KEY || undefined }); // retries UNAVAILABLE
  try {
    // validated locally first; one requestId (a UUID) across retries: never sent twice
    const { notification: n } = await client.sendNotification({
      pageId: PAGE,
      topicKey: TOPIC,
      audience: { recipients: { psids: SHOPPERS } },
      content: {
        buttonTemplate: {
          text: "Sneaker X is back in stock!",
          buttons: [{ title: "Buy now", webUrl: "https://shop.example/sku-123" }],
        },
      },
    });
    const plan = n!.plan!;
    const planned = plan.grantSends + plan.windowSends + plan.tagSends;
    console.log("notification", n!.notificationId, "to", planned, "people");

    const outcome = new Map<string, v1.DeliveryEventType>();
    if (planned > 0) {
      // from the start of the log; resumes by itself after a restart
      const events = client.streamDeliveryEvents({ notificationId: n!.notificationId }, { timeoutMs: 60_000 });
      for await (const ev of events) {
        console.log(ev.sequence, v1.deliveryEventTypeToJSON(ev.type), ev.psid, ev.failure?.reason ?? "");
        if (FINAL.has(ev.type)) outcome.set(ev.psid, ev.type);
        if (outcome.size === planned) break;
      }
    }
    const done = (await client.getNotification({ notificationId: n!.notificationId })).notification!;
    const c = done.counts!;
    console.log("state", v1.notificationStateToJSON(done.state), "sent", c.sent + c.delivered + c.read, "failed", c.failed);
    return planned > 0 && [...outcome.values()].every((t) => t === E.DELIVERY_EVENT_TYPE_SENT) ? 0 : 1;
  } catch (e) {
    if (!(e instanceof OtnError)) throw e;
    // typed: e.code, e.reason (the generated v1.ErrorReason), e.fields
    console.error(e.codeName, v1.errorReasonToJSON(e.reason), e.fields.join(" "), e.details);
    return 1;
  } finally {
    client.close();
  }
}

main(process.argv[2] ?? "127.0.0.1:50051").then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
