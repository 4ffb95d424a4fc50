// Back-in-stock alert end to end against `cargo run --release --bin otn-server` (127.0.0.1:50051).
import { Client, OtnError, v1 } from "@otn/client";
const [PAGE, TOPIC, SIM] = ["sandbox-page", "back-in-stock:sku-123", process.env.OTN_SIMULATOR_URL];
const E = v1.DeliveryEventType, FINAL = [E.DELIVERY_EVENT_TYPE_SENT, E.DELIVERY_EVENT_TYPE_FAILED, E.DELIVERY_EVENT_TYPE_CANCELLED];
async function token(psid: string): Promise<string> { // the sandbox simulator accepts only tokens it issued
  if (!SIM) return `otn-${crypto.randomUUID()}`;
  const r = await fetch(`${SIM}/_sim/issue_otn`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ page_id: PAGE, psid }) });
  return ((await r.json()) as { token: string }).token;
}
async function main(client = new Client(process.argv[2] ?? "127.0.0.1:50051", { apiKey: process.env.OTN_API_KEY })) {
  try { // every call is retried on UNAVAILABLE with backoff; sends are validated before they leave
    for (const psid of ["shopper-1", "shopper-2", "shopper-3"])
      await client.recordOptIn({ pageId: PAGE, psid, topicKey: TOPIC, token: await token(psid) });
    const { notification: n } = await client.sendNotification({ pageId: PAGE, topicKey: TOPIC, options: { maxRecipients: 2 },
      content: { buttonTemplate: { text: "Sneaker X is back in stock!", buttons: [{ title: "Buy now", webUrl: "https://shop.example/sku-123" }] } } });
    let left = n!.plan!.grantSends + n!.plan!.windowSends; // one requestId (a UUID) across retries: never sent twice
    console.log("notification", n!.notificationId, "to", left, "people");
    const events = client.streamDeliveryEvents({ notificationId: n!.notificationId }, { timeoutMs: 60_000 }); // resumes after a restart
    for await (const ev of left ? events : []) {
      console.log(ev.sequence, v1.deliveryEventTypeToJSON(ev.type), ev.psid, ev.failure?.reason ?? "");
      if (FINAL.includes(ev.type) && --left === 0) break;
    }
  } catch (e) {
    if (!(e instanceof OtnError)) throw e;
    console.error(e.codeName, v1.errorReasonToJSON(e.reason), e.fields.join(" "), e.details);
    process.exitCode = 1;
  } finally { client.close(); }
}
main().catch((e) => { console.error(e); process.exitCode = 1; });
