"""Reminders on WhatsApp (the `whatsapp` rule), where the borrower's profile lists it: an approved
template with the loan's figures to the number on the lender's record (a chat that stays
unverified until whoever answers verifies), or within 24 hours of the borrower's last WhatsApp
message the reminder itself with its buttons; a number that said STOP, proved not to be on
WhatsApp, or belongs to another borrower's chat is passed over for the next rule. A collector
whose WhatsApp chat has gone quiet for a day sends the approved template instead of a reply."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases import handoffs
from backend.cases.models import Handoff
from backend.cases.service import file_case
from backend.config import ROOT, Settings
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.conversations.service import get_or_create
from backend.errors import Conflict
from backend.ledger.models import Loan
from backend.outbound import service as outbox
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder, ReminderDecision
from backend.outreach.setup import OutreachConfig, load_outreach_config
from backend.policy_files import PolicyFileError
from backend.types import utcnow
from tests.backend import factories
from tests.backend.integration.test_outreach import at, config, plan, send

__all__ = ["config"]  # the module's fixture, shared

SG_PHONE = "+6591234567"
WA = "6591234567"


def a_loan(db: Session, ref: str = "L1", *, phone: str = SG_PHONE, **who: object) -> Loan:
    """A loan due in 3 days to a borrower in Singapore (their profile lists WhatsApp)."""
    who = {"timezone": "Asia/Singapore", "full_name": "陈美玲"} | who
    borrower = factories.borrower(db, ref=f"B-{ref}", phone_e164=phone, **who)
    loan = factories.loan(db, ref=ref, disbursed_on=date(2026, 3, 15), who=borrower)
    db.flush()
    return loan


def checks(db: Session) -> dict[str, object]:
    decision = db.scalars(select(ReminderDecision)).one()
    found: dict[str, object] = json.loads(decision.checks)["channel"]
    return found


def borrower_wrote(
    db: Session, chat: Conversation, hours_ago: float, *, before: datetime | None = None
) -> None:
    """A message from the borrower this long before `before` (when the reminders are decided,
    10:00)."""
    at_ = (before or at("10:00")) - timedelta(hours=hours_ago)
    db.add(Message(conversation_id=chat.id, sender="borrower", text="hi", sent_at=at_))
    db.flush()


class TestFirstContact:
    def test_a_borrower_who_never_chatted_gets_the_approved_template_with_the_figures(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert (sent.action, sent.channel) == ("send", "whatsapp")
        message = db.scalars(select(OutboundMessage)).one()
        assert message.template == {
            "name": "payment_due",
            "language": "zh_CN",
            "params": ["陈美玲", "L1", "1066.19", "CNY", "2026-04-15"],
        }
        # the transcript and the outbox show the body as the borrower reads it
        assert message.text.startswith("陈美玲您好，您的借款L1本期应还1066.19 CNY")
        assert "{{" not in message.text and message.buttons is None
        assert db.get(Message, message.message_id).text == message.text  # type: ignore[union-attr]
        chat = message.conversation
        # whoever answers on that number verifies first: the chat is not bound to anyone
        assert (chat.channel, chat.channel_user_id, chat.borrower_id) == ("whatsapp", WA, None)
        assert chat.language == "zh"
        row = db.scalars(select(Reminder)).one()
        assert (row.channel, row.channel_rule, row.conversation_id) == (
            "whatsapp",
            "whatsapp",
            chat.id,
        )
        assert checks(db) == {
            "rule": "whatsapp",
            "tried": [["recent_chat", "none"], ["whatsapp", "chosen"]],
        }
        assert loan.borrower.phone_e164 == SG_PHONE

    def test_an_english_speaker_gets_the_english_template(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db, language="en", full_name="Emily Chen")
        plan(db, config)
        send(db, config, at("10:00"))
        message = db.scalars(select(OutboundMessage)).one()
        assert message.template is not None and message.template["language"] == "en"
        assert message.text.startswith("Hello Emily Chen, 1066.19 CNY on loan L1 is due")

    def test_an_overdue_loan_gets_the_overdue_template(self, db: Session, config: OutreachConfig):
        a_loan(db)
        late = date(2026, 4, 22)  # 7 days after the first installment fell due
        plan(db, config, today=late)
        [sent] = send(db, config, at("10:00", late), today=late).outcomes
        assert (sent.step_id, sent.channel) == ("overdue_7", "whatsapp")
        template = db.scalars(select(OutboundMessage.template)).one()
        assert template is not None
        assert template["name"] == "payment_overdue"
        assert template["params"][:3] == ["陈美玲", "L1", "7"]

    def test_within_a_day_of_their_last_whatsapp_message_the_reminder_goes_as_a_chat_message(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        chat = factories.conversation(db, who=loan.borrower, channel="whatsapp", user_id=WA)
        borrower_wrote(db, chat, hours_ago=3)
        plan(db, config)
        send(db, config, at("10:00"))
        message = db.scalars(select(OutboundMessage)).one()
        assert message.template is None and message.conversation_id == chat.id
        assert message.text.startswith("陈美玲您好，温馨提示")
        assert message.buttons == [{"title": "立即还款", "payload": "/make_payment"}]

    def test_a_day_after_their_last_message_the_template_goes_to_their_verified_chat(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        # they verified on WhatsApp from another number than the one on record
        chat = factories.conversation(
            db, who=loan.borrower, channel="whatsapp", user_id="6580001111"
        )
        borrower_wrote(db, chat, hours_ago=30)
        plan(db, config)
        send(db, config, at("10:00"))
        message = db.scalars(select(OutboundMessage)).one()
        assert message.conversation_id == chat.id and message.template is not None

    def test_a_chat_the_borrower_was_in_lately_comes_first(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        factories.conversation(db, who=loan.borrower, channel="telegram", user_id="42")
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "telegram"


class TestPassedOver:
    def test_a_chinese_number_is_not_reached_on_whatsapp(self, db: Session, config: OutreachConfig):
        a_loan(db, phone="+8613800138001", timezone="Asia/Shanghai")
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "sms"
        assert ["whatsapp", "not_allowed"] in checks(db)["tried"]  # type: ignore[operator]

    def test_stop_said_on_the_number_before_verifying_stands(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        unverified = get_or_create(db, "whatsapp", WA)
        file_case(db, conversation=unverified, kind="opt_out", loan=None, details="STOP")
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "sms"
        assert ["whatsapp", "opted_out"] in checks(db)["tried"]  # type: ignore[operator]

    def test_every_way_closed_by_their_opt_outs_drops_it_as_an_opt_out(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        only_whatsapp = with_order(config, "whatsapp")
        unverified = get_or_create(db, "whatsapp", WA)
        file_case(db, conversation=unverified, kind="opt_out", loan=None, details="STOP")
        plan(db, only_whatsapp)
        [dropped] = send(db, only_whatsapp, at("10:00")).outcomes
        assert (dropped.action, dropped.reason) == ("drop", "opt_out")
        assert db.scalars(select(Reminder.channel)).one() == "whatsapp"
        assert loan.borrower_id is not None

    def test_a_number_that_proved_not_to_be_on_whatsapp_gets_sms(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        chat = get_or_create(db, "whatsapp", WA)
        row = outbox.enqueue(db, conversation=chat, text="x", sender="system")
        row.status, row.error = "failed", "WhatsApp: 400 131026: Message undeliverable"
        db.flush()
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "sms"
        assert ["whatsapp", "not_on_whatsapp"] in checks(db)["tried"]  # type: ignore[operator]

    def test_once_they_write_from_it_the_number_is_on_whatsapp_again(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        chat = get_or_create(db, "whatsapp", WA)
        row = outbox.enqueue(db, conversation=chat, text="x", sender="system")
        row.status, row.error = "failed", "WhatsApp: 400 131026: Message undeliverable"
        row.created_at = at("10:00") - timedelta(days=3)
        borrower_wrote(db, chat, hours_ago=48)
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "whatsapp"

    def test_a_number_whose_whatsapp_chat_verified_as_someone_else_gets_sms(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        other = factories.borrower(db, ref="B-OTHER", phone_e164="+6598887777")
        factories.conversation(db, who=other, channel="whatsapp", user_id=WA)
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "sms"
        assert ["whatsapp", "shared_number"] in checks(db)["tried"]  # type: ignore[operator]

    def test_without_whatsapp_reminders_the_rule_is_left_out(self, tmp_path: Path):
        settings = Settings(whatsapp_reminders=False, database_url=f"sqlite:///{tmp_path}/x.db")
        loaded = load_outreach_config(ROOT / "config", settings)
        assert "whatsapp" not in loaded.policy.channels.order
        assert "sms" in loaded.policy.channels.order


def with_order(config: OutreachConfig, *order: str) -> OutreachConfig:
    channels = config.policy.channels.model_copy(update={"order": order})
    return replace(config, policy=config.policy.model_copy(update={"channels": channels}))


class TestTheTemplatesFile:
    def write(self, tmp_path: Path, whatsapp: str, outreach: str | None = None) -> Path:
        for name in ("outreach.yml", "outreach_templates.yml", "compliance.yml"):
            (tmp_path / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"))
        if outreach is not None:
            (tmp_path / "outreach.yml").write_text(outreach)
        (tmp_path / "whatsapp.yml").write_text(whatsapp)
        return tmp_path

    def shipped(self) -> str:
        return (ROOT / "config" / "whatsapp.yml").read_text(encoding="utf-8")

    def test_the_shipped_file_loads(self, config: OutreachConfig):
        assert config.whatsapp.collector == "collector_follow_up"
        assert config.whatsapp.languages == {"zh": "zh_CN", "en": "en"}

    def test_a_body_whose_placeholders_do_not_match_its_parameters_stops_start_up(
        self, tmp_path: Path
    ):
        broken = self.shipped().replace("，还款日为{{5}}", "")
        with pytest.raises(PolicyFileError, match=r"zh body's placeholders do not match its 5"):
            load_outreach_config(self.write(tmp_path, broken))

    def test_an_unknown_parameter_stops_start_up(self, tmp_path: Path):
        broken = self.shipped().replace("params: [name, loan_ref]", "params: [name, link]")
        with pytest.raises(PolicyFileError, match=r"unknown parameter 'link'"):
            load_outreach_config(self.write(tmp_path, broken))

    def test_a_step_naming_a_missing_template_stops_start_up(self, tmp_path: Path):
        outreach = (ROOT / "config" / "outreach.yml").read_text(encoding="utf-8")
        outreach = outreach.replace("whatsapp_template: payment_due", "whatsapp_template: nope", 1)
        with pytest.raises(PolicyFileError, match=r"step before_due_3: no WhatsApp template"):
            load_outreach_config(self.write(tmp_path, self.shipped(), outreach))

    def test_a_template_filled_with_a_figure_the_step_lacks_stops_start_up(self, tmp_path: Path):
        outreach = (ROOT / "config" / "outreach.yml").read_text(encoding="utf-8")
        # a broken promise concerns no due date
        outreach = outreach.replace(
            "  - id: promise_broken\n",
            "  - id: promise_broken\n    whatsapp_template: payment_due\n",
        )
        with pytest.raises(PolicyFileError, match=r"promise_broken reminders have no value"):
            load_outreach_config(self.write(tmp_path, self.shipped(), outreach))

    def test_a_collectors_template_with_figures_stops_start_up(self, tmp_path: Path):
        broken = self.shipped().replace("collector: collector_follow_up", "collector: payment_due")
        with pytest.raises(PolicyFileError, match=r"the collectors' template has none"):
            load_outreach_config(self.write(tmp_path, broken))

    def test_parameters_are_filled_as_meta_accepts_them(self, config: OutreachConfig):
        filled = config.whatsapp.fill(
            "payment_reminder", "en", {"name": "Emily\n\tChen     Jr", "loan_ref": ""}
        )
        assert filled.params == ("Emily Chen Jr", "-")
        assert filled.as_json() == {
            "name": "payment_reminder",
            "language": "en",
            "params": ["Emily Chen Jr", "-"],
        }


class TestTheCollectorsTemplate:
    def chat(self, db: Session, *, hours_since: float) -> Handoff:
        loan = a_loan(db)
        chat = factories.conversation(db, who=loan.borrower, channel="whatsapp", user_id=WA)
        borrower_wrote(db, chat, hours_ago=hours_since, before=utcnow())
        handoff = factories.handoff(db, conversation=chat)
        handoff.status, handoff.taken_by = "taken", "amy"
        db.flush()
        return handoff

    def test_after_a_day_of_silence_a_reply_is_refused_and_the_template_goes(
        self, db: Session, config: OutreachConfig
    ):
        handoff = self.chat(db, hours_since=25)
        with pytest.raises(Conflict) as refused:
            handoffs.reply(db, handoff=handoff, collector="amy", text="您好")
        assert refused.value.code == "whatsapp_window_closed"
        assert "template" in refused.value.message
        row = handoffs.send_template(db, handoff=handoff, collector="amy", whatsapp=config.whatsapp)
        assert row.template == {"name": "collector_follow_up", "language": "zh_CN", "params": []}
        assert row.text.startswith("您好，我们的客服有消息给您") and row.author == "amy"

    def test_within_the_day_the_collector_replies_instead(
        self, db: Session, config: OutreachConfig
    ):
        handoff = self.chat(db, hours_since=2)
        with pytest.raises(Conflict) as refused:
            handoffs.send_template(db, handoff=handoff, collector="amy", whatsapp=config.whatsapp)
        assert refused.value.code == "window_open"

    def test_only_the_collector_who_has_the_chat_sends_it(
        self, db: Session, config: OutreachConfig
    ):
        handoff = self.chat(db, hours_since=25)
        with pytest.raises(Conflict):
            handoffs.send_template(db, handoff=handoff, collector="bob", whatsapp=config.whatsapp)
