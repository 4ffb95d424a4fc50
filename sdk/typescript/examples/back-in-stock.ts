// Back-in-stock alert end to end against `cargo run --release --bin otn-server` (127.0.0.1:50051).
import { randomUUID } from "node:crypto";
import { Client, OtnError, v1 } from "../src"; // in an application: from "@otn/client"
const [PAGE, TOPIC, SIM] = ["sandbox-page", "back-in-stock:sku-123", process.env.OTN_SIMULATOR_URL];
const E = v1.DeliveryEventType, FINAL = [E.DELIVERY_EVENT_TYPE_SENT, E.DELIVERY_EVENT_TYPE_FAILED, E.DELIVERY_EVENT_TYPE_CANCELLED];
async function token(psid: string): Promise<string> { // the sandbox simulator accepts only tokens it issued
  if (!SIM) return `otn-${randomUUID()}`;
  const r = await fetch(`${SIM}/_sim/issue_otn`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ page_id: PAGE, psid }) });
  return ((await r.json()) as { token: string }).token;
}
async function main(client = new Client(process.argv[2] ?? "127.0.0.1:50051")) {
  for (const psid of ["shopper-1", "shopper-2", "shopper-3"])
    await client.recordOptIn({ pageId: PAGE, psid, topicKey: TOPIC, token: await token(psid) });
  try {
    const { notification: n } = await client.sendNotification({ pageId: PAGE, topicKey: TOPIC,
      content: { text: "Sneaker X is back in stock!" }, options: { maxRecipients: 2 } });
    let left = n!.plan!.grantSends + n!.plan!.windowSends;
    console.log("notification", n!.notificationId, "to", left, "people");
    for await (const ev of left ? client.streamDeliveryEvents({ notificationId: n!.notificationId }, { timeoutMs: 60_000 }) : []) {
      console.log(ev.sequence, v1.deliveryEventTypeToJSON(ev.type), ev.psid, ev.failure?.reason ?? "");
      if (FINAL.includes(ev.type) && --left === 0) break;
    }
  } catch (e) {
    if (!(e instanceof OtnError && e.unimplemented)) throw e;
    console.log("this server does not send yet (UNIMPLEMENTED):", e.details);
  } finally { client.close(); }
}
main().catch((e) => { console.error(e); process.exitCode = 1; });
