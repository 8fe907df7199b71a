"""Alert delivery to real receivers on localhost: webhook (HTTP) and e-mail (aiosmtpd)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from lakeshop.app.notify import (
    Channels,
    ConsoleChannel,
    Delivery,
    EmailChannel,
    Notice,
    WebhookChannel,
    deliver,
)
from tests.receivers import Smtp, Webhook, free_port

TOKEN = "tok-S3cret-webhook"
NOTICE = Notice(
    alert_id="abc123",
    run_id="20260101T000000-000001",
    rule="revenue_drop",
    severity="warning",
    scope="channel=online",
    business_date="2026-01-09",
    value=1200.5,
    threshold=3000.0,
    message="revenue channel=online on 2026-01-09: 1,200.50 is 70% below the average",
)
FAST = Delivery(retries=2, backoff_seconds=0.01)


def _hook(url: str, **kw: Any) -> Channels:
    return Channels(console=ConsoleChannel(enabled=False), webhook=WebhookChannel(url=url, **kw))


def test_webhook_gets_a_slack_compatible_json_post_with_the_bearer_token(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAKESHOP_WEBHOOK_TOKEN", TOKEN)
    result = deliver(NOTICE, _hook(webhook.url, token_env="LAKESHOP_WEBHOOK_TOKEN"), FAST)
    assert result == {"webhook": {"status": "sent", "attempts": 1, "error": None}}
    [req] = webhook.requests
    assert req["path"] == "/hooks/alerts"
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert req["headers"]["Content-Type"] == "application/json"
    body = req["json"]
    assert body["text"].startswith("[lakeshop warning] revenue_drop channel=online: revenue")
    assert {k: body[k] for k in ("rule", "scope", "business_date", "value", "threshold")} == {
        "rule": "revenue_drop",
        "scope": "channel=online",
        "business_date": "2026-01-09",
        "value": 1200.5,
        "threshold": 3000.0,
    }


def test_a_failing_webhook_is_retried_then_failed_without_leaking_the_token(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAKESHOP_WEBHOOK_TOKEN", TOKEN)
    webhook.status = 500
    result = deliver(NOTICE, _hook(webhook.url, token_env="LAKESHOP_WEBHOOK_TOKEN"), FAST)
    assert len(webhook.requests) == 3
    sent = result["webhook"]
    assert (sent["status"], sent["attempts"]) == ("failed", 3)
    # the server put the token in its reason phrase: the error keeps the rest of it
    assert sent["error"] == "HTTP 500 refused Bearer ***"


def test_an_unreachable_webhook_whose_url_is_a_secret(monkeypatch: pytest.MonkeyPatch):
    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/{TOKEN}"
    monkeypatch.setenv("LAKESHOP_WEBHOOK_URL", url)
    channels = Channels(
        console=ConsoleChannel(enabled=False),
        webhook=WebhookChannel(url_env="LAKESHOP_WEBHOOK_URL"),
    )
    result = deliver(NOTICE, channels, Delivery(retries=1, backoff_seconds=0))
    sent = result["webhook"]
    assert (sent["status"], sent["attempts"]) == ("failed", 2)
    assert "cannot reach the webhook" in sent["error"]
    assert TOKEN not in sent["error"] and url not in sent["error"]


def test_a_missing_environment_variable_is_a_failed_delivery(webhook: Webhook):
    channels = _hook(webhook.url, token_env="LAKESHOP_NO_SUCH_TOKEN")
    result = deliver(NOTICE, channels, Delivery(retries=0))
    assert result["webhook"] == {
        "status": "failed",
        "attempts": 1,
        "error": "LookupError: environment variable LAKESHOP_NO_SUCH_TOKEN "
        "(setting alerts.channels.webhook.token_env) is not set",
    }
    assert webhook.requests == []


def _mail(server: Smtp, **kw: object) -> Channels:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "from": "lakeshop@example.com",
        "to": ["ops@example.com", "sales@example.com"],
        "user": server.user,
        "password_env": "LAKESHOP_SMTP_PASSWORD",
        "timeout_seconds": 5,
    } | kw
    return Channels(console=ConsoleChannel(enabled=False), email=EmailChannel(**settings))


def test_email_is_sent_through_smtp_with_a_login(
    smtp_server: Smtp, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAKESHOP_SMTP_PASSWORD", smtp_server.password)
    result = deliver(NOTICE, _mail(smtp_server), FAST)
    assert result == {"email": {"status": "sent", "attempts": 1, "error": None}}
    assert smtp_server.logins == ["alerts"]
    [msg] = smtp_server.messages
    assert msg["Subject"] == "[lakeshop warning] revenue_drop channel=online"
    assert msg["From"] == "lakeshop@example.com"
    assert msg["X-Envelope-To"] == "ops@example.com, sales@example.com"
    body = msg.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert NOTICE.message in body and "business_date: 2026-01-09" in body
    assert smtp_server.password not in msg.as_string()


def test_a_wrong_password_is_retried_then_failed(
    smtp_server: Smtp, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAKESHOP_SMTP_PASSWORD", "pw-wrong-S3cret")
    # aiosmtpd answers a refused login by going silent: the timeout ends each attempt
    result = deliver(NOTICE, _mail(smtp_server, timeout_seconds=0.5), FAST)
    sent = result["email"]
    assert (sent["status"], sent["attempts"]) == ("failed", 3)
    assert sent["error"].startswith(("SMTPAuthenticationError", "SMTPServerDisconnected"))
    assert "pw-wrong-S3cret" not in sent["error"]
    assert smtp_server.messages == []


def test_a_closed_smtp_port_fails_every_attempt():
    port = free_port()
    channels = Channels(
        console=ConsoleChannel(enabled=False),
        email=EmailChannel.model_validate(
            {
                "host": "127.0.0.1",
                "port": port,
                "from": "a@b.c",
                "to": ["d@e.f"],
                "timeout_seconds": 2,
            }
        ),
    )
    result = deliver(NOTICE, channels, FAST)
    assert (result["email"]["status"], result["email"]["attempts"]) == ("failed", 3)
    assert "ConnectionRefusedError" in result["email"]["error"]


def test_console_is_a_log_line(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="lakeshop.alerts"):
        result = deliver(NOTICE, Channels(), FAST)
    assert result == {"console": {"status": "sent", "attempts": 1, "error": None}}
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"alert warning revenue_drop channel=online: {NOTICE.message}"


def test_webhook_settings_need_exactly_one_url():
    with pytest.raises(ValueError, match="exactly one of url and url_env"):
        WebhookChannel()
    with pytest.raises(ValueError, match="exactly one of url and url_env"):
        WebhookChannel(url="http://x", url_env="X")


def test_an_smtp_login_needs_user_and_password_env():
    with pytest.raises(ValueError, match="give user and password_env together"):
        EmailChannel.model_validate({"host": "h", "from": "a@b.c", "to": ["d@e.f"], "user": "u"})
