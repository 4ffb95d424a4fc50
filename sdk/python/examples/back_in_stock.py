"""A back-in-stock alert on the sandbox, end to end.

Three shoppers opt in the way they would on Messenger: each messages the page, then taps
"Notify Me" on the topic. In the sandbox a simulator plays Meta; its control API (on the server's
HTTP listener) makes those people act, and posts the signed opt-in webhook that makes otn record
each grant. Then the alert goes out to them and its deliveries are followed until every one is
final.

    otn-server --sandbox                                   # gRPC :50051, HTTP (and /_sim/) :8080
    python sdk/python/examples/back_in_stock.py [127.0.0.1:50051]

Environment: OTN_API_KEY (sent when set; the sandbox accepts calls without one) and
OTN_SANDBOX_URL (the server's HTTP listener, default http://127.0.0.1:8080). Exits 0 when every
delivery was sent, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from typing import Any, Dict

from otn_client import Client, OtnError, v1

PAGE = "sandbox-page"
TOPIC = "back-in-stock:sku-123"
SHOPPERS = ["shopper-1", "shopper-2", "shopper-3"]
FINAL = {v1.DELIVERY_EVENT_TYPE_SENT, v1.DELIVERY_EVENT_TYPE_FAILED, v1.DELIVERY_EVENT_TYPE_CANCELLED}


def sandbox(base: str, action: str, body: Dict[str, str]) -> Any:
    """POSTs to the sandbox's simulator control API: ``{base}/_sim/{action}``."""
    req = urllib.request.Request(f"{base}/_sim/{action}", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def main(target: str) -> int:
    base = os.environ.get("OTN_SANDBOX_URL", "http://127.0.0.1:8080").rstrip("/")
    for psid in SHOPPERS:  # real opt-ins: the simulator issues the token, otn records it from the webhook
        sandbox(base, "message", {"page_id": PAGE, "psid": psid, "text": "Any news on Sneaker X?"})
        sandbox(base, "notify_me", {"page_id": PAGE, "psid": psid, "payload": TOPIC})
    print("opted in:", " ".join(SHOPPERS))

    with Client(target, api_key=os.environ.get("OTN_API_KEY") or None) as client:  # retries UNAVAILABLE
        sent = client.send_notification(  # validated locally first; one request_id across retries
            page_id=PAGE, topic_key=TOPIC, audience={"recipients": {"psids": SHOPPERS}},
            content={"text": "Sneaker X is back in stock!"})
        n = sent.notification
        planned = n.plan.grant_sends + n.plan.window_sends + n.plan.tag_sends
        print("notification", n.notification_id, "to", planned, "people")

        outcome: Dict[str, int] = {}
        with client.stream_delivery_events(notification_id=n.notification_id, timeout=60) as events:
            for ev in events if planned else []:  # from the start of the log; resumes after a restart
                print(ev.sequence, v1.DeliveryEventType.Name(ev.type), ev.psid, ev.failure.reason)
                if ev.type in FINAL:
                    outcome[ev.psid] = ev.type
                if len(outcome) == planned:
                    break
        done = client.get_notification(notification_id=n.notification_id).notification
        print("state", v1.NotificationState.Name(done.state), "sent", done.counts.sent + done.counts.delivered
              + done.counts.read, "failed", done.counts.failed)
    return 0 if planned and all(t == v1.DELIVERY_EVENT_TYPE_SENT for t in outcome.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"))
    except OtnError as e:  # typed: e.code, e.reason (v1.ERROR_REASON_...), e.fields
        print(e.code.name, v1.ErrorReason.Name(e.reason), e.fields, e.message, file=sys.stderr)
        sys.exit(1)
