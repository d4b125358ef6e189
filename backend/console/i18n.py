"""The console's words in English and Chinese; each user reads it in their own language.
Pure. Every key has both languages (a test checks)."""

from __future__ import annotations

from collections.abc import Callable

from backend.risk.features import BUCKET_FEATURES, BUCKETS

LANGUAGES = ("en", "zh")

CATALOG: dict[str, tuple[str, str]] = {
    # key: (English, 中文)
    "app": ("Collector console", "催收工作台"),
    "nav.inbox": ("Inbox", "待接入"),
    "nav.approvals": ("Approvals", "审批"),
    "nav.operations": ("Operations", "运营"),
    "nav.users": ("Users", "用户"),
    "nav.audit": ("Audit log", "审计日志"),
    "nav.account": ("Account", "账户"),
    "logout": ("Log out", "退出"),
    "switch_language": ("中文", "English"),
    "role.collector": ("collector", "催收员"),
    "role.supervisor": ("supervisor", "主管"),
    "role.operations": ("operations", "运营"),
    "role.admin": ("admin", "管理员"),
    # log-in
    "login.title": ("Log in", "登录"),
    "login.username": ("Username", "用户名"),
    "login.password": ("Password", "密码"),
    "login.submit": ("Log in", "登录"),
    "login.wrong": (
        "Wrong username or password. After {failures} wrong passwords in a row, an account "
        "refuses log-ins from your address for {minutes} minutes.",
        "用户名或密码错误。连续输错 {failures} 次后，"
        "该账户将在 {minutes} 分钟内拒绝来自您地址的登录。",
    ),
    "login.throttled": (
        "Too many log-in attempts from your address: try again in {minutes} min.",
        "您的地址登录尝试次数过多，请 {minutes} 分钟后再试。",
    ),
    "login.expired": ("The form expired: please log in again.", "表单已过期，请重新登录。"),
    "logged_out": ("You have logged out.", "您已退出登录。"),
    # inbox
    "inbox.title": ("Handoff inbox", "转人工队列"),
    "inbox.waiting": ("Waiting", "等待接入"),
    "inbox.mine": ("My chats", "我的会话"),
    "inbox.taken_all": ("Taken by collectors", "处理中的会话"),
    "inbox.closed": ("Recently closed", "最近结束"),
    "inbox.empty": ("No one is waiting.", "暂无等待的会话。"),
    "inbox.none": ("None.", "无。"),
    "inbox.taken_elsewhere": (
        "that chat was taken by someone else, or closed, before you.",
        "该会话已被他人接入或已结束。",
    ),
    "inbox.live": ("Updates live", "实时更新"),
    "inbox.sla": (
        "Highlighted: waiting over {minutes} min (SLA).",
        "高亮：等待超过 {minutes} 分钟（SLA）。",
    ),
    "col.priority": ("Priority", "优先级"),
    "col.reason": ("Reason", "原因"),
    "col.borrower": ("Borrower", "借款人"),
    "col.language": ("Language", "语言"),
    "col.channel": ("Channel", "渠道"),
    "col.bucket": ("DPD bucket", "逾期阶段"),
    "col.overdue": ("Overdue", "逾期金额"),
    "col.waiting": ("Waiting", "等待时长"),
    "col.taken_by": ("Collector", "处理人"),
    "col.action": ("", ""),
    "take": ("Take", "接入"),
    "open": ("Open", "打开"),
    "unverified": ("not verified", "未验证"),
    "over_sla": ("over SLA", "超时"),
    "priority.urgent": ("urgent", "紧急"),
    "priority.high": ("high", "高"),
    "priority.normal": ("normal", "普通"),
    "reason.borrower_request": ("asked for a person", "要求人工"),
    "reason.complaint": ("complaint", "投诉"),
    "reason.distress": ("distress", "情绪危机"),
    "reason.dispute": ("dispute", "争议"),
    "reason.misunderstood": ("bot did not understand", "机器人未理解"),
    "reason.broken_promises": ("broken promises", "多次违约承诺"),
    "reason.backend_unavailable": ("system unavailable", "系统不可用"),
    "reason.other": ("other", "其他"),
    "lang.zh": ("Chinese", "中文"),
    "lang.en": ("English", "英文"),
    "lang.none": ("unknown", "未知"),
    "bucket.current": ("current", "未逾期"),
    # chat
    "chat.title": ("Chat {id}", "会话 {id}"),
    "chat.transcript": ("Transcript", "聊天记录"),
    "chat.reply": ("Reply to the borrower", "回复借款人"),
    "chat.send": ("Send", "发送"),
    "chat.status.waiting": ("waiting for a collector", "等待接入"),
    "chat.status.taken": ("with {who}", "由 {who} 处理"),
    "chat.status.closed": ("closed: back with the bot", "已结束：已转回机器人"),
    "chat.read_only": (
        "You are reading this chat; {who} has it. Take it over with a transfer to reply.",
        "您正在查看此会话，当前由 {who} 处理。如需回复，请先转给自己。",
    ),
    "chat.wa_closed": (
        "The borrower has not written on WhatsApp for 24 hours: WhatsApp now carries only an "
        "approved template. Send it to ask them to write back; then you can reply.",
        "借款人已超过24小时未在WhatsApp发消息：WhatsApp现在只允许发送已审核的模板消息。"
        "请先发送模板请对方回复，之后即可回复。",
    ),
    "chat.wa_send_template": ("Send the WhatsApp template", "发送WhatsApp模板消息"),
    "chat.take_first": ("Take the chat to reply.", "接入会话后才能回复。"),
    "sender.borrower": ("Borrower", "借款人"),
    "sender.bot": ("Bot", "机器人"),
    "sender.collector": ("Collector", "催收员"),
    "sender.system": ("System", "系统"),
    "intent": ("intent", "意图"),
    "chat.unverified": (
        "This chat has not proven it is the borrower: no loan details may be shared.",
        "此会话尚未完成身份验证：不得透露任何借款信息。",
    ),
    # loan panel
    "panel.borrower": ("Borrower", "借款人"),
    "panel.phone": ("Phone", "手机"),
    "panel.contact_preference": ("Contact only", "仅在此时联系"),
    "panel.id_last4": ("ID last 4", "证件后四位"),
    "panel.loans": ("Loans", "借款"),
    "panel.loan": ("Loan {ref}", "借款 {ref}"),
    "panel.paid_off": ("paid off", "已结清"),
    "panel.dpd": ("{dpd} days past due", "逾期 {dpd} 天"),
    "panel.breakdown": ("Balance", "余额明细"),
    "panel.principal": ("Principal outstanding", "未还本金"),
    "panel.interest": ("Interest due", "应还利息"),
    "panel.fees": ("Fees", "费用"),
    "panel.penalty": ("Penalty interest", "罚息"),
    "panel.accrued": ("Interest accrued, not yet due", "已计未到期利息"),
    "panel.credit": ("Credit", "溢缴款"),
    "panel.total": ("Total outstanding", "未还总额"),
    "panel.overdue": ("Overdue", "逾期金额"),
    "panel.due_now": ("Due now", "当前应还"),
    "panel.payoff": ("Payoff today", "今日结清金额"),
    "panel.next_due": ("Next due", "下期应还"),
    "panel.schedule": ("Schedule", "还款计划"),
    "panel.payments": ("Payments", "还款记录"),
    "panel.promises": ("Promises to pay", "承诺还款"),
    "panel.arrangements": ("Arrangements", "还款安排"),
    "panel.cases": ("Disputes and cases", "争议与工单"),
    "panel.notes": ("Notes", "备注"),
    "panel.approval_pending": (
        "Settlement waiting for a supervisor: {settles} ({discount} off)",
        "减免结清待主管审批：共还 {settles}（减免 {discount}）",
    ),
    "panel.history": ("{n} earlier chats with a person", "此前人工会话 {n} 次"),
    "col.seq": ("#", "期"),
    "col.due_date": ("Due", "到期日"),
    "col.owed": ("Owed", "应还"),
    "col.paid": ("Paid", "已还"),
    "col.outstanding": ("Outstanding", "未还"),
    "col.date": ("Date", "日期"),
    "col.amount": ("Amount", "金额"),
    "col.reference": ("Reference", "流水号"),
    "col.status": ("Status", "状态"),
    "col.kind": ("Kind", "类型"),
    "col.by": ("By", "记录人"),
    "late": ("late", "逾期"),
    "settled": ("paid", "已还清"),
    "none": ("none", "无"),
    # actions
    "act.payment_link": ("Send a payment link", "发送还款链接"),
    "act.amount": ("Amount (blank: what is due)", "金额（留空为当前应还）"),
    "act.loan": ("Loan", "借款"),
    "act.offers": ("Plan offers", "还款方案"),
    "act.present_offers": ("Send these offers to the borrower", "把这些方案发给借款人"),
    "act.accept_offer": ("Accept for the borrower", "代借款人接受"),
    "act.no_offers": ("No offers for this loan today:", "此借款今日无可用方案："),
    "act.promise": ("Record a promise to pay", "记录承诺还款"),
    "act.promise_date": ("Pay by", "还款日期"),
    "act.record": ("Record", "记录"),
    "act.case": ("Open a dispute or hardship record", "登记争议或困难"),
    "act.case_kind": ("Kind", "类型"),
    "act.details": ("Details", "详情"),
    "act.hold": ("Pause reminders while this is open (hardship)", "处理期间暂停提醒（困难）"),
    "act.open_case": ("Open", "登记"),
    "act.any_loan": ("all loans", "全部借款"),
    "act.note": ("Add a note", "添加备注"),
    "act.save": ("Save", "保存"),
    "act.transfer": ("Transfer to a colleague", "转给同事"),
    "act.transfer_to": ("To", "转给"),
    "act.transfer_submit": ("Transfer", "转交"),
    "act.take_over": ("Take over this chat", "接管此会话"),
    "act.close": ("Close and hand back to the bot", "结束并转回机器人"),
    "act.close_note": ("Closing note", "结束备注"),
    "act.close_submit": ("Close", "结束"),
    "plan.installment": ("installment plan", "分期还款"),
    "plan.extension": ("extension", "展期"),
    "plan.settlement": ("settlement", "减免结清"),
    "plan.payments": ("{n} payment(s) from {first}", "共 {n} 期，首期 {first}"),
    "plan.discount": ("{amount} off", "减免 {amount}"),
    "plan.fee": ("fee {amount}", "费用 {amount}"),
    "plan.needs_approval": ("needs a supervisor", "需主管审批"),
    "plan.sized": ("fitted to what the borrower pays", "按借款人还款能力定期数"),
    # Why the first offer is first (backend/plans/order.py, FIRST_BECAUSE).
    "plan.first_because.fits_payments": (
        "First: its payments (at most {largest}) fit the borrower's median monthly payment of "
        "{median} over {months} months, and it costs the least of those that do.",
        "排第一：每期最多 {largest}，符合借款人近 {months} 个月每月还款中位数 {median}，"
        "且在相符方案中费用最低。",
    ),
    "plan.first_because.kept_promises": (
        "First: the borrower kept {kept} promise(s), so a plan a little above their median "
        "monthly payment of {median} comes first (at most {largest}).",
        "排第一：借款人已兑现 {kept} 次还款承诺，可略高于其每月还款中位数 {median}"
        "（最多 {largest}）。",
    ),
    "plan.first_because.closest_to_payments": (
        "First: no offer fits the borrower's median monthly payment of {median} over {months} "
        "months; the smallest payments come first (at most {largest}).",
        "排第一：没有方案符合借款人近 {months} 个月每月还款中位数 {median}，"
        "每期最小的排在前（最多 {largest}）。",
    ),
    "plan.first_because.hardship": (
        "First: the borrower reported hardship; the smallest payments come first (at most "
        "{largest}).",
        "排第一：借款人报告了经济困难，每期最小的排在前（最多 {largest}）。",
    ),
    "plan.first_because.nothing_paid": (
        "First: nothing paid in the last {months} months; the smallest payments come first (at "
        "most {largest}).",
        "排第一：近 {months} 个月没有还款，每期最小的排在前（最多 {largest}）。",
    ),
    "status.open": ("open", "进行中"),
    "status.kept": ("kept", "已履约"),
    "status.partly_kept": ("partly kept", "部分履约"),
    "status.broken": ("broken", "已违约"),
    "status.active": ("active", "执行中"),
    "status.completed": ("completed", "已完成"),
    "status.superseded": ("superseded", "已被取代"),
    "status.not_started": ("not started", "未开始"),
    "status.in_progress": ("in progress", "处理中"),
    "status.resolved": ("resolved", "已解决"),
    "status.withdrawn": ("withdrawn", "已撤回"),
    "kind.dispute": ("dispute", "争议"),
    "kind.hardship": ("hardship", "困难"),
    "kind.complaint": ("complaint", "投诉"),
    "kind.distress": ("distress", "情绪危机"),
    "kind.opt_out": ("opt-out", "退订"),
    "kind.contact_update": ("contact update", "联系方式变更"),
    "kind.payment_trace": ("payment trace", "还款查询"),
    "done.reply": ("Sent.", "已发送。"),
    "done.template": (
        "Template sent: you can reply once the borrower writes back.",
        "模板消息已发送：借款人回复后即可回复。",
    ),
    "done.taken": ("You have the chat.", "您已接入此会话。"),
    "done.link": ("Payment link sent.", "还款链接已发送。"),
    "done.offers": ("Offers sent.", "方案已发送。"),
    "done.arrangement": (
        "Arrangement agreed; the borrower is told.",
        "还款安排已达成，已通知借款人。",
    ),
    "done.approval": ("Sent to a supervisor for approval.", "已提交主管审批。"),
    "done.promise": ("Promise recorded; the borrower is told.", "承诺已记录，已通知借款人。"),
    "done.case": ("Recorded; the borrower is told.", "已登记，已通知借款人。"),
    "done.note": ("Note saved.", "备注已保存。"),
    "done.transfer": ("Transferred.", "已转交。"),
    "done.closed": ("Closed: the bot has the chat again.", "已结束：会话已转回机器人。"),
    "done.decided": ("Decision saved; the borrower is told.", "审批结果已保存，已通知借款人。"),
    "done.user": ("Saved.", "已保存。"),
    "done.language": ("Language changed.", "语言已切换。"),
    "done.password": ("Password changed.", "密码已修改。"),
    "error": ("Not done: {message}", "未完成：{message}"),
    # approvals
    "approvals.title": ("Settlements waiting for approval", "待审批的减免结清"),
    "approvals.empty": ("Nothing is waiting.", "暂无待审批。"),
    "approvals.loan": ("Loan", "借款"),
    "approvals.settles": ("Pays in all", "共还"),
    "approvals.discount": ("Discount", "减免"),
    "approvals.parts": ("Payments", "分期数"),
    "approvals.requested": ("Requested", "申请"),
    "approvals.note": ("Note to the file", "审批备注"),
    "approvals.approve": ("Approve", "批准"),
    "approvals.reject": ("Reject", "拒绝"),
    # admin
    "users.title": ("Users", "用户"),
    "users.create": ("Create a user", "新建用户"),
    "users.display_name": ("Name", "姓名"),
    "users.role": ("Role", "角色"),
    "users.language": ("Language", "语言"),
    "users.active": ("Active", "启用"),
    "users.locked": ("an address locked out until {until}", "某地址被禁止登录至 {until}"),
    "users.last_login": ("Last log-in", "最近登录"),
    "users.unlock": ("Unlock", "解锁"),
    "users.deactivate": ("Deactivate", "停用"),
    "users.activate": ("Activate", "启用"),
    "users.set_role": ("Change role", "修改角色"),
    "users.reset_password": ("New password", "重置密码"),
    "audit.title": ("Audit log", "审计日志"),
    "audit.at": ("When", "时间"),
    "audit.actor": ("Who", "操作人"),
    "audit.action": ("Action", "操作"),
    "audit.borrower": ("Borrower", "借款人"),
    "audit.subject": ("What", "对象"),
    "audit.via": ("Through", "途径"),
    "audit.filter": ("Filter", "筛选"),
    # operations
    "ops.title": ("Policy in force", "当前策略"),
    "ops.file": ("File", "文件"),
    "ops.valid": ("valid", "有效"),
    "ops.invalid": ("invalid: {error}", "无效：{error}"),
    "ops.version": ("Running version", "运行版本"),
    "ops.through_files": (
        "The shipped policy lives in config/ as version-controlled YAML, validated when the "
        "backend starts; each file's hash below matches the file in a commit. Changes without "
        "a deploy go through the Policies page (proposed, approved, in force within seconds); "
        "the versions in force there override these files.",
        "出厂策略以纳入版本控制的 YAML 文件保存在 config/ 中，后端启动时校验；"
        "下方各文件的哈希值可与某次提交中的文件对应。无需发布的修改请在“策略”页面进行"
        "（提交、批准，几秒内生效）；那里生效的版本优先于这些文件。",
    ),
    "ops.running": (
        "Running: sha256 {sha}, loaded {at}",
        "运行中：sha256 {sha}，加载于 {at}",
    ),
    "ops.changed": (
        "changed on disk since (now {sha}): restart to apply",
        "此后磁盘上的文件已修改（现为 {sha}）：重启后生效",
    ),
    "ops.not_loaded": (
        "sha256 {sha}; not loaded by the backend (the action server reads it)",
        "sha256 {sha}；后端不加载此文件（由动作服务器读取）",
    ),
    "ops.preview": ("Preview for a loan", "按借款预览"),
    "ops.via.telegram": ("by Telegram", "通过 Telegram"),
    "ops.via.webchat": ("in the web chat", "通过网页聊天"),
    "ops.via.sms": ("by SMS", "通过短信"),
    "ops.via.none": ("no channel reaches the borrower", "没有可联系的渠道"),
    "ops.preview_explain": (
        "What the running policy does with one loan on a business date: each reminder step's "
        "message (or why it does not apply), the plan offers and the promise limits. Nothing is "
        "sent or saved; viewing it is recorded in the audit log.",
        "当前运行的策略在某个营业日对一笔借款会做什么：每个提醒步骤的消息（或不适用的原因）、还款方案和承诺还款限制。"
        "不会发送或保存任何内容；查看记录在审计日志中。",
    ),
    "ops.loan": ("Loan reference", "借款编号"),
    "ops.as_of": ("Business date", "营业日"),
    "ops.borrower_language": ("the borrower's", "借款人的语言"),
    "ops.show": ("Show", "显示"),
    "ops.no_loan": ("There is no loan {ref}.", "没有编号为 {ref} 的借款。"),
    "ops.preview_for": (
        "Loan {ref} of {name}, as of {date}, in {language}.",
        "借款 {ref}（{name}），截至 {date}，{language}。",
    ),
    "ops.reminders": ("Reminders", "还款提醒"),
    "ops.step": ("Step", "步骤"),
    "ops.reminder": ("What it would send", "将发送的内容"),
    "ops.fires": ("sent that day", "当日发送"),
    "ops.text_anyway": ("Its text for this loan", "该借款的提醒文字"),
    "ops.schedule": ("Payments", "还款计划"),
    "ops.no_offers": ("No plan offers for this loan on that date.", "此借款在该日没有可用方案。"),
    "ops.not_offered": ("Not offered:", "未提供："),
    "ops.any_plan": ("any plan", "所有方案"),
    "ops.promise_limits": ("Promise to pay limits", "承诺还款限制"),
    "ops.nothing_owed": ("Nothing is owed: no promise to take.", "无欠款，无需承诺还款。"),
    "ops.promise_dates": ("Pay by", "还款日期"),
    "ops.promise_amounts": ("Amount", "金额"),
    "ops.overdue": ("Overdue", "逾期金额"),
    "ops.promise_judged": ("Judged", "判定"),
    "ops.promise_rule": (
        "kept when {share} is paid within {grace} days after the date",
        "承诺日期后 {grace} 天内还到 {share} 即视为履约",
    ),
    "notdue.paid_off": ("The loan is paid off.", "借款已结清。"),
    "notdue.on_arrangement": (
        "The loan is on a repayment plan: the plan's own reminders (arrangement_due) apply.",
        "借款处于还款方案中：适用方案自身的提醒（arrangement_due）。",
    ),
    "notdue.already_late": (
        "The loan is already {dpd} days past due: the overdue steps apply.",
        "借款已逾期 {dpd} 天：适用逾期提醒步骤。",
    ),
    "notdue.nothing_due_on": (
        "Nothing unpaid falls due on {date}.",
        "{date} 没有到期未还的款项。",
    ),
    "notdue.not_dpd": (
        "The loan is {dpd} days past due; this step is for {days}.",
        "借款逾期 {dpd} 天；此步骤适用于逾期 {days} 天。",
    ),
    "notdue.no_open_promise": ("No open promise to pay.", "没有未到期的承诺还款。"),
    "notdue.promise_on_other_day": (
        "The open promise is for {promised}; this step is for one due {date}.",
        "未到期的承诺还款日为 {promised}；此步骤适用于 {date} 到期的承诺。",
    ),
    "notdue.not_broken_on": (
        "No promise was judged broken on {date}.",
        "{date} 没有被判定违约的承诺。",
    ),
    "risk.roll": ("Risk of rolling within 30 days: {share}%", "30 天内恶化风险：{share}%"),
    "risk.pay": ("likely to pay within 7 days: {share}%", "7 天内还款可能：{share}%"),
    "risk.because": ("mostly:", "主要因为："),
    "risk.reason.dpd.high": ("many days past due", "逾期天数多"),
    "risk.reason.dpd.low": ("few days past due", "逾期天数少"),
    "risk.reason.overdue_share.high": ("much of the balance overdue", "逾期金额占比高"),
    "risk.reason.overdue_share.low": ("little of the balance overdue", "逾期金额占比低"),
    "risk.reason.charges_share.high": ("fees and penalty piling up", "罚息和费用累积"),
    "risk.reason.charges_share.low": ("few fees and penalty", "罚息和费用少"),
    "risk.reason.paid_this_month.high": ("paid this month", "本月已还款"),
    "risk.reason.paid_this_month.low": ("nothing paid this month", "本月未还款"),
    "risk.reason.paid_share.high": ("much paid this month", "本月还款多"),
    "risk.reason.paid_share.low": ("little paid this month", "本月还款少"),
    "risk.reason.dpd_a_month_ago.high": ("late a month ago", "上月末已逾期"),
    "risk.reason.dpd_a_month_ago.low": ("on time a month ago", "上月末未逾期"),
    "risk.reason.worst_dpd_before.high": ("late in the last two months", "近两月曾逾期"),
    "risk.reason.worst_dpd_before.low": ("on time in the last two months", "近两月未逾期"),
    "risk.reason.months_on_book.high": ("an older loan", "放款时间较长"),
    "risk.reason.months_on_book.low": ("a young loan", "放款时间较短"),
    "risk.reason.term_done.high": ("late in its term", "临近到期"),
    "risk.reason.term_done.low": ("early in its term", "还款初期"),
    "risk.reason.on_plan.high": ("on a repayment plan", "在还款方案中"),
    "risk.reason.on_plan.low": ("not on a repayment plan", "不在还款方案中"),
    "risk.reason.promise_open.high": ("an open promise to pay", "有未到期的还款承诺"),
    "risk.reason.promise_open.low": ("no open promise to pay", "没有未到期的还款承诺"),
    "risk.reason.days_since_reply.high": ("no reply for a long time", "长时间未回复"),
    "risk.reason.days_since_reply.low": ("replied recently", "最近有回复"),
    "risk.reason.days_since_contact.high": ("not contacted for a long time", "长时间未联系"),
    "risk.reason.days_since_contact.low": ("contacted recently", "最近有联系"),
    "notdue.not_warned_on": (
        "Early warning did not flag the loan for {signals} on {date}.",
        "{date} 预警未因 {signals} 标记此借款。",
    ),
    "notdue.no_arrangement": (
        "No repayment plan with an unpaid installment.",
        "没有尚有未还分期的还款方案。",
    ),
    # tuning
    "nav.tuning": ("Misunderstood", "未理解消息"),
    "tuning.title": ("Messages the assistant misunderstood", "助手未理解的消息"),
    "tuning.explain": (
        "Last {days} days: fell back, low confidence, or followed within two minutes by a "
        "handoff or a rephrase. Grouped by what the assistant thought. A label is written, with "
        "phone and ID numbers masked, into nlu/data/nlu/labelled.yml for review and retraining.",
        "最近 {days} 天：回退、置信度低，或两分钟内转人工、换一种说法的消息，按助手判断的意图分组。"
        "标注会写入 nlu/data/nlu/labelled.yml（手机号和证件号已遮蔽），供审阅和重新训练。",
    ),
    "tuning.search": ("Text contains", "包含文字"),
    "tuning.empty": ("Nothing misunderstood in this period.", "此期间没有未理解的消息。"),
    "tuning.message": ("Message", "消息"),
    "tuning.confidence": ("Confidence", "置信度"),
    "tuning.why": ("Why listed", "列入原因"),
    "tuning.label": ("Right intent", "正确意图"),
    "tuning.save": ("Label", "标注"),
    "tuning.open_chat": ("conversation", "查看会话"),
    "tuning.back": ("Back to the misunderstood messages", "返回未理解消息"),
    "tuning.mark_entities": ("Mark entities", "标注实体"),
    "tuning.written_as": (
        "Written to the training data as (mark words from this text):",
        "写入训练数据的文字（请从这段文字中标注）：",
    ),
    "tuning.entity": ("Entity", "实体"),
    "tuning.no_entity": ("(no entity)", "（无实体）"),
    "tuning.words": ("exact words", "原文词语"),
    "tuning.marks_help": (
        "Up to three: the first occurrence of the words is marked, e.g. [两千五](amount). "
        "Masked personal data cannot be marked.",
        "最多三个：标注词语第一次出现的位置，例如 [两千五](amount)。已遮蔽的个人信息不能标注。",
    ),
    "why.fallback": ("fell back", "回退"),
    "why.low_confidence": ("low confidence", "置信度低"),
    "why.handoff": ("then a handoff", "随后转人工"),
    "why.rephrase": ("then rephrased", "随后换了说法"),
    "done.label": ("Labelled: written to the training data.", "已标注并写入训练数据。"),
    "nav.models": ("Models", "模型"),
    "done.train": (
        "Retraining started: this page follows its progress.",
        "已开始重新训练，本页显示进度。",
    ),
    "done.promote": (
        "Promoted: Rasa loads it within about 10 seconds, without stopping.",
        "已上线：Rasa 将在约 10 秒内加载，服务不中断。",
    ),
    "done.restore": (
        "Restored: Rasa goes back to the previous model within about 10 seconds.",
        "已恢复：Rasa 将在约 10 秒内换回之前的模型。",
    ),
    "nav.texts": ("Texts", "话术"),
    "texts.title": ("What the assistant says", "助手话术"),
    "texts.explain": (
        "Operations propose a wording with a note saying why; a supervisor or admin approves it "
        "(never their own change) and borrowers get it within seconds, with no restart. Any "
        "version that ran can be run again in one click.",
        "运营人员提出修改并说明原因；主管或管理员批准后（不能批准自己的修改），"
        "借款人几秒内即可看到新话术，无需重启。任何运行过的版本都可一键恢复。",
    ),
    "texts.running": ("Running now", "当前运行"),
    "texts.version": ("version {number}", "版本 {number}"),
    "texts.shipped": ("the shipped texts", "出厂话术"),
    "texts.export": ("Download as YAML", "下载 YAML"),
    "texts.export_one": ("YAML", "YAML"),
    "texts.import": ("Import a YAML file as a proposal", "导入 YAML 文件作为提案"),
    "texts.import_submit": ("Import", "导入"),
    "texts.note": ("Why (required)", "原因（必填）"),
    "texts.pending": ("Waiting for approval", "待批准"),
    "texts.why": ("Why", "原因"),
    "texts.entry": ("Text", "话术"),
    "texts.entry_version": ("Version", "版本"),
    "texts.before": ("Running now", "当前"),
    "texts.after": ("Proposed", "提议"),
    "texts.not_own": (
        "Your own change: another supervisor or admin approves it.",
        "这是您自己的修改，需由其他主管或管理员批准。",
    ),
    "texts.waits": ("Waits for a supervisor or admin.", "等待主管或管理员批准。"),
    "texts.entries": ("Every text", "全部话术"),
    "texts.search": ("Find a text (name or words)", "查找话术（名称或内容）"),
    "texts.search_submit": ("Find", "查找"),
    "texts.changed": ("changed", "已修改"),
    "texts.edit": ("Change", "修改"),
    "texts.history": ("Versions", "版本"),
    "texts.status": ("Status", "状态"),
    "texts.status.proposed": ("waiting", "待批准"),
    "texts.status.active": ("running", "运行中"),
    "texts.status.retired": ("ran before", "曾运行"),
    "texts.status.rejected": ("rejected", "已拒绝"),
    "texts.proposed": ("Proposed", "提出"),
    "texts.decided": ("Decided", "决定"),
    "texts.restores": ("(back to {number})", "（恢复至 {number}）"),
    "texts.rollback": ("Run this again", "恢复此版本"),
    "texts.edit_title": ("Change “{name}”", "修改“{name}”"),
    "texts.edit_explain": (
        "Figures in braces are filled in for each borrower: keep every one, add none.",
        "大括号中的数字会按借款人自动填写：请全部保留，不要新增。",
    ),
    "texts.figures": ("Figures", "数字"),
    "texts.try": ("Try a second wording on some borrowers", "对部分借款人试用另一种说法"),
    "texts.try_explain": (
        "The challenger is said to this share of verified borrowers, each always the same "
        "wording; the rest get the text above. Leave both empty to end an experiment.",
        "挑战者说法会发给该比例的已核实借款人，每人始终看到同一种说法；其余人看到上面的话术。"
        "两栏都留空即结束试验。",
    ),
    "texts.challenger": ("Challenger", "挑战者"),
    "texts.share": ("Share", "比例"),
    "texts.outcome": ("It works when the borrower", "衡量标准：借款人"),
    "texts.outcome.paid_or_promised": ("pays or promises to pay", "还款或承诺还款"),
    "texts.outcome.paid": ("pays", "还款"),
    "texts.outcome.promised": ("promises to pay", "承诺还款"),
    "texts.outcome.replied": ("replies in the chat", "在会话中回复"),
    "texts.experiments": ("Experiments", "试验"),
    "texts.experiments_def": (
        "Each text with a second wording, since it started: each borrower counted once, "
        "with the wording first said to them; converted by the experiment's outcome within the "
        "reminders' results window after it. Rates with their 95% confidence interval (Wilson); "
        "the difference is the challenger's minus the champion's (Newcombe).",
        "每个有第二种说法的话术，自试验开始：每位借款人只计一次，按其首次看到的说法；"
        "之后在提醒的结果窗口内达到试验的衡量标准即为转化。比率附 95% 置信区间（Wilson）；"
        "差值为挑战者减冠军（Newcombe）。",
    ),
    "texts.said_to": ("Said to", "覆盖人数"),
    "texts.not_said_yet": ("Not said to anyone yet.", "尚未发给任何人。"),
    "texts.preview": ("Preview with this loan", "用此借款预览"),
    "texts.both_languages": ("both languages", "两种语言"),
    "texts.previewing": (
        "As {name} would read them, with loan {ref}'s figures today (a figure the loan cannot "
        "give stays in braces). Viewing this is recorded in the audit log.",
        "按 {name} 看到的样子显示，填入借款 {ref} 今天的数字"
        "（借款无法提供的数字仍保留在大括号中）。查看记录在审计日志中。",
    ),
    "texts.verdict.no_data": ("not enough borrowers to compare", "借款人数量不足，无法比较"),
    "texts.shipped_text": ("Shipped", "出厂"),
    "texts.propose": ("Propose", "提交审批"),
    "texts.back": ("Back", "返回"),
    "done.proposed": (
        "Proposed: it runs once a supervisor approves it.",
        "已提交：主管批准后生效。",
    ),
    "done.active": ("Approved: borrowers get it within seconds.", "已批准：借款人几秒内即可看到。"),
    "done.rejected": ("Rejected.", "已拒绝。"),
    "done.rolled_back": (
        "Rolled back: borrowers get it within seconds.",
        "已恢复：借款人几秒内即可看到。",
    ),
    "nav.policies": ("Policies", "策略"),
    "policies.title": (
        "Policies: plans, promises, reminders, compliance",
        "策略：方案、承诺、提醒、合规",
    ),
    "policies.explain": (
        "Operations propose a file's new text with a note; it is checked as at start-up. A "
        "supervisor or admin approves it (compliance: an admin), never their own, and every "
        "replica and the reminders worker run it within seconds, with no restart.",
        "运营人员提交文件的新内容并说明原因，系统按启动时的规则校验。主管或管理员批准后"
        "（合规文件须由管理员批准，且不能批准自己的修改），所有实例与提醒任务几秒内生效，无需重启。",
    ),
    "policies.as_shipped": ("as shipped", "出厂版本"),
    "policies.loading": ("taking effect", "生效中"),
    "policies.preview": ("Preview it with a loan", "用一笔借款预览"),
    "policies.waits_admin": ("Waits for an admin.", "等待管理员批准。"),
    "policies.admin_decides": (
        "Compliance limits protect borrowers: only an admin approves a change.",
        "合规限制保护借款人：只有管理员可以批准修改。",
    ),
    "policies.edit_explain": (
        "Editing from the running version ({number}; 0 is the file as shipped).",
        "基于当前运行版本（{number}；0 为出厂文件）修改。",
    ),
    "policies.problems": (
        "Not proposed: the file breaks these rules.",
        "未提交：文件不符合以下规则。",
    ),
    "policies.previewing": (
        "Previewing {file} version {number} ({status}), not the policy in force.",
        "正在预览 {file} 版本 {number}（{status}），并非当前生效的策略。",
    ),
    "models.title": ("Assistant models", "助手模型"),
    "models.explain": (
        "Retrain on the training data in nlu/data (labelled messages included), compare the new"
        " model with the running one on the held-out test split, then promote it or keep the"
        " running one.",
        "用 nlu/data 中的训练数据（含已标注消息）重新训练，"
        "在预留测试集上与当前模型对比，再决定上线或保留当前模型。",
    ),
    "models.running": ("Running model", "当前模型"),
    "models.source.base": ("built by make train", "由 make train 构建"),
    "models.source.retrained": ("retrained in the console", "在控制台重新训练"),
    "models.rasa_runs_it": (
        "Rasa reports it has this model loaded (the Rasa at RASA_URL; in production the trainer,"
        " which fetches the model to run as every serving replica does).",
        "Rasa 报告已加载此模型（即 RASA_URL 所指的 Rasa；生产环境中为训练实例，"
        "它与各服务实例一样获取运行模型）。",
    ),
    "models.rasa_loading": (
        "Rasa has {loaded} loaded; it fetches this one within about 10 seconds.",
        "Rasa 当前加载的是 {loaded}；约 10 秒内会换为此模型。",
    ),
    "models.rasa_unreachable": ("Rasa could not be asked: {message}", "无法查询 Rasa：{message}"),
    "models.none": ("no model", "无模型"),
    "models.no_model": (
        "No model yet: run make train, or retrain here.",
        "尚无模型：请运行 make train，或在此重新训练。",
    ),
    "models.restore": ("Restore the previous model", "恢复之前的模型"),
    "models.restore_help": (
        "Runs again the model that ran before this one.",
        "重新使用当前模型之前运行的模型。",
    ),
    "models.retrain": ("Retrain", "重新训练"),
    "models.train": ("Retrain now", "立即重新训练"),
    "models.train_help": (
        "Trains in the background (several minutes); borrowers keep talking to the running model.",
        "在后台训练（数分钟）；借款人继续使用当前模型。",
    ),
    "models.progress": ("Progress", "进度"),
    "models.progress_help": (
        "Training time is estimated from the last run; scoring follows on the test split.",
        "训练时间按上次运行估算；之后在测试集上评分。",
    ),
    "models.interrupted": (
        "This run stopped answering (the backend restarted?): start a new one.",
        "此次训练已无响应（后台可能已重启）：请重新开始。",
    ),
    "models.stage.preparing": ("Preparing the training data", "准备训练数据"),
    "models.stage.training": ("Training", "训练中"),
    "models.stage.scoring": ("Scoring on the test split", "在测试集上评分"),
    "models.stage.ready": ("Ready", "已就绪"),
    "models.stage.failed": ("Failed", "失败"),
    "models.candidate": ("Newest model", "最新模型"),
    "models.trained_on": ("{examples} training examples", "{examples} 条训练样例"),
    "models.not_compared": (
        "Not compared yet: the running model has no scores.",
        "尚未对比：当前模型没有评分。",
    ),
    "models.not_worse": (
        "Not worse than the running model: it may be promoted.",
        "不差于当前模型，可以上线。",
    ),
    "models.worse": (
        "Worse than the running model: it cannot be promoted.",
        "比当前模型差，不能上线。",
    ),
    "models.rule": (
        "Not worse: both models read the same test messages. In each language the new model may"
        " not get significantly more of them wrong that the running one got right than the other"
        " way round (McNemar's exact test, p < 0.05; within one intent, p < 0.01), and its entity"
        " F1 may be at most 0.03 lower. A message or two either way is training noise.",
        "不差的标准：两个模型读取同一批测试消息。每种语言中，新模型“原来对、现在错”的消息不得显著多于"
        "“原来错、现在对”的消息（McNemar 精确检验，p < 0.05；单个意图内 p < 0.01），且实体 F1 "
        "最多低 0.03。一两条消息的差异属于训练噪声。",
    ),
    "models.lost": ("Now wrong", "变错"),
    "models.gained": ("Now right", "变对"),
    "models.changed": (
        "{language}: {lost} test messages now wrong that were right, {gained} now right that were"
        " wrong.",
        "{language}：{lost} 条测试消息由对变错，{gained} 条由错变对。",
    ),
    "models.language": ("Language", "语言"),
    "models.figure": ("Figure", "指标"),
    "models.fig.macro_f1": ("Intent macro-F1", "意图宏平均 F1"),
    "models.fig.entity_f1": ("Entity F1", "实体 F1"),
    "models.fig.accuracy": ("Intent accuracy", "意图准确率"),
    "models.running_col": ("Running", "当前"),
    "models.candidate_col": ("New", "新"),
    "models.per_intent": ("Per intent", "按意图"),
    "models.intent": ("Intent", "意图"),
    "models.support": ("Test examples", "测试样例"),
    "models.change": ("Change", "变化"),
    "models.promote": ("Promote to running", "上线此模型"),
    "models.promote_help": (
        "Rasa fetches it and swaps it in while it keeps serving.",
        "Rasa 将获取并切换到此模型，服务不中断。",
    ),
    "models.runs": ("Retraining runs", "训练记录"),
    "models.no_runs": ("No retraining yet.", "尚未重新训练。"),
    "models.model": ("Model", "模型"),
    "models.stage_col": ("Stage", "阶段"),
    "models.by": ("By", "操作人"),
    "models.examples": ("Examples", "样例数"),
    "models.history": ("What ran when", "模型上线记录"),
    "models.no_history": (
        "Nothing promoted yet: the model make train built runs.",
        "尚未上线新模型：运行的是 make train 构建的模型。",
    ),
    "models.action": ("Action", "操作"),
    "models.action.promote": ("promoted", "上线"),
    "models.action.restore": ("restored", "恢复"),
    "nav.conversations": ("Conversations", "会话回顾"),
    "review.title": ("Conversations", "会话回顾"),
    "review.outcome": ("Outcome", "结果"),
    "review.intent": ("Intent heard", "出现的意图"),
    "review.since": ("From", "起始日期"),
    "review.until": ("To", "截止日期"),
    "review.any": ("any", "全部"),
    "review.messages": ("Messages", "消息数"),
    "review.started": ("Started", "开始"),
    "review.last": ("Last message", "最后消息"),
    "review.empty": ("No conversation matches.", "没有符合条件的会话。"),
    "outcome.contained": ("contained by the bot", "机器人完成"),
    "outcome.handed_off": ("handed to a person", "转人工"),
    "outcome.promise": ("promise taken", "已承诺还款"),
    "outcome.paid": ("paid within 7 days", "7天内还款"),
    "conversation.title": ("Conversation {id}", "会话 {id}"),
    "conversation.mode.bot": ("with the bot", "机器人处理中"),
    "conversation.mode.human": ("with a person", "人工处理中"),
    # operations dashboard
    "nav.dashboard": ("Dashboard", "数据看板"),
    "dash.title": ("Operations dashboard", "运营数据看板"),
    "dash.period": ("Period", "期间"),
    "dash.last_days": ("last {days} days", "最近 {days} 天"),
    "dash.channel.telegram": ("Telegram", "Telegram"),
    "dash.channel.webchat": ("web chat", "网页聊天"),
    "dash.channel.whatsapp": ("WhatsApp", "WhatsApp"),
    "dash.channel.sms": ("SMS", "短信"),
    "dash.scope": (
        "{start} to {end}, days counted in {timezone}.",
        "{start} 至 {end}，按 {timezone} 时区计日。",
    ),
    "dash.no_charts": (
        "Charts are not installed (make setup copies Chart.js): every figure is in the tables.",
        "图表库未安装（make setup 会复制 Chart.js）：所有数字见下方表格。",
    ),
    "dash.by_day": ("By day", "按日明细"),
    "dash.of": ("{part} of {whole}", "{whole} 中的 {part}"),
    "dash.none": ("None in this period.", "此期间没有数据。"),
    "dash.chats.title": ("Conversations", "会话"),
    "dash.chats.def": (
        "Conversations with at least one borrower message on the day; one active on two days "
        "counts on each (the period's totals count each conversation once). Contained: no "
        "handoff was requested in it that day (totals: in the period). Handed off: a handoff "
        "was requested in it that day. Wait: from a handoff's request to a collector taking "
        "it, for the handoffs requested that day and taken: the median and the 90th percentile.",
        "当天至少有一条借款人消息的会话；跨两天活跃的会话每天各计一次（期间合计中每个会话只计一次）。"
        "机器人完成：当天会话中没有请求转人工（合计：整个期间内没有）。转人工：当天会话中请求了转人工。"
        "等待时长：当天请求且已被接入的转人工，从请求到催收员接入的时间，取中位数和第 90 百分位。",
    ),
    "dash.col.day": ("Day", "日期"),
    "dash.col.conversations": ("Conversations", "会话数"),
    "dash.col.contained": ("Contained by the bot", "机器人完成率"),
    "dash.col.handed_off": ("Handed off", "转人工率"),
    "dash.col.wait_median": ("Median wait", "等待中位数"),
    "dash.col.wait_p90": ("90th percentile wait", "等待第 90 百分位"),
    "dash.promises.title": ("Promises to pay", "承诺还款"),
    "dash.promises.def": (
        "Promise rate: of the same conversations as above, those in which a promise to pay was "
        "taken that day. Kept rate: of the promises whose date fell that day and that are "
        "decided (kept, partly kept or broken), those kept in full.",
        "承诺率：在上述同一批会话中，当天取得还款承诺的会话占比。履约率：承诺日期在当天且已有结果"
        "（履约、部分履约或违约）的承诺中，全额履约的占比。",
    ),
    "dash.col.with_promise": ("With a promise", "取得承诺"),
    "dash.col.promise_rate": ("Promise rate", "承诺率"),
    "dash.col.due": ("Promises due, decided", "到期且有结果的承诺"),
    "dash.col.kept": ("Kept", "已履约"),
    "dash.col.kept_rate": ("Kept rate", "履约率"),
    "dash.amounts.title": ("Promised and paid", "承诺金额与实还金额"),
    "dash.amounts.def": (
        "Promises made in the period, per currency: the amount promised, and what was paid "
        "towards those promises as the ledger counted it.",
        "期间内作出的承诺，按币种：承诺的金额，以及账务系统计入这些承诺的实还金额。",
    ),
    "dash.col.currency": ("Currency", "币种"),
    "dash.col.promised": ("Promised", "承诺金额"),
    "dash.col.paid": ("Paid", "实还金额"),
    "dash.col.paid_share": ("Paid of promised", "实还占比"),
    "dash.delinquency.title": (
        "Delinquency: assistant users and others",
        "逾期迁移：使用助手与未使用",
    ),
    "dash.delinquency.def": (
        "Loans past due at the start of the period and where they were at its end, for "
        "borrowers who used the assistant in the period and for those who did not. Cure rate: "
        "of those loans, the ones current at the end. Roll-forward rate: the ones in a worse "
        "bucket at the end than at the start. The groups choose themselves (no random "
        "assignment): a difference between them is not proof that the assistant caused it.",
        "期初已逾期的借款在期末所处的阶段，分为期间内使用过助手的借款人和未使用的借款人。"
        "回收率（转正常率）：这些借款中期末恢复正常的占比。恶化率：期末逾期阶段比期初更差的占比。"
        "两组并非随机分配：差异不能证明是助手造成的。",
    ),
    "dash.col.group": ("Borrowers", "借款人"),
    "dash.col.loans": ("Past due at the start", "期初逾期借款"),
    "dash.col.cured": ("Current at the end", "期末恢复正常"),
    "dash.col.cure_rate": ("Cure rate", "回收率"),
    "dash.col.rolled": ("In a worse bucket", "阶段恶化"),
    "dash.col.roll_forward_rate": ("Roll-forward rate", "恶化率"),
    "dash.group.assistant": ("used the assistant", "使用过助手"),
    "dash.group.others": ("did not", "未使用助手"),
    "dash.rolls.title": ("Bucket to bucket", "逾期阶段迁移"),
    "dash.rolls.corner": ("start \\ end", "期初 \\ 期末"),
    "dash.reminders.title": ("Reminders", "提醒"),
    "dash.reminders.def": (
        "Sent: reminders sent that day. Held: reminders for that day that a compliance rule "
        "deferred (even if they went later) or dropped, once each, by the first rule. A "
        "reminder dropped because the loan was paid is not held. Opt-outs: borrowers who opted "
        "out that day.",
        "已发送：当天发出的提醒。暂缓：当天的提醒中被合规规则推迟（即使之后已发出）或取消的，"
        "每条按第一条规则计一次；因已还款而取消的不计。退订：当天退订的借款人。",
    ),
    "dash.col.sent": ("Sent", "已发送"),
    "dash.col.held": ("Held", "暂缓"),
    "dash.col.opt_outs": ("Opt-outs", "退订"),
    "dash.col.reason": ("Reason", "原因"),
    "hold.live_handoff": ("a person had the chat", "人工处理中"),
    "hold.outside_window": ("outside contact hours", "不在联系时段"),
    # the Portfolio page (backend/console/portfolio_routes.py)
    "nav.portfolio": ("Portfolio", "资产组合"),
    "portfolio.title": ("Portfolio", "资产组合"),
    "portfolio.empty": (
        "No snapshot yet: the worker takes one after each business day, or run",
        "尚无快照：后台任务会在每个营业日结束后生成一次，也可以运行",
    ),
    "portfolio.scope": (
        "From the daily portfolio snapshots: {days} days taken, the latest of {latest}.",
        "数据来自每日资产快照：共 {days} 天，最近一次为 {latest}。",
    ),
    "portfolio.no_charts": (
        "Charts are not installed (make setup copies Chart.js): every figure is in the tables.",
        "图表库未安装（make setup 会复制 Chart.js）：所有数字见下方表格。",
    ),
    "portfolio.as_table": ("As a table", "表格"),
    "portfolio.latest": ("latest", "最新"),
    "portfolio.closed": ("closed", "已结清"),
    "portfolio.product": ("{code}: {name}", "{code}：{name}"),
    "portfolio.n_of": ("{n} of {whole}", "{whole} 笔中 {n} 笔"),
    "portfolio.of": ("{part} of {whole} loans on {day}", "{day}：{whole} 笔中的 {part} 笔"),
    "portfolio.buckets.title": ("Loans by delinquency bucket", "按逾期阶段的借款分布"),
    "portfolio.buckets.def": (
        "The snapshot of each month end, and the latest one: the open loans in each bucket of "
        "days past due, and what they owe (principal still owed, interest and fees due, "
        "penalties), per currency. Closed loans, with nothing left to pay, are in no bucket: "
        "they are counted in a column of their own.",
        "每个月末的快照以及最新一次快照：各逾期阶段中未结清的借款笔数，以及其欠款（剩余本金、"
        "已到期利息和费用、罚息），按币种分列。已结清（无任何欠款）的借款不计入任何阶段，单列一栏。",
    ),
    "portfolio.outstanding.title": (
        "Outstanding by bucket, {currency}",
        "各阶段欠款（{currency}）",
    ),
    "portfolio.col.day": ("Snapshot of", "快照日期"),
    "portfolio.col.open": ("Open loans", "未结清借款"),
    "portfolio.col.closed": ("Closed loans", "已结清借款"),
    "portfolio.col.total": ("Total", "合计"),
    "portfolio.col.loans": ("Loans", "借款数"),
    "portfolio.col.vintage": ("Vintage", "放款月份"),
    "portfolio.col.mob": ("MOB {n}", "第 {n} 月"),
    "portfolio.rolls.title": ("Roll rates, month end to month end", "月末迁移率"),
    "portfolio.rolls.def": (
        "The loans open at one month end, by their bucket then (rows), and where each is at the "
        "next month end (columns): a bucket, or closed. Each row sums to 100%; under each share, "
        "its number of loans. Loans disbursed in between are not in it. Green: to a better "
        "bucket or closed; grey: the same bucket; red: to a worse one.",
        "某月末未结清的借款按当时所处阶段分行，列为其在下一个月末所处的阶段或已结清。"
        "每行合计 100%，比例下方为借款笔数。两个月末之间新放款的借款不在其中。"
        "绿色：阶段好转或已结清；灰色：阶段不变；红色：阶段恶化。",
    ),
    "portfolio.rolls.months": ("Month ends", "月末"),
    "portfolio.rolls.pair": ("{start} to {end}", "{start} 至 {end}"),
    "portfolio.rolls.show": ("Show", "显示"),
    "portfolio.rolls.corner": ("from \\ to", "前一月末 \\ 后一月末"),
    "portfolio.rolls.better": ("better or closed", "好转或结清"),
    "portfolio.rolls.same": ("same bucket", "阶段不变"),
    "portfolio.rolls.worse": ("worse", "恶化"),
    "portfolio.rolls.none": (
        "Roll rates need the snapshots of two consecutive month ends.",
        "迁移率需要两个相邻月末的快照。",
    ),
    "portfolio.vintages.title": ("Vintage curves: 30+ days past due", "账龄曲线：逾期 30 天以上"),
    "portfolio.vintages.def": (
        "A vintage is a product's loans disbursed in one calendar month. At each month end, of "
        "the vintage's loans disbursed by then, the share more than 30 days past due (bucket "
        "31-60 or worse; a closed loan is not past due), by month on book (MOB): calendar "
        "months since the disbursement month, 0 being that month's own end.",
        "同一产品在同一自然月内放款的借款为一个批次（vintage）。在每个月末，该批次中截至当时已放款的"
        "借款里，逾期超过 30 天（31-60 天及以上阶段；已结清的不算逾期）的占比，按账龄（MOB）排列："
        "自放款月份起的自然月数，放款当月月末为 0。",
    ),
    "portfolio.vintages.chart": (
        "{product}: 30+ share by month on book",
        "{product}：各账龄逾期 30 天以上占比",
    ),
    "portfolio.vintages.none": (
        "Vintage curves need a month-end snapshot.",
        "账龄曲线需要至少一个月末快照。",
    ),
    "portfolio.series.loans": ("Loans", "借款数"),
    "portfolio.series.outstanding": ("Outstanding", "欠款"),
    "portfolio.series.share_30": ("30+ days past due", "逾期 30 天以上占比"),
    "portfolio.series.month_on_book": ("Months on book", "账龄（月）"),
    # the Warnings page (backend/console/warnings_routes.py)
    "nav.warnings": ("Warnings", "预警"),
    "warnings.title": ("Early warnings", "风险预警"),
    "warnings.empty": (
        "No warnings yet: the worker flags loans after each day's snapshot, or run",
        "暂无预警：后台任务会在每日快照之后标记有风险的借款，也可以运行",
    ),
    "warnings.none_on_day": ("No loan was flagged on {day}.", "{day} 没有被标记的借款。"),
    "warnings.none_with_signal": (
        "No loan flagged on {day} has this signal.",
        "{day} 被标记的借款中没有此信号。",
    ),
    "warnings.scope": (
        "{flagged} loans flagged on {day}, the most signals first. Figures are that day's "
        "snapshot; what was done counts from that day on.",
        "{day} 共标记 {flagged} 笔借款，信号多者在前。金额为当日快照数据；处理记录自当日起计。",
    ),
    "warnings.truncated": (
        "Showing {shown} of {matching} loans: the most signals first.",
        "共 {matching} 笔，显示其中 {shown} 笔：信号多者在前。",
    ),
    "warnings.day": ("Snapshot day", "快照日期"),
    "warnings.show": ("Show", "显示"),
    "warnings.filter": ("Filter by signal", "按信号筛选"),
    "warnings.all": ("All signals", "全部信号"),
    "warnings.col.loan": ("Loan", "借款"),
    "warnings.col.position": ("On the day", "当日状况"),
    "warnings.col.signals": ("Signals", "信号"),
    "warnings.col.done": ("Done since", "此后处理"),
    "warnings.col.follow_up": ("Follow up", "跟进"),
    "warnings.severity": ("{n} signals", "{n} 个信号"),
    "warnings.top": ("main", "首要"),
    "warnings.dpd": ("{dpd} days past due", "逾期 {dpd} 天"),
    "warnings.total": ("owes {amount}", "欠款 {amount}"),
    "warnings.overdue": ("{amount} overdue", "逾期 {amount}"),
    "warnings.no_snapshot": ("no snapshot that day", "当日无快照"),
    "warnings.nothing_done": ("Nothing yet.", "尚无处理。"),
    "warnings.done.reminder": ("Reminder {step} for {on}: {state}", "提醒 {step}（{on}）：{state}"),
    "warnings.done.promise": (
        "Promise of {on}: {amount} by {promised_date} ({status})",
        "{on} 承诺：{promised_date} 前还款 {amount}（{status}）",
    ),
    "warnings.done.handoff": (
        "Handed to a person on {on}: {reason} ({status})",
        "{on} 转人工：{reason}（{status}）",
    ),
    "warnings.done.case": ("Case of {on}: {kind} ({status})", "{on} 工单：{kind}（{status}）"),
    "warnings.handoff.waiting": ("waiting", "等待接入"),
    "warnings.handoff.taken": ("taken", "处理中"),
    "warnings.handoff.closed": ("closed", "已结束"),
    "warnings.state.planned": ("planned", "待发送"),
    "warnings.state.deferred": ("deferred", "暂缓"),
    "warnings.state.sent": ("sent", "已发送"),
    "warnings.state.dropped": ("dropped", "已取消"),
    "warnings.open_chat": ("Open the chat", "打开会话"),
    "warnings.read_chat": ("Read the chat", "查看会话"),
    "warnings.contact_record": ("Contact record", "联系记录"),
    "warnings.signal.first_payment_missed": ("First payment missed", "首期未还"),
    "warnings.signal.partial_payment": ("Partial payment", "部分还款"),
    "warnings.signal.paying_later": ("Paying later", "还款日益拖后"),
    "warnings.signal.promise_broken": ("Promise broken", "承诺未兑现"),
    "warnings.signal.arrangement_at_risk": ("Plan at risk", "还款方案有风险"),
    "warnings.signal.messages_failing": ("Messages failing", "消息发送失败"),
    "warnings.signal.unanswered": ("No reply", "未回复"),
    "warnings.signal.opted_out": ("Opted out", "已退订"),
    "warnings.signal.contact_changed": ("Contact details changing", "联系方式变更"),
    "warnings.signal.charges_jump": ("Charges jump", "费用激增"),
    "warnings.text.first_payment_missed": (
        "First installment, due {due_date}, unpaid: {dpd} days past due.",
        "首期（{due_date} 到期）未还，已逾期 {dpd} 天。",
    ),
    "warnings.text.partial_payment": (
        "Paid {paid} in the last {days} days, still {overdue} overdue.",
        "近 {days} 天已还 {paid}，仍逾期 {overdue}。",
    ),
    "warnings.text.paying_later": (
        "Paying later each month: worst days past due {worst}.",
        "每月逾期越来越久：各月最长逾期天数 {worst}。",
    ),
    "warnings.text.promise_broken": (
        "Promised {amount} by {promised_date}, not paid.",
        "承诺于 {promised_date} 前还款 {amount}，未兑现。",
    ),
    "warnings.text.arrangement_at_risk": (
        "On a repayment plan ({plan}) with {overdue} overdue.",
        "处于还款方案（{plan}）中，仍逾期 {overdue}。",
    ),
    "warnings.text.messages_failing": (
        "Messages to the borrower failing: {failed} in the last {days} days.",
        "发给借款人的消息发送失败：近 {days} 天 {failed} 条。",
    ),
    "warnings.text.unanswered": (
        "Messages unanswered: {contacts} in the last {days} days, no reply since.",
        "消息无人回复：近 {days} 天发送 {contacts} 条，至今未回复。",
    ),
    "warnings.text.opted_out": ("Opted out of contact on {on}.", "已于 {on} 退订联系。"),
    "warnings.text.contact_changed": (
        "Asked on {on} to change contact details.",
        "已于 {on} 申请变更联系方式。",
    ),
    "warnings.text.charges_jump": (
        "Fees and penalty up {charges} in {days} days.",
        "{days} 天内费用及罚息增加 {charges}。",
    ),
    "nav.compliance": ("Compliance", "合规"),
    "comp.title": ("Compliance record", "合规记录"),
    "comp.explain": (
        "Every decision on a proactive message in the period: sent, held or dropped, with the "
        "profile and jurisdiction it was decided under and each rule's verdict; and every "
        "opt-out with when it took effect. Times are UTC.",
        "期间内每条主动消息的每次决定（发送、暂缓或取消），包括适用的合规配置、司法辖区及每条规则的"
        "判定结果；以及每次退订及其生效时间。时间均为 UTC。",
    ),
    "comp.from": ("From", "从"),
    "comp.to": ("To", "到"),
    "comp.borrower": ("Borrower", "借款人"),
    "comp.show": ("Show", "查看"),
    "comp.csv": ("Download CSV", "下载 CSV"),
    "comp.totals": ("Totals", "合计"),
    "comp.total": ("All borrowers", "全部借款人"),
    "comp.sent": ("Sent", "已发送"),
    "comp.deferred": ("Deferred", "暂缓"),
    "comp.dropped": ("Dropped", "取消"),
    "comp.reasons": ("Reasons", "原因"),
    "comp.decisions": ("Decisions", "决定"),
    "comp.when": ("Decided (UTC)", "决定时间（UTC）"),
    "comp.loan": ("Loan · step", "贷款 · 步骤"),
    "comp.action": ("Decision", "决定"),
    "comp.profile": ("Profile · jurisdiction", "配置 · 辖区"),
    "comp.rules": ("Rules checked", "检查的规则"),
    "comp.opt_outs": ("Opt-outs", "退订"),
    "comp.channel": ("Channel", "渠道"),
    "comp.ended": ("Opted back in", "重新订阅"),
    "comp.none": ("Nothing in this period.", "此期间没有记录。"),
    "comp.shown": (
        "The first {n} decisions are shown; the CSV has every one.",
        "仅显示前 {n} 条决定；CSV 包含全部。",
    ),
    "comp.truncated": (
        "More decisions than one report holds: ask for a shorter period.",
        "决定数量超过单份报告上限：请缩短期间。",
    ),
    "comp.bad_period": ("The period ends before it starts.", "结束日期早于开始日期。"),
    "comp.action.send": ("sent", "已发送"),
    "comp.action.defer": ("deferred", "暂缓"),
    "comp.action.drop": ("dropped", "取消"),
    "comp.source.contract": ("contract", "合同"),
    "comp.source.phone": ("phone number", "手机号"),
    "comp.source.default": ("default", "默认"),
    "hold.rest_day": ("not a contact day", "非联系日"),
    "hold.public_holiday": ("public holiday", "法定节假日"),
    "hold.quiet_period": ("lender's quiet period", "机构暂停期"),
    "hold.preference": ("the borrower's preferred times", "借款人指定的联系时间"),
    "hold.daily_cap": ("daily limit reached", "已达每日上限"),
    "hold.weekly_cap": ("weekly limit reached", "已达每周上限"),
    "hold.opt_out": ("opted out", "已退订"),
    "hold.distress": ("distress", "情绪危机"),
    "hold.dispute": ("dispute", "争议"),
    "hold.hardship_hold": ("hardship hold", "困难暂停"),
    "hold.expired": ("too late to send", "已过期"),
    "hold.no_longer_due": ("paid or kept since: no longer due", "已还款或已履约：无需再提醒"),
    "hold.no_chat": ("no chat to send it in", "没有可发送的会话"),
    "hold.no_channel": ("no channel to reach them on", "没有可联系的渠道"),
    "hold.sms_too_long": ("SMS text too long", "短信内容过长"),
    "dash.experiments.title": ("Champion and challenger", "冠军与挑战者"),
    "dash.experiments.def": (
        "Each reminder step's champion against its challenger, and each text with a second "
        "wording (text:…, each borrower counted once). A reminder converted when the borrower "
        "paid or promised within {days} days after it; a wording, by its experiment's outcome "
        "(the same by default). Each rate has its 95% "
        "confidence interval (Wilson); the difference is the challenger's rate minus the "
        "champion's, with its 95% confidence interval: when that interval includes 0 there is "
        "no clear difference.",
        "每个提醒步骤的冠军版本与挑战者版本对比，以及每个有第二种说法的话术（text:…，每位借款人只计一次）。"
        "借款人在提醒后 {days} 天内还款或承诺还款，即计为转化；话术按其试验的衡量标准（默认相同）。"
        "每个转化率附 95% 置信区间（Wilson）；差值为挑战者转化率减冠军转化率，附 95% 置信区间："
        "区间包含 0 时即无明显差异。",
    ),
    "dash.experiments.none": (
        "No reminder step or text had a champion and a challenger in this period.",
        "此期间没有同时有冠军和挑战者的提醒步骤或话术。",
    ),
    "dash.col.arm": ("Arm", "组别"),
    "dash.col.variant": ("Variant", "版本"),
    "dash.col.converted": ("Converted", "转化"),
    "dash.col.rate_ci": ("Rate [95% CI]", "转化率 [95% 置信区间]"),
    "dash.col.difference": (
        "Difference, challenger minus champion [95% CI]",
        "差值（挑战者减冠军）[95% 置信区间]",
    ),
    "dash.arm.champion": ("champion", "冠军"),
    "dash.arm.challenger": ("challenger", "挑战者"),
    "dash.verdict.no_data": ("not enough reminders to compare", "提醒数量不足，无法比较"),
    "dash.verdict.challenger": ("the challenger converts better", "挑战者转化更好"),
    "dash.verdict.champion": ("the champion converts better", "冠军转化更好"),
    "dash.verdict.unclear": ("no clear difference", "无明显差异"),
    "dash.nlu.title": ("Understanding (NLU)", "语义理解（NLU）"),
    "dash.nlu.def": (
        "Borrower messages the NLU read. Fallbacks: those read as nlu_fallback or with a "
        "confidence below the fallback threshold ({threshold}, nlu/config.yml).",
        "NLU 识别的借款人消息。回退：识别为 nlu_fallback，或置信度低于回退阈值"
        "（{threshold}，nlu/config.yml）的消息。",
    ),
    "dash.col.messages": ("Messages", "消息数"),
    "dash.col.fallbacks": ("Fallbacks", "回退数"),
    "dash.col.fallback_rate": ("Fallback rate", "回退率"),
    "dash.corrections.title": ("Most corrected intents", "最常被纠正的意图"),
    "dash.corrections.def": (
        "Messages operations labelled, by what the assistant read and the intent they were "
        "labelled as; the ten most frequent.",
        "运营人员标注过的消息，按助手识别的意图和标注的意图统计；列出最常见的十项。",
    ),
    "dash.col.predicted": ("The assistant read", "助手识别为"),
    "dash.col.labelled": ("Labelled as", "标注为"),
    "dash.col.count": ("Messages", "消息数"),
    "dash.series.contained": ("contained", "机器人完成率"),
    "dash.series.handed_off": ("handed off", "转人工率"),
    "dash.series.wait_median": ("median wait (min)", "等待中位数（分钟）"),
    "dash.series.wait_p90": ("90th percentile wait (min)", "等待第 90 百分位（分钟）"),
    "dash.series.minutes": ("minutes", "分钟"),
    "dash.series.promise_rate": ("promise rate", "承诺率"),
    "dash.series.kept_rate": ("kept rate", "履约率"),
    "dash.series.promised": ("promised", "承诺"),
    "dash.series.paid": ("paid", "实还"),
    "dash.series.cure_rate": ("cure rate", "回收率"),
    "dash.series.roll_forward_rate": ("roll-forward rate", "恶化率"),
    "dash.series.sent": ("sent", "已发送"),
    "dash.series.opt_outs": ("opt-outs", "退订"),
    "dash.series.ci": ("95% CI", "95% 置信区间"),
    "dash.series.rate": ("rate", "转化率"),
    "dash.series.fallback_rate": ("fallback rate", "回退率"),
    "dash.series.messages": ("messages", "消息数"),
    # account
    "account.title": ("Your account", "我的账户"),
    "account.current_password": ("Current password", "当前密码"),
    "account.new_password": ("New password", "新密码"),
    "account.change_password": ("Change password", "修改密码"),
    "account.wrong_password": ("The current password is wrong.", "当前密码错误。"),
    # why a new password is refused (staff.rules.check_password)
    "password.short": (
        "a password has at least {min_length} characters.",
        "密码至少需要 {min_length} 个字符。",
    ),
    "password.username": ("a password may not contain the username.", "密码不能包含用户名。"),
    "password.repetitive": (
        "a password may not be mostly one character.",
        "密码不能大部分由同一个字符组成。",
    ),
    "password.guessable": (
        "this password is too easy to guess (a common password, word, name, date, keyboard "
        "pattern or sequence); a few unrelated words make a good one.",
        "该密码太容易被猜到（常见密码、单词、姓名、日期、键盘排列或连续字符）；"
        "几个互不相关的词组合起来就是好密码。",
    ),
    # errors
    "forbidden": ("Your role does not open this page.", "您的角色无权访问此页面。"),
    "not_found": ("Not found.", "未找到。"),
    "bad_csrf": (
        "The form expired or came from elsewhere: reload the page and try again.",
        "表单已过期或来源不明：请刷新页面后重试。",
    ),
    "bad_form": (
        "Some of what the form sent is not valid: go back, check it and send it again.",
        "表单中有内容无效：请返回检查后重新提交。",
    ),
    "back": ("Back to the console", "返回工作台"),
}
# A risk reason "in bucket X" / "not in bucket X", one pair per bucket feature.
CATALOG.update(
    {
        f"risk.reason.{feature}.{side}": (
            f"{'in' if side == 'high' else 'not in'} bucket {bucket}",
            f"{'处于' if side == 'high' else '不在'} {bucket} 阶段",
        )
        for bucket, feature in zip(BUCKETS, BUCKET_FEATURES, strict=True)
        for side in ("high", "low")
    }
)


def translator(language: str) -> Callable[..., str]:
    """`t("key", **values)` in this language (English for an unknown one)."""
    index = 1 if language == "zh" else 0

    def t(key: str, **values: object) -> str:
        pair = CATALOG.get(key)
        if pair is None:
            return key
        text = pair[index] or pair[0]
        return text.format(**values) if values else text

    return t
