"""The SMS provider SMS_PROVIDER names, built from the gateway's settings."""

from __future__ import annotations

from bot.config import GatewaySettings
from bot.sms.provider import SmsProvider
from bot.sms.sandbox import SandboxSms
from bot.sms.twilio_sms import TwilioSms


def build_provider(settings: GatewaySettings) -> SmsProvider | None:
    public = settings.gateway_public_url.rstrip("/")
    if settings.sms_provider == "sandbox":
        return SandboxSms()
    if settings.sms_provider == "twilio":
        return TwilioSms(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_from,
            status_callback=f"{public}/sms/twilio/status",
            api_base_url=settings.twilio_api_base_url,
        )
    return None
