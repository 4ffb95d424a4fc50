"""A consumer of the installed package, type-checked by check.sh with `mypy --strict` (the package's
own dependencies only): message fields, enums, errors and the clients' options are typed."""

import logging

from otn_client import AsyncClient, Client, OtnError, RetryEvent, RetryPolicy, v1


def on_retry(e: RetryEvent) -> None:
    logging.getLogger("shop").info("%s attempt %d: %s, next in %.1f s", e.method, e.attempt, e.code.name, e.delay)


def sent(client: Client, notification_id: str) -> int:
    n: v1.Notification = client.wait_until_final(notification_id, timeout=30)
    states: list[str] = [v1.NotificationState.Name(n.state)]
    return n.counts.sent + n.counts.delivered + len(states)


def psids(r: v1.ListEligibleResponse) -> list[str]:
    return [e.recipient.psid for e in r.recipients if e.recipient.region == "DE"]


async def send(target: str) -> str:
    async with AsyncClient(target, retry=RetryPolicy(deadline=60.0), on_retry=on_retry) as c:
        try:
            r = await c.send_notification(page_id="p", topic_key="t", content={"text": "Back!"})
        except OtnError as e:
            return f"{e.code.name} {e.request_id} {e.attempts}"
        return r.notification.notification_id
