"""Back-in-stock alert end to end against `cargo run --release --bin otn-server` (127.0.0.1:50051)."""
import json, os, sys, urllib.request, uuid
from otn_client import Client, v1
PAGE, TOPIC, SIM = "sandbox-page", "back-in-stock:sku-123", os.environ.get("OTN_SIMULATOR_URL")
FINAL = {v1.DELIVERY_EVENT_TYPE_SENT, v1.DELIVERY_EVENT_TYPE_FAILED, v1.DELIVERY_EVENT_TYPE_CANCELLED}
def token(psid: str) -> str:  # the sandbox simulator accepts only tokens it issued (URL: the server's log)
    if not SIM:
        return f"otn-{uuid.uuid4()}"
    req = urllib.request.Request(f"{SIM}/_sim/issue_otn", json.dumps({"page_id": PAGE, "psid": psid}).encode(),
                                 {"content-type": "application/json"})
    return str(json.load(urllib.request.urlopen(req))["token"])
target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
with Client(target, api_key=os.environ.get("OTN_API_KEY")) as client:  # retries UNAVAILABLE by itself
    for psid in ["shopper-1", "shopper-2", "shopper-3"]:
        client.record_opt_in(page_id=PAGE, psid=psid, topic_key=TOPIC, token=token(psid))
    n = client.send_notification(page_id=PAGE, topic_key=TOPIC, content={"text": "Sneaker X is back in stock!"},
                                 options={"max_recipients": 2}).notification  # validated first, one request_id
    left = n.plan.grant_sends + n.plan.window_sends
    print("notification", n.notification_id, "to", left, "people")
    with client.stream_delivery_events(notification_id=n.notification_id, timeout=60) as events:  # resumes
        for ev in events if left else []:
            print(ev.sequence, v1.DeliveryEventType.Name(ev.type), ev.psid, ev.failure.reason)
            left -= ev.type in FINAL
            if left == 0:
                break
