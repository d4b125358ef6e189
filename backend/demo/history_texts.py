# ruff: noqa: E501  (one sentence a line reads best)
"""What the generated history's borrowers, bot and collectors say (backend/demo/history.py):
short, colloquial, invented. Borrower lines by intent and language; the bot's and collectors'
answers by the same keys. No real personal data anywhere."""

from __future__ import annotations

BORROWER: dict[str, dict[str, tuple[str, ...]]] = {
    "greet": {
        "zh": ("你好", "在吗", "您好", "hi 你好", "在不在", "哈喽"),
        "en": ("hi", "hello", "hey there", "hi, anyone there?", "good morning"),
    },
    "goodbye": {
        "zh": ("好的 拜拜", "先这样吧", "再见", "没事了 谢谢"),
        "en": ("bye", "ok bye", "that's all", "see ya"),
    },
    "thank": {
        "zh": ("谢谢", "好的谢谢", "收到 谢了", "谢谢啊", "ok 感谢"),
        "en": ("thanks", "thank you", "ok thx", "great thanks", "cheers"),
    },
    "affirm": {
        "zh": ("对", "是的", "可以", "好", "嗯 确认", "没问题"),
        "en": ("yes", "yep", "ok", "correct", "sure", "yes please"),
    },
    "deny": {
        "zh": ("不用了", "不是", "算了", "先不要"),
        "en": ("no", "nope", "not now", "no thanks"),
    },
    "check_balance": {
        "zh": ("我还欠多少钱", "查一下欠款", "现在要还多少", "帮我看下还差多少", "逾期了多少钱"),
        "en": ("how much do i owe", "what's my balance", "how much is overdue?", "check balance"),
    },
    "check_due_date": {
        "zh": ("下次什么时候还", "这个月几号还款", "还款日是哪天"),
        "en": ("when is my next payment", "when's the due date", "what day do i need to pay"),
    },
    "payment_history": {
        "zh": ("我上次还的钱到账没", "看下还款记录", "查一下我还过哪些"),
        "en": ("show my payments", "did my last payment go through?", "payment history pls"),
    },
    "make_payment": {
        "zh": ("我要还款", "给我个还款链接", "怎么还钱", "现在就还", "发个链接我还一下"),
        "en": ("i want to pay", "send me the payment link", "how do i pay", "pay now"),
    },
    "promise_to_pay": {
        "zh": (
            "{date}还{amount}",
            "我{date}能还{amount}块",
            "{date}之前还你们{amount}",
            "发工资了就还，{date}吧，先还{amount}",
        ),
        "en": (
            "i can pay {amount} on {date}",
            "will pay {amount} by {date}",
            "{date}, {amount} ok?",
            "let me pay {amount} {date}",
        ),
    },
    "request_installment": {
        "zh": ("能分期吗", "可以分几期还吗", "一次还不上 想分期", "分6期行不行"),
        "en": ("can i pay in installments", "can i split it into 6 months", "installment plan?"),
    },
    "request_extension": {
        "zh": ("能不能晚几天还", "可以延期吗", "宽限几天行吗"),
        "en": ("can i get more time", "can you extend the due date", "need a few more days"),
    },
    "request_settlement": {
        "zh": ("罚息能免吗", "能不能少还点", "只还本金可以吗"),
        "en": (
            "can you waive the late fee",
            "can i settle for less",
            "any discount if i pay today",
        ),
    },
    "report_hardship": {
        "zh": ("我失业了 现在真没钱", "最近住院了 还不上", "生意黄了 手头很紧", "公司欠薪两个月了"),
        "en": (
            "i lost my job",
            "i'm in hospital, can't pay now",
            "my business is struggling",
            "got laid off last month",
        ),
    },
    "dispute_debt": {
        "zh": ("这个金额不对吧", "我没借过这么多", "这个费用怎么来的 不认", "这笔不是我借的"),
        "en": (
            "this amount is wrong",
            "i never took this loan",
            "that fee is not right",
            "i dispute this charge",
        ),
    },
    "already_paid": {
        "zh": ("我昨天已经还了", "钱早就转过去了", "已经还款了啊 怎么还显示逾期"),
        "en": ("i already paid", "paid yesterday already", "i transferred it last week"),
    },
    "request_human": {
        "zh": ("转人工", "我要找人工客服", "有没有真人", "人工"),
        "en": ("talk to a person", "human please", "can i speak to someone", "agent"),
    },
    "complaint": {
        "zh": ("你们催收天天打电话 太烦了", "我要投诉", "态度太差了"),
        "en": ("your collectors keep calling me", "i want to complain", "this is harassment"),
    },
    "distress": {
        "zh": ("压力太大了 真的撑不下去了",),
        "en": ("i can't cope with this anymore",),
    },
    "stop_contact": {
        "zh": ("退订", "别再发了", "TD"),
        "en": ("STOP", "stop", "stop messaging me"),
    },
    "ask_fees": {
        "zh": ("为什么多了这么多钱", "罚息怎么算的", "利息是多少"),
        "en": (
            "why did my balance go up",
            "how is the late fee calculated",
            "what's the interest rate",
        ),
    },
    "ask_consequences": {
        "zh": ("不还会上征信吗", "会被起诉吗", "逾期有什么后果"),
        "en": ("will this affect my credit", "will you sue me", "what happens if i don't pay"),
    },
    "bot_challenge": {
        "zh": ("你是机器人吗", "是真人吗"),
        "en": ("are you a bot", "am i talking to a robot?"),
    },
    "scam_concern": {
        "zh": ("你们是骗子吧", "怎么证明你们是正规的"),
        "en": ("is this a scam", "how do i know this is legit"),
    },
    "out_of_scope": {
        "zh": ("今天天气怎么样", "你们招人吗"),
        "en": ("what's the weather", "do you sell phones"),
    },
    "change_language": {
        "zh": ("说中文", "中文"),
        "en": ("english please", "can you speak english"),
    },
}

# Read as nlu_fallback or with low confidence: mixed language, typos, fragments, voice-to-text.
MISREAD: dict[str, tuple[str, ...]] = {
    "zh": (
        "那个 就是上次那个事",
        "嗯嗯嗯",
        "咋整",
        "我老婆说她帮我弄了",
        "这个月先这样",
        "？？？",
        "你们那边能不能搞一下",
        "还款那个 我看不懂",
        "钱转错卡了怎么办",
        "我换手机号了 收不到验证码",
        "明天吧 不对 后天",
        "能不能先还一部分 剩下的下个月",
        "app打不开",
        "我人在外地",
    ),
    "en": (
        "umm",
        "the thing from last time",
        "wat",
        "my wife said she sorted it",
        "can u do smth about it",
        "??",
        "i dont get the link thing",
        "sent money to wrong acct",
        "changed my number, no otp",
        "tmr or maybe the day after",
        "pay half now rest next month?",
        "app wont open",
        "im overseas rn",
    ),
}

# What operations labelled some misread lines as (MessageLabel), by the line's text.
LABELS: dict[str, str] = {
    "那个 就是上次那个事": "out_of_scope",
    "我老婆说她帮我弄了": "already_paid",
    "钱转错卡了怎么办": "already_paid",
    "我换手机号了 收不到验证码": "update_contact",
    "能不能先还一部分 剩下的下个月": "request_installment",
    "明天吧 不对 后天": "inform",
    "my wife said she sorted it": "already_paid",
    "sent money to wrong acct": "already_paid",
    "changed my number, no otp": "update_contact",
    "pay half now rest next month?": "request_installment",
    "tmr or maybe the day after": "inform",
}

BOT: dict[str, dict[str, tuple[str, ...]]] = {
    "welcome": {
        "zh": ("您好，已确认您的身份。可以帮您查欠款、还款、办理分期或延期。",),
        "en": (
            "Hi, you're verified. I can show your balance, send a payment link, or set up a plan.",
        ),
    },
    "greet": {
        "zh": ("您好！请问有什么可以帮您？",),
        "en": ("Hello! How can I help?",),
    },
    "goodbye": {"zh": ("好的，再见！",), "en": ("Goodbye!",)},
    "thank": {
        "zh": ("不客气，有需要随时找我。",),
        "en": ("You're welcome. I'm here if you need me.",),
    },
    "check_balance": {
        "zh": ("借款 {loan} 目前逾期 {dpd} 天，应还 {amount} {cur}（含本金、利息和罚息）。",),
        "en": (
            "Loan {loan} is {dpd} days past due; {amount} {cur} is due now (principal, interest and charges).",
        ),
    },
    "check_due_date": {
        "zh": ("借款 {loan} 下一期还款日是 {date}，金额 {amount} {cur}。",),
        "en": ("Your next installment on {loan} is {amount} {cur}, due {date}.",),
    },
    "payment_history": {
        "zh": ("最近一笔还款已入账，详情可在还款记录中查看。",),
        "en": ("Your most recent payment has been received and posted.",),
    },
    "request_installment": {
        "zh": ("借款 {loan} 可以申请 3/6 期分期，需先付首期。要看具体方案吗？",),
        "en": (
            "Loan {loan} can move to a 3 or 6 month plan with a down payment. Want to see the offers?",
        ),
    },
    "request_extension": {
        "zh": ("可以为您延期 15 天，需支付一笔延期费。需要办理吗？",),
        "en": ("I can extend your due date by 15 days for a small fee. Shall I?",),
    },
    "request_settlement": {
        "zh": ("目前可以为您减免部分罚息，一次性结清即可。需要看方案吗？",),
        "en": ("If you settle in one payment, part of the penalty can be waived. See the offer?",),
    },
    "report_hardship": {
        "zh": ("很抱歉听到这个情况。我们可以暂停催收一段时间，也可以帮您转人工商量方案。",),
        "en": (
            "I'm sorry to hear that. We can pause reminders for a while, or a colleague can talk through options.",
        ),
    },
    "dispute_debt": {
        "zh": ("已记录您的异议，相关催收先暂停，客服会尽快核实。",),
        "en": ("I've recorded your dispute and paused collection on it; a colleague will check.",),
    },
    "already_paid": {
        "zh": ("我这边查到最近一笔还款，可能还在入账中。如仍有问题请发交易流水号。",),
        "en": (
            "I can see a recent payment; it may still be posting. Send the reference if something looks off.",
        ),
    },
    "handoff": {
        "zh": ("正在为您转接人工客服，请稍候。",),
        "en": ("Connecting you to a colleague, one moment please.",),
    },
    "stop_contact": {
        "zh": ("已为您退订还款提醒，我们不会再主动发送消息。",),
        "en": ("Done: you won't get any more reminders from us.",),
    },
    "ask_fees": {
        "zh": ("逾期后按日收取罚息（每日万分之五），按时还款不会产生罚息。",),
        "en": ("Late payment adds penalty interest per day overdue; paying on time avoids it.",),
    },
    "ask_consequences": {
        "zh": ("逾期记录可能会报送征信。尽早还款或申请分期可以减少影响。",),
        "en": (
            "Late payments may be reported to credit bureaus. Paying soon or agreeing a plan limits that.",
        ),
    },
    "bot_challenge": {
        "zh": ("我是智能助手。需要人工可以发送 /human。",),
        "en": ("I'm an automated assistant. Type /human for a person.",),
    },
    "scam_concern": {
        "zh": ("请通过官方 App 或客服热线核实。我们不会索要密码或完整卡号。",),
        "en": (
            "Check us through the official app or hotline. We never ask for passwords or full card numbers.",
        ),
    },
    "out_of_scope": {
        "zh": ("这个我帮不上忙。我可以帮您查欠款、还款或办理分期。",),
        "en": ("I can't help with that. I can help with your balance, payments and plans.",),
    },
    "change_language": {"zh": ("好的，我们用中文。",), "en": ("Sure, English it is.",)},
    "fallback": {
        "zh": ("不好意思，我没太明白。您可以换个说法，或发送 /human 转人工。",),
        "en": ("Sorry, I didn't get that. Try saying it another way, or type /human.",),
    },
    "distress": {
        "zh": (
            "听起来您现在很难受。我们已暂停所有催收，马上请同事联系您。如有紧急危险请拨打 120 或当地心理援助热线。",
        ),
        "en": (
            "I'm sorry you're going through this. We've paused all collection and a colleague will be with you now. If you're in danger, call your local emergency number.",
        ),
    },
    "confirm_promise": {
        "zh": ("确认一下：{date} 前还款 {amount} {cur}，对吗？",),
        "en": ("To confirm: {amount} {cur} by {date}, right?",),
    },
}

COLLECTOR: dict[str, tuple[str, ...]] = {
    "zh": (
        "您好，我看到您的情况了，我们一起想办法。",
        "这边可以先帮您申请暂停催收两周。",
        "您方便的话先还一部分，剩下的我们再商量。",
        "已经帮您核实过了，款项确实已到账，系统稍后更新。",
        "明白，我记录下来了，后续有专人跟进。",
        "好的，那就按您说的日期，我帮您登记。",
        "还有其他问题吗？没有的话我先转回智能助手。",
    ),
    "en": (
        "Hi, I've read through your chat, let's sort this out.",
        "I can put collection on hold for two weeks while we look at it.",
        "Could you pay part of it now? We can plan the rest.",
        "I've checked and your payment did arrive; it will show shortly.",
        "Understood, I've noted it and a colleague will follow up.",
        "OK, I'll record that date for you.",
        "Anything else? If not I'll pass you back to the assistant.",
    ),
}

BORROWER_TO_COLLECTOR: dict[str, tuple[str, ...]] = {
    "zh": ("好的", "谢谢你", "那我月底前还", "能不能再少一点", "行 就这样", "嗯 明白了"),
    "en": ("ok", "thanks", "i can do end of month", "can it be less?", "alright", "got it"),
}

CLOSE_NOTES = (
    "explained the balance; borrower will pay",
    "promise recorded",
    "hardship: hold agreed, follow up in 2 weeks",
    "payment traced, posted",
    "complaint noted, passed to team lead",
    "dispute checked: amount correct, explained",
    "borrower left",
)

STAFF_NOTES: dict[str, tuple[str, ...]] = {
    "zh": ("借款人失业，建议分期", "已核实还款到账", "借款人情绪激动，注意沟通方式"),
    "en": (
        "lost job, suggest installment plan",
        "payment traced and posted",
        "upset about calls, keep it gentle",
    ),
}
