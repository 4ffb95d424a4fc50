// A back-in-stock alert on a fresh sandbox (`otn-server --sandbox`): three shoppers message the page and tap
// "Notify Me" (its simulated Messenger, OTN_SANDBOX_URL), the alert goes out, its deliveries are followed.
import { Client, v1 } from "@otn/client";
const PAGE = "sandbox-page", TOPIC = "back-in-stock:sku-123", SHOPPERS = ["shopper-1", "shopper-2", "shopper-3"];
const SIM = `${(process.env.OTN_SANDBOX_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "")}/_sim/`;
const FINAL = ["SENT", "FAILED", "CANCELLED"].map((s) => v1.deliveryEventTypeFromJSON(`DELIVERY_EVENT_TYPE_${s}`));
const sim = (action: string, body: object) =>
  fetch(SIM + action, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    .then((r) => { if (!r.ok) throw new Error(`sandbox ${action}: HTTP ${r.status}`); });
for (const psid of SHOPPERS) { // the simulator issues each token and posts the opt-in webhook otn records
  await sim("message", { page_id: PAGE, psid, text: "Any news?" });
  await sim("notify_me", { page_id: PAGE, psid, payload: TOPIC });
}
console.log("opted in:", SHOPPERS.join(" "));
const client = new Client(process.argv[2] ?? "127.0.0.1:50051", { apiKey: process.env.OTN_API_KEY }); // retries 30 s
const buttonTemplate = { text: "Sneaker X is back in stock!", buttons: [{ title: "Buy", webUrl: "https://shop.example/sku-123" }] };
const { notification: n } = await client.sendNotification( // validated first; one requestId for every attempt
  { pageId: PAGE, topicKey: TOPIC, audience: { recipients: { psids: SHOPPERS } }, content: { buttonTemplate } });
let planned = n!.plan!.grantSends + n!.plan!.windowSends + n!.plan!.tagSends;
console.log("notification", n!.notificationId, "to", planned, "people");
if (planned) for await (const ev of client.streamDeliveryEvents({ notificationId: n!.notificationId }, { timeoutMs: 60_000 })) {
  console.log(ev.sequence, v1.deliveryEventTypeToJSON(ev.type), ev.psid); // from the log's start; resumes by itself
  if (FINAL.includes(ev.type) && --planned === 0) break;
}
const done = await client.waitUntilFinal(n!.notificationId, { timeoutMs: 60_000 }); // polls GetNotification
const c = done.counts!;
console.log("state", v1.notificationStateToJSON(done.state), "sent", c.sent + c.delivered + c.read, "failed", c.failed);
client.close();
process.exitCode = done.state === v1.NotificationState.NOTIFICATION_STATE_COMPLETED && c.failed === 0 ? 0 : 1;
