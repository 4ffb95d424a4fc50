"""A back-in-stock alert on a fresh sandbox (`otn-server --sandbox`): three shoppers message the page and tap
"Notify Me" (its simulated Messenger, OTN_SANDBOX_URL), the alert goes out, its deliveries are followed."""
import json, os, sys  # noqa: E401
from urllib.request import Request, urlopen
from otn_client import Client, v1

PAGE, TOPIC, SHOPPERS = "sandbox-page", "back-in-stock:sku-123", ["shopper-1", "shopper-2", "shopper-3"]
TARGET, KEY = (sys.argv[1:] or ["127.0.0.1:50051"])[0], os.environ.get("OTN_API_KEY") or None  # [target]
SIM = os.environ.get("OTN_SANDBOX_URL", "http://127.0.0.1:8080").rstrip("/") + "/_sim/"
FINAL = {v1.DELIVERY_EVENT_TYPE_SENT, v1.DELIVERY_EVENT_TYPE_FAILED, v1.DELIVERY_EVENT_TYPE_CANCELLED}
for psid in SHOPPERS:  # the simulator issues each token and posts the opt-in webhook otn records
    for action, extra in (("message", {"text": "Any news?"}), ("notify_me", {"payload": TOPIC})):
        body = json.dumps({"page_id": PAGE, "psid": psid, **extra}).encode()
        urlopen(Request(SIM + action, body, {"content-type": "application/json"}), timeout=10).close()
print("opted in:", " ".join(SHOPPERS))
with Client(TARGET, api_key=KEY) as client:  # retries within 30 s, waiting out a restart
    n = client.send_notification(page_id=PAGE, topic_key=TOPIC, audience={"recipients": {"psids": SHOPPERS}},
                                 content={"text": "Sneaker X is back in stock!"}).notification
    planned = n.plan.grant_sends + n.plan.window_sends + n.plan.tag_sends
    print("notification", n.notification_id, "to", planned, "people")
    with client.stream_delivery_events(notification_id=n.notification_id, timeout=60) as events:
        while planned:  # each delivery until final; from the start of the log, resumes after a restart
            ev = next(events)
            print(ev.sequence, v1.DeliveryEventType.Name(ev.type), ev.psid)
            planned -= ev.type in FINAL
    done = client.wait_until_final(n.notification_id, timeout=60)  # polls GetNotification
    c = done.counts
print("state", v1.NotificationState.Name(done.state), "sent", c.sent + c.delivered + c.read, "failed", c.failed)
sys.exit(0 if done.state == v1.NOTIFICATION_STATE_COMPLETED and c.failed == 0 else 1)
