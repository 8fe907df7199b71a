"""Delivery of alerts: console (log line), webhook (JSON POST) and e-mail (SMTP).

Each channel is tried up to ``1 + retries`` times with exponential backoff; a channel that
still fails is reported as ``failed`` with its error, never raised: a notification never fails
a pipeline run. Secrets (webhook token or URL, SMTP password) are read from environment
variables at send time, only by name in the configuration, and are masked in every error text.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger("lakeshop.alerts")

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ConsoleChannel(BaseModel):
    """A log line per alert (logger ``lakeshop.alerts``, level WARNING or ERROR)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class WebhookChannel(BaseModel):
    """A JSON POST per alert: Slack-compatible ``{"text": ...}`` plus the alert's fields."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, pattern=r"^https?://")
    #: environment variable holding the URL instead (Slack's URLs are secrets)
    url_env: str | None = Field(default=None, pattern=_ENV_NAME)
    #: environment variable holding a token, sent as ``Authorization: Bearer <token>``
    token_env: str | None = Field(default=None, pattern=_ENV_NAME)
    timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and url_env")
        return self


class EmailChannel(BaseModel):
    """An e-mail per alert through an SMTP server."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    user: str | None = None
    #: environment variable holding the SMTP password (with ``user``)
    password_env: str | None = Field(default=None, pattern=_ENV_NAME)
    timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if (self.user is None) != (self.password_env is None):
            raise ValueError("give user and password_env together (or neither)")
        return self


class Channels(BaseModel):
    """The configured channels (``alerts.channels`` in ``lakeshop.yml``)."""

    model_config = ConfigDict(extra="forbid")
    console: ConsoleChannel = ConsoleChannel()
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None


class Delivery(BaseModel):
    """How hard to try a failing channel (``alerts.delivery``)."""

    model_config = ConfigDict(extra="forbid")
    retries: int = Field(default=2, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)


@dataclass(frozen=True)
class Notice:
    """What is said about one alert."""

    alert_id: str
    run_id: str | None
    rule: str
    severity: str
    scope: str
    business_date: str | None
    value: float
    threshold: float
    message: str

    @property
    def title(self) -> str:
        return f"[lakeshop {self.severity}] {self.rule} {self.scope}"

    def fields(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "run_id": self.run_id,
            "rule": self.rule,
            "severity": self.severity,
            "scope": self.scope,
            "business_date": self.business_date,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }


def deliver(notice: Notice, channels: Channels, policy: Delivery) -> dict[str, dict[str, Any]]:
    """Send ``notice`` through every configured channel.

    Returns per channel ``{"status": "sent" | "failed", "attempts": n, "error": text | None}``;
    error texts never contain a secret.
    """
    out: dict[str, dict[str, Any]] = {}
    if channels.console.enabled:
        out["console"] = _attempt(lambda: _console(notice), policy, [])
    if channels.webhook is not None:
        hook = channels.webhook
        secrets = _secrets(hook.url_env, hook.token_env)
        out["webhook"] = _attempt(lambda: _webhook(notice, hook), policy, secrets)
    if channels.email is not None:
        mail = channels.email
        secrets = _secrets(mail.password_env)
        out["email"] = _attempt(lambda: _email(notice, mail), policy, secrets)
    return out


def _attempt(send: Callable[[], None], policy: Delivery, secrets: list[str]) -> dict[str, Any]:
    error = None
    for attempt in range(1, policy.retries + 2):
        try:
            send()
        except Exception as exc:  # any failure of a channel is reported, never raised
            error = _mask(_describe(exc), secrets)
            if attempt <= policy.retries:
                time.sleep(policy.backoff_seconds * 2 ** (attempt - 1))
        else:
            return {"status": "sent", "attempts": attempt, "error": None}
    return {"status": "failed", "attempts": policy.retries + 1, "error": error}


def _describe(exc: Exception) -> str:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach the webhook: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _secrets(*names: str | None) -> list[str]:
    return [os.environ[n] for n in names if n and os.environ.get(n)]


def _mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _env(name: str, setting: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise LookupError(f"environment variable {name} (setting {setting}) is not set")
    return value


def _console(notice: Notice) -> None:
    level = logging.ERROR if notice.severity == "critical" else logging.WARNING
    fields = {"alert_id": notice.alert_id, "rule": notice.rule, "scope": notice.scope}
    log.log(
        level,
        "alert %s %s %s: %s",
        notice.severity,
        notice.rule,
        notice.scope,
        notice.message,
        extra=fields | {"severity": notice.severity, "business_date": notice.business_date},
    )


def _webhook(notice: Notice, hook: WebhookChannel) -> None:
    # imported when a channel sends: the HTTP and e-mail modules weigh on every run's start
    import urllib.request

    url = hook.url or _env(str(hook.url_env), "alerts.channels.webhook.url_env")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("the webhook URL must start with http:// or https://")
    headers = {"Content-Type": "application/json", "User-Agent": "lakeshop"}
    if hook.token_env:
        headers["Authorization"] = "Bearer " + _env(
            hook.token_env, "alerts.channels.webhook.token_env"
        )
    body = {"text": f"{notice.title}: {notice.message}", **notice.fields()}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=hook.timeout_seconds) as response:
        response.read()


def _email(notice: Notice, mail: EmailChannel) -> None:
    import smtplib
    import ssl
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = notice.title
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.to)
    lines = [notice.message, ""] + [f"{k}: {v}" for k, v in notice.fields().items()]
    message.set_content("\n".join(lines))
    with smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout_seconds) as smtp:
        if mail.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if mail.user:
            password = _env(str(mail.password_env), "alerts.channels.email.password_env")
            smtp.login(mail.user, password)
        smtp.send_message(message)
