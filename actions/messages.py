"""Everything the actions say, in Chinese and English. Figures are filled in by the actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "greet": {
        "zh": "您好{name}！我是您的借款服务助手，可以帮您查询欠款、获取还款链接、协商还款方案、承诺还款，或转人工。",
        "en": "Hello{name}! I'm your loan assistant. I can show what you owe, send a payment link, "
        "work out a payment plan, record when you'll pay, or get you a person.",
    },
    "verify_intro": {
        "zh": "为保护您的信息，查看账户前需要先核实身份。",
        "en": "To protect your information, I need to check it's you before showing account details.",
    },
    "ask_phone": {
        "zh": "请输入您借款时登记的手机号。",
        "en": "Please type the mobile number you registered with us.",
    },
    "bad_phone": {
        "zh": "这看起来不像手机号码。",
        "en": "That doesn't look like a phone number.",
    },
    "ask_second_factor": {
        "zh": "请输入身份证号后4位，或您的出生日期（例如 1990-03-07）。",
        "en": "Now the last 4 characters of your ID number, or your date of birth (e.g. 1990-03-07).",
    },
    "verify_failed": {
        "zh": "信息未能核实，请重新输入。您还可以尝试 {attempts} 次。",
        "en": "Sorry, I couldn't verify that. Let's try again: {attempts} attempt(s) left.",
    },
    "verify_failed_unread": {
        "zh": "这看起来不像身份证号后4位或出生日期。",
        "en": "That doesn't look like the last 4 characters of an ID number or a date of birth.",
    },
    "verify_locked": {
        "zh": "尝试次数过多，身份核实已暂时锁定，请稍后再试。如需帮助，我可以为您转人工。",
        "en": "Too many attempts: verification is locked for a while. I can get you a person if you like.",
    },
    "verified": {
        "zh": "身份核实成功，{name}，谢谢。",
        "en": "Thanks {name}, you're verified.",
    },
    "token_failed": {
        "zh": "这个链接无效或已过期。我们可以用手机号核实身份。",
        "en": "That link is invalid or has expired. We can verify you with your phone number instead.",
    },
    "wrong_person": {
        "zh": "感谢告知，打扰您了。我们已记录下来，不会再就此联系您。",
        "en": "Thank you for letting us know, and sorry to bother you. We've noted it and won't contact you about this again.",
    },
    "no_loans": {
        "zh": "您目前没有需要还款的借款。",
        "en": "You have no loans with anything to pay.",
    },
    "balance": {
        "zh": "借款 {loan}（截至 {as_of}）：\n应还总额 {total} {cur}\n· 本金 {principal}\n· 利息 {interest}\n· 费用 {fees}\n· 罚息 {penalty}\n一次结清金额 {payoff} {cur}。",
        "en": "Loan {loan} (as of {as_of}):\nTotal owed {total} {cur}\n· principal {principal}\n· interest {interest}\n· fees {fees}\n· penalty interest {penalty}\nTo pay it all off today: {payoff} {cur}.",
    },
    "overdue": {
        "zh": "其中已逾期 {overdue} {cur}，逾期 {dpd} 天。",
        "en": "Of this, {overdue} {cur} is overdue (days past due: {dpd}).",
    },
    "on_plan": {
        "zh": "您正在执行还款方案（{kind}）。",
        "en": "You are on a payment arrangement ({kind}).",
    },
    "next_due": {
        "zh": "下一期还款日：{date}，金额 {amount} {cur}。",
        "en": "Next payment: {amount} {cur} due on {date}.",
    },
    "nothing_due": {
        "zh": "您目前没有待还的款项。",
        "en": "There is nothing left to pay.",
    },
    "history_head": {"zh": "最近的还款记录：", "en": "Your recent payments:"},
    "history_line": {
        "zh": "· {date} 收到 {amount} {cur}",
        "en": "· {date}: {amount} {cur} received",
    },
    "no_history": {"zh": "暂时没有查到还款记录。", "en": "I can't find any payments yet."},
    "payment_link": {
        "zh": "这是您的还款链接，金额 {amount} {cur}：\n{url}\n链接将于 {expires} 失效。",
        "en": "Here is your payment link for {amount} {cur}:\n{url}\nIt expires {expires}.",
    },
    "fees": {
        "zh": "您的借款 {loan} 按合同：年利率 {rate}%（每月按剩余本金的 {monthly}% 计息）。逾期后，宽限期 {grace} 天内还清不收额外费用；超过宽限期，按逾期本金每日 {penalty}% 计收罚息{late_fee_zh}。目前已产生费用 {fees} {cur}、罚息 {penalty_amount} {cur}。",
        "en": "Under your contract for loan {loan}: {rate}% a year ({monthly}% a month on the principal still owed). If a payment is late, nothing extra is charged within {grace} grace day(s); after that, penalty interest of {penalty}% a day runs on the overdue principal{late_fee_en}. So far: fees {fees} {cur}, penalty interest {penalty_amount} {cur}.",
    },
    "ask_promise_amount": {
        "zh": "您打算还多少？（至少 {minimum} {cur}，逾期金额为 {overdue} {cur}）",
        "en": "How much will you pay? (at least {minimum} {cur}; {overdue} {cur} is overdue)",
    },
    "ask_promise_date": {
        "zh": "哪天还？请选 {earliest} 到 {latest} 之间的日期。",
        "en": "On which day? Any day from {earliest} to {latest}.",
    },
    "ask_promise_day_in_week": {
        "zh": "{which}哪一天？请选 {earliest} 到 {latest} 之间的日期，例如“周五”。",
        "en": "Which day {which}? Any day from {earliest} to {latest}, like Friday.",
    },
    "ask_promise_day_in_month": {
        "zh": "{which}几号？请选 {earliest} 到 {latest} 之间的日期。",
        "en": "Which day {which}? Any day from {earliest} to {latest}, like the 15th.",
    },
    "span.week.0": {"zh": "本周", "en": "this week"},
    "span.week.1": {"zh": "下周", "en": "next week"},
    "span.week.2": {"zh": "下下周", "en": "the week after next"},
    "span.month.0": {"zh": "这个月", "en": "this month"},
    "span.month.1": {"zh": "下个月", "en": "next month"},
    "why_amount": {
        "zh": "可以约定的最低金额是 {minimum} {cur}。目前逾期 {overdue} {cur}：还上这个数，借款就不再逾期，罚息也不再增加；少于这个数也可以约定，但没还上的部分仍算逾期，会继续计罚息。",
        "en": "The least I can record is {minimum} {cur}. {overdue} {cur} is overdue: paying that brings the loan up to date and stops penalty interest growing. Paying less is still a promise I can record, but what stays unpaid remains overdue and penalty interest keeps running on it.",
    },
    "why_amount_not_overdue": {
        "zh": "可以约定的最低金额是 {minimum} {cur}，目前没有逾期金额，按期还款即可。",
        "en": "The least I can record is {minimum} {cur}. Nothing is overdue, so paying on time keeps the loan up to date.",
    },
    "why_days": {
        "zh": "可以约定今天起 {days} 天内的任意一天，也就是 {earliest} 到 {latest}。",
        "en": "Any day within {days} days: from {earliest} to {latest}.",
    },
    "why_verify": {
        "zh": "核实身份是为了确保只有您本人能看到这笔借款的信息。我只会问您登记的手机号，以及身份证后4位或出生日期；绝不会索要密码、验证码或银行卡号。如有疑虑，可拨打借款合同上的官方客服电话核实。",
        "en": "I check it's you so that no one else can see this loan. I only ask for the mobile number you registered and the last 4 characters of your ID or your date of birth; never a password, a code or a card number. If in doubt, call the number on your loan contract to check it's us.",
    },
    "after_verify": {
        "zh": "核实身份后我马上为您处理。",
        "en": "I'll answer that as soon as you're verified.",
    },
    "verification_stopped": {
        "zh": "好的，已停止核实。未核实身份前，我无法显示账户信息；需要时随时告诉我。",
        "en": "OK, I've stopped. I can't show account details until I've checked it's you; just ask again when you're ready.",
    },
    "bad_amount": {
        "zh": "我没看懂这个金额，请输入数字，例如 2500 或 两千五。",
        "en": "I couldn't read that amount. Please type a number, like 1500.",
    },
    "amount_too_small": {
        "zh": "这个金额低于可承诺的最低金额。",
        "en": "That's below the smallest amount I can record.",
    },
    "date_outside_window": {
        "zh": "这个日期不在可以约定的范围内。",
        "en": "That day is outside the dates I can record.",
    },
    "bad_date": {
        "zh": "我没法确定是哪一天，请说具体日期，例如 12月5日 或 下周五。",
        "en": "I couldn't tell which day that is. Please give a date, like Dec 5 or next friday.",
    },
    "confirm_promise": {
        "zh": "确认一下：您将在 {date} 前还款 {amount} {cur}，对吗？",
        "en": "Just to confirm: you'll pay {amount} {cur} by {date}. Is that right?",
    },
    "promise_recorded": {
        "zh": "已记录：{date} 前还款 {amount} {cur}。到时回复“还款”即可获取还款链接。谢谢您！",
        "en": 'Got it: {amount} {cur} by {date}. When you\'re ready, say "pay" for a payment link. Thank you!',
    },
    "promise_cancelled": {
        "zh": "好的，已取消。您可以重新告诉我金额和日期。",
        "en": "OK, cancelled. Tell me the amount and day again whenever you like.",
    },
    "offers_head": {"zh": "您可以选择以下方案：", "en": "Here is what I can offer:"},
    "offer_installment": {
        "zh": "{n}. 分{term}期：今天首付 {down} {cur}，之后每月 {monthly} {cur}，手续费 {fee} {cur}，共 {total} {cur}",
        "en": "{n}. {term} months: {down} {cur} today, then {monthly} {cur} a month; fee {fee} {cur}, total {total} {cur}",
    },
    "offer_installment_nodown": {
        "zh": "{n}. 分{term}期：每月 {monthly} {cur}，手续费 {fee} {cur}，共 {total} {cur}",
        "en": "{n}. {term} months: {monthly} {cur} a month; fee {fee} {cur}, total {total} {cur}",
    },
    "offer_extension": {
        "zh": "{n}. 延期{months}个月：首期改到 {first}，手续费 {fee} {cur}",
        "en": "{n}. {months}-month extension: next payment moves to {first}; fee {fee} {cur}",
    },
    "offer_settlement": {
        "zh": "{n}. 减免结清：{parts_zh}共还 {total} {cur}（减免 {discount} {cur}），首笔 {first} 前{approval_zh}",
        "en": "{n}. Settle for {total} {cur} ({discount} {cur} off){parts_en}, first payment by {first}{approval_en}",
    },
    # Why offer 1 is first: the backend's code (backend/plans/order.py, FIRST_BECAUSE) with its
    # figures; the general text when a figure is missing.
    "first_because": {
        "zh": "第1个方案最贴合您近来的还款情况。",
        "en": "Option 1 suits what you have been paying best.",
    },
    "first_because.fits_payments": {
        "zh": "第1个方案排在最前：每期最多 {largest} {cur}，与您近{months}个月通常每月还款（约 {median} {cur}）相符，且在相符的方案中费用最低。",
        "en": "Option 1 comes first: its payments (at most {largest} {cur}) fit what you have paid in recent months, about {median} {cur} a month, and it costs the least of those that do.",
    },
    "first_because.kept_promises": {
        "zh": "第1个方案排在最前：您一直按承诺还款，所以它每期比您通常每月的 {median} {cur} 略高（最多 {largest} {cur}），但总费用更低。",
        "en": "Option 1 comes first: you have kept your promises to pay, so it asks a little more than your usual {median} {cur} a month (at most {largest} {cur}) and costs you less.",
    },
    "first_because.closest_to_payments": {
        "zh": "第1个方案排在最前：它每期金额最小（最多 {largest} {cur}），最接近您近{months}个月通常每月还款的 {median} {cur} 左右。",
        "en": "Option 1 comes first: it has the smallest payments (at most {largest} {cur}), the closest to what you have paid in recent months, about {median} {cur} a month.",
    },
    "first_because.hardship": {
        "zh": "您告诉过我们近期经济困难，所以每期金额最小的方案排在最前（最多 {largest} {cur}）。",
        "en": "Since you told us money is tight, the plan with the smallest payments comes first (at most {largest} {cur}).",
    },
    "first_because.nothing_paid": {
        "zh": "第1个方案排在最前：它每期金额最小（最多 {largest} {cur}）。",
        "en": "Option 1 comes first: it has the smallest payments (at most {largest} {cur}).",
    },
    "no_offers": {
        "zh": "目前没有可以直接为您办理的方案（{reason}）。我可以为您转人工协商。",
        "en": "I can't offer a plan here right now ({reason}). I can get you a person to discuss it.",
    },
    # Why a plan kind is not offered: the backend's code (backend/plans/rules.py,
    # NOT_OFFERED_CODES) with its figures, said here; its English `reason` is for staff.
    "why_not.loan_paid_off": {"zh": "这笔借款已还清", "en": "the loan is paid off"},
    "why_not.on_arrangement": {
        "zh": "这笔借款已在执行还款方案",
        "en": "the loan is already on a payment arrangement",
    },
    "why_not.arrangement_limit": {
        "zh": "这笔借款已办理过 {count} 次还款方案，最多 {limit} 次",
        "en": "the loan has had {count} arrangements, and {limit} is the most it can have",
    },
    "why_not.broken_arrangements": {
        "zh": "已有 {count} 个还款方案未按约履行，需要由工作人员处理",
        "en": "{count} arrangements were not kept, so a person needs to decide",
    },
    "why_not.switched_off": {
        "zh": "这类方案目前暂不办理",
        "en": "this kind of plan isn't available right now",
    },
    "why_not.bucket_not_eligible": {
        "zh": "目前逾期 {dpd} 天，暂不符合分期办理条件",
        "en": "at {dpd} days past due, the loan can't be paid in installments",
    },
    "why_not.installment_below_minimum": {
        "zh": "分{term}期的每期金额会低于最低还款额",
        "en": "over {term} months each installment would be below the minimum",
    },
    "why_not.dpd_outside_window": {
        "zh": "目前逾期 {dpd} 天，延期只适用于逾期 {min_dpd} 到 {max_dpd} 天的借款",
        "en": "an extension is for loans {min_dpd} to {max_dpd} days past due, and this one is {dpd}",
    },
    "why_not.extension_limit": {
        "zh": "这笔借款已延期过 {count} 次",
        "en": "the loan has already been extended {count} time(s)",
    },
    "why_not.nothing_to_move": {
        "zh": "没有可以顺延的待还款项",
        "en": "there are no payments left to move",
    },
    "why_not.still_due_after_move": {
        "zh": "顺延{months}个月后，最早的一期仍已到期",
        "en": "moved by {months} month(s), the oldest payment would still be due",
    },
    "why_not.no_settlement_band": {
        "zh": "目前逾期 {dpd} 天，暂不符合减免条件",
        "en": "at {dpd} days past due, the loan can't be settled for less",
    },
    "why_not.balance_below_band_minimum": {
        "zh": "欠款金额低于办理减免的最低金额",
        "en": "the balance is below the minimum for a settlement",
    },
    "why_not.no_discount": {
        "zh": "目前没有可减免的金额",
        "en": "no discount is available at this stage",
    },
    "why_not": {"zh": "暂不符合办理条件", "en": "the loan doesn't qualify right now"},
    # A promise the backend refused (backend/promises/rules.py): its code and figures.
    "promise_refused.promise_date_in_past": {
        "zh": "{promised_date} 已经过去了，请选 {earliest} 到 {latest} 之间的日期。",
        "en": "{promised_date} has already passed: please choose a day from {earliest} to {latest}.",
    },
    "promise_refused.promise_beyond_window": {
        "zh": "{promised_date} 超出了可以约定的日期，请选 {earliest} 到 {latest} 之间的日期。",
        "en": "{promised_date} is too far ahead: please choose a day from {earliest} to {latest}.",
    },
    "promise_refused.promise_below_minimum": {
        "zh": "{amount} {currency} 低于最低金额，请至少承诺还款 {minimum} {currency}。",
        "en": "{amount} {currency} is below the minimum: please promise at least {minimum} {currency}.",
    },
    "promise_refused.promise_above_balance": {
        "zh": "{amount} {currency} 超过了今天结清借款所需的金额，最多 {maximum} {currency}。",
        "en": "{amount} {currency} is more than it takes to pay the loan off today: at most {maximum} {currency}.",
    },
    "promise_refused.promise_nothing_owed": {
        "zh": "这笔借款目前没有需要还的款项。",
        "en": "Nothing is owed on this loan right now.",
    },
    "promise_refused.promise_already_open": {
        "zh": "这笔借款已有一个还款承诺：{promised_date} 前还款 {amount} {currency}。",
        "en": "This loan already has a promise: {amount} {currency} by {promised_date}.",
    },
    "promise_refused": {
        "zh": "抱歉，这个还款承诺暂时无法记录。",
        "en": "Sorry, I can't record that promise.",
    },
    # A payment link the backend refused (backend/payments/service.py).
    "link_refused.amount_above_payoff": {
        "zh": "{amount} {currency} 超过了一次结清金额 {payoff} {currency}，以下是按应还金额生成的链接。",
        "en": "{amount} {currency} is more than the payoff amount of {payoff} {currency}, so here is a link for what is due.",
    },
    "link_refused.invalid_amount": {
        "zh": "这个金额无法使用，以下是按应还金额生成的链接。",
        "en": "I can't use that amount, so here is a link for what is due.",
    },
    "link_refused.nothing_to_pay": {
        "zh": "这笔借款已还清，无需再还款。",
        "en": "The loan is paid off: there is nothing to pay.",
    },
    # No payment provider is configured (production without the hosted checkout).
    "link_refused.payment_links_unavailable": {
        "zh": "抱歉，目前无法在这里为您生成还款链接：暂不支持通过对话在线还款。请通过您平时的还款方式还款，或者我可以为您转人工，由工作人员告诉您如何还款。",
        "en": "Sorry, I can't give you a payment link here: paying through this chat isn't available right now. Please pay the way you usually do, or I can get you a person who can tell you how to pay.",
    },
    "link_refused": {
        "zh": "这个金额无法使用，以下是按应还金额生成的链接。",
        "en": "I can't make a link for that amount, so here is one for what is due.",
    },
    # Anything else the backend refuses: never its English message.
    "refused": {
        "zh": "抱歉，这个请求暂时无法办理。如需帮助，我可以为您转人工。",
        "en": "Sorry, I can't do that here. I can get you a person if you like.",
    },
    "plan.installment": {"zh": "分期", "en": "installments"},
    "plan.extension": {"zh": "延期", "en": "an extension"},
    "plan.settlement": {"zh": "减免结清", "en": "a settlement"},
    "offer_gone": {
        "zh": "这个方案已失效（金额或日期有变化），以下是最新方案。",
        "en": "That offer is no longer valid (the figures or date changed). Here are the current ones.",
    },
    "arranged": {
        "zh": "方案已生效。第一笔 {amount} {cur}，请于 {date} 前还款。需要还款链接请回复“还款”。",
        "en": 'Done, your arrangement is in place. First payment: {amount} {cur} by {date}. Say "pay" for a payment link.',
    },
    "approval_pending": {
        "zh": "这个减免方案需要主管审批，结果出来后会在这里通知您。",
        "en": "This settlement needs a supervisor's approval. I'll tell you here as soon as it's decided.",
    },
    "case_hardship": {
        "zh": "很抱歉听到您遇到困难。已为您登记困难情况，工作人员会跟进；也可以看看分期或延期方案。",
        "en": "I'm sorry things are hard. I've recorded your situation for our team, and we can look at a payment plan or more time.",
    },
    "case_dispute": {
        "zh": "已为您登记异议，在核实之前我们会暂停对这笔借款的催收联系，并为您转人工处理。",
        "en": "I've recorded your dispute. We'll pause collection contact on this loan while it's looked into, and I'm passing you to a person.",
    },
    "case_complaint": {
        "zh": "非常抱歉给您带来不好的体验。投诉已登记，正在为您转人工。",
        "en": "I'm sorry about your experience. Your complaint is recorded and I'm passing you to a person.",
    },
    "case_already_paid": {
        "zh": "我还没有查到这笔还款。已为您登记核查，请把付款凭证或交易号发给工作人员，我们会尽快处理。",
        "en": "I can't see that payment yet. I've opened a check for it: please send the receipt or transaction reference and we'll sort it out.",
    },
    "already_paid_found": {
        "zh": "查到了：{date} 收到 {amount} {cur}，谢谢！",
        "en": "Found it: {amount} {cur} received on {date}. Thank you!",
    },
    "ask_new_contact": {
        "zh": "请告诉我新的手机号、邮箱或地址，我会转给工作人员，他们核实后再更新。",
        "en": "What's your new mobile number, e-mail or address? I'll pass it to our team, who confirm it with you before changing anything.",
    },
    "bad_contact": {
        "zh": "这看起来不像手机号、邮箱或地址。",
        "en": "That doesn't look like a phone number, an e-mail or an address.",
    },
    "why_contact": {
        "zh": "您的新联系方式会转给工作人员，他们会先和您核实再更新，以免有人冒用您的账户。我绝不会索要密码或验证码。",
        "en": "Your new details go to our team, who confirm them with you before changing anything, so no one else can redirect your account. I never ask for passwords or codes.",
    },
    "contact_unchanged": {
        "zh": "好的，联系方式保持不变。",
        "en": "OK, your contact details stay as they are.",
    },
    "case_contact_update": {
        "zh": "已记录您要更新联系方式的请求，工作人员会联系您核实。",
        "en": "I've recorded your request to update your contact details; our team will confirm it with you.",
    },
    "contact_preference_set": {
        "zh": "好的，已记录。今后提醒只会在这些时间发送：{when}（且始终在规定的联系时段内）。",
        "en": "Noted. Reminders will only come at these times from now on: {when} (and always "
        "within the hours the rules allow).",
    },
    "contact_preference_cleared": {
        "zh": "好的，已取消您之前指定的联系时间；提醒会在规定的联系时段内发送。",
        "en": "Done: the times you asked for are cleared; reminders come within the usual "
        "contact hours.",
    },
    "case_opt_out": {
        "zh": "好的，我们将不再通过这里主动给您发送消息。您仍可随时来这里咨询。",
        "en": "Done: we won't send you messages here any more. You can still write to me any time.",
    },
    "handoff": {
        "zh": "正在为您转接人工客服，工作人员会在这里回复您，请稍候。",
        "en": "I'm getting you a person. Someone from our team will reply here shortly.",
    },
    "backend_down": {
        "zh": "抱歉，系统暂时无法处理您的请求，请稍后再试。您的消息已收到，我也可以为您转人工。",
        "en": "Sorry, I can't reach our system right now. Please try again shortly; your message is kept, and I can get you a person.",
    },
    "not_understood": {
        "zh": "抱歉，我没太明白。您可以换个说法，或选择下面的选项。",
        "en": "Sorry, I didn't get that. Could you put it another way, or pick an option below?",
    },
    "language_set": {
        "zh": "好的，之后我用中文和您交流。",
        "en": "Sure, I'll reply in English from now on.",
    },
}

BUTTONS: dict[str, dict[str, str]] = {
    "/check_balance": {"zh": "查询欠款", "en": "What do I owe?"},
    "/make_payment": {"zh": "立即还款", "en": "Pay now"},
    "/request_installment": {"zh": "还款方案", "en": "Payment plans"},
    "/promise_to_pay": {"zh": "约定还款日", "en": "Say when I'll pay"},
    "/request_human": {"zh": "转人工", "en": "Talk to a person"},
    "/affirm": {"zh": "确认", "en": "Yes"},
    "/deny": {"zh": "修改", "en": "No"},
}


def say(lang: str, key: str, **values: Any) -> str:
    return TEXTS[key]["en" if lang == "en" else "zh"].format(**values)


def why(lang: str, family: str, code: str, params: Mapping[str, Any] | None = None) -> str:
    """A reason the backend gave as a code with its figures (`params`), in the borrower's
    language: the text for `family.code`, else the family's general one. Never the backend's
    English message."""
    key = f"{family}.{code}"
    if key in TEXTS:
        try:
            return say(lang, key, **dict(params or {}))
        except (KeyError, IndexError, ValueError):  # a figure missing: the general text
            pass
    return say(lang, family)


def plan_kind(lang: str, kind: str) -> str:
    key = f"plan.{kind}"
    return say(lang, key) if key in TEXTS else kind


def buttons(lang: str, *payloads: str) -> list[dict[str, str]]:
    return [{"title": BUTTONS[p]["en" if lang == "en" else "zh"], "payload": p} for p in payloads]
