"""Python client of otn.v1.NotificationService (opt-in one-time notifications on Messenger).

    from otn_client import Client, OtnError, v1

``v1`` holds every message and enum of the contract (generated from proto/otn/v1).
"""

from ._gen.otn import v1
from .client import DEFAULT_TARGET, SANDBOX_PAGE_ID, Client, DeliveryEventStream
from .errors import ERROR_DOMAIN, FieldViolation, OtnError

__version__ = "0.1.0"

__all__ = [
    "Client",
    "DeliveryEventStream",
    "OtnError",
    "FieldViolation",
    "ERROR_DOMAIN",
    "DEFAULT_TARGET",
    "SANDBOX_PAGE_ID",
    "v1",
]
