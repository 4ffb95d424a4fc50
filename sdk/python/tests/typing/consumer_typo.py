"""Must FAIL `mypy --strict` (check.sh expects exactly these errors): a misspelt field and a field
used as the wrong type. Were message fields `Any` (no types-protobuf), both would pass."""

from otn_client import Client, v1


def sent(client: Client, notification_id: str) -> int:
    n: v1.Notification = client.get_notification(notification_id=notification_id).notification
    return n.counts.sentt


def region(r: v1.EligibleRecipient) -> int:
    return r.recipient.region
