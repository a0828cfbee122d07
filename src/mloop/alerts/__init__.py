"""Alerts: a record, a log line and an optional webhook POST (Slack-compatible), each delivery
attempt recorded. `deliver` is the webhook sender the registry's events use too."""

from mloop.alerts.core import SEVERITIES, Alert, list_alerts, raise_alert, slack_payload
from mloop.alerts.webhook import DeliveryResult, deliver, list_deliveries

__all__ = [
    "SEVERITIES",
    "Alert",
    "DeliveryResult",
    "deliver",
    "list_alerts",
    "list_deliveries",
    "raise_alert",
    "slack_payload",
]
