"""The library a new install starts with: METRICS.md's perspectives, measures and KPIs.

Plain data, read by the data migration `0002_default_library`.
"""

PERSPECTIVES = [
    # code, name, name_zh, question, question_zh
    ("financial", "Financial", "财务", "How do we satisfy the shareholders?", "如何满足股东？"),
    ("customer", "Customer", "客户", "How do customers see us?", "客户如何看待我们？"),
    ("internal_process", "Internal process", "内部流程", "What must we excel at?", "我们必须擅长什么？"),
    ("learning_growth", "Learning and growth", "学习与发展", "Can we keep improving and creating value?", "我们能否持续改进并创造价值？"),
]

MEASURES = [
    # code, name, name_zh, description, description_zh
    ("contacts_offered", "Contacts offered", "进线量", "Contacts that reached the queue.", "进入队列的接触量。"),
    ("contacts_handled", "Contacts handled", "处理量", "Contacts answered and handled.", "已接通并处理的接触量。"),
    ("answered_in_sl", "Answered within service level", "服务水平内接通量", "Contacts answered within the service-level threshold (20 s).", "在服务水平阈值（20秒）内接通的接触量。"),
    ("abandoned", "Abandoned", "放弃量", "Contacts abandoned before answer.", "接通前放弃的接触量。"),
    ("handle_seconds", "Handle time (s)", "处理时长（秒）", "Talk + hold + after-contact work, seconds.", "通话、保持与话后处理时间之和，单位为秒。"),
    ("first_contact_resolved", "Resolved at first contact", "一次解决量", "Handled contacts resolved without transfer to the back office or a call-back.", "未转后台、无需回呼即解决的已处理接触量。"),
    ("csat_responses", "CSAT responses", "满意度调查回复数", "Customer survey answers.", "客户满意度调查的回复数。"),
    ("csat_satisfied", "CSAT satisfied", "满意回复数", "Customer survey answers rating 4 or 5 of 5.", "客户满意度调查中评分为4或5分（满分5分）的回复数。"),
    ("qa_evaluations", "QA evaluations", "质检次数", "Quality evaluations.", "质检次数。"),
    ("qa_points", "QA points", "质检得分", "Points scored in quality evaluations.", "质检中获得的分数。"),
    ("qa_max_points", "QA maximum points", "质检满分", "Points available in quality evaluations.", "质检中可获得的总分。"),
    ("qa_fatal_errors", "QA fatal errors", "致命错误数", "Evaluations with a fatal error.", "出现致命错误的质检次数。"),
    ("scheduled_minutes", "Scheduled minutes", "排班分钟数", "Minutes scheduled.", "排班的分钟数。"),
    ("adherent_minutes", "Adherent minutes", "遵守排班分钟数", "Minutes worked as scheduled.", "按排班工作的分钟数。"),
    ("training_assigned", "Training assigned", "分配培训项数", "Training items assigned.", "分配的培训项数。"),
    ("training_completed", "Training completed", "完成培训项数", "Training items completed.", "完成的培训项数。"),
    ("esat_responses", "ESAT responses", "员工满意度回复数", "Employee-satisfaction survey answers.", "员工满意度调查的回复数。"),
    ("esat_satisfied", "ESAT satisfied", "员工满意回复数", "Employee-satisfaction answers rating 4 or 5 of 5.", "员工满意度调查中评分为4或5分（满分5分）的回复数。"),
    ("sales_opportunities", "Sales opportunities", "销售机会数", "Contacts with a sales opportunity.", "存在销售机会的接触量。"),
    ("sales_closed", "Sales closed", "成交数", "Sales closed.", "成交的销售数。"),
    ("cost", "Cost", "运营成本", "Operating cost in the center's currency.", "以中心所用货币计的运营成本。"),
]

# The kind of each default measure (METRICS.md "Plausible values"); the others are counts.
MEASURE_KINDS = {
    "handle_seconds": "seconds",
    "scheduled_minutes": "minutes",
    "adherent_minutes": "minutes",
    "cost": "money",
    "qa_points": "points",
    "qa_max_points": "points",
}

KPIS = [
    # code, perspective, formula, unit, direction, baseline, typical, excellent, weight,
    # name, name_zh, definition, definition_zh
    ("cost_per_contact", "financial", "cost / contacts_handled", "currency", "lower", 6.0, 5.0, 4.0, 50,
     "Cost per contact", "单次接触成本",
     "Operating cost divided by the contacts handled.", "运营成本除以处理的接触量。"),
    ("conversion_rate", "financial", "100 × sales_closed / sales_opportunities", "%", "higher", 8, 12, 18, 50,
     "Sales conversion rate", "销售转化率",
     "Sales closed as a share of sales opportunities.", "成交数占销售机会数的比例。"),
    ("service_level", "customer", "100 × answered_in_sl / contacts_offered", "%", "higher", 70, 80, 90, 25,
     "Service level", "服务水平",
     "Contacts answered within 20 seconds as a share of contacts offered.", "20秒内接通的接触量占进线量的比例。"),
    ("abandon_rate", "customer", "100 × abandoned / contacts_offered", "%", "lower", 8, 5, 2, 25,
     "Abandon rate", "放弃率",
     "Contacts abandoned before answer as a share of contacts offered.", "接通前放弃的接触量占进线量的比例。"),
    ("fcr", "customer", "100 × first_contact_resolved / contacts_handled", "%", "higher", 65, 72, 80, 25,
     "First-contact resolution", "一次解决率",
     "Contacts resolved without transfer to the back office or a call-back, over contacts handled.",
     "未转后台、无需回呼即解决的接触量占处理量的比例。"),
    ("csat", "customer", "100 × csat_satisfied / csat_responses", "%", "higher", 75, 85, 92, 25,
     "Customer satisfaction", "客户满意度",
     "Survey answers rating 4 or 5 of 5 as a share of all answers.", "评分为4或5分（满分5分）的回复占全部回复的比例。"),
    ("aht", "internal_process", "handle_seconds / contacts_handled", "s", "lower", 420, 360, 300, 25,
     "Average handle time", "平均处理时长",
     "Talk, hold and after-contact work per contact handled, in seconds.", "每个处理接触的通话、保持和话后处理时间（秒）。"),
    ("qa_score", "internal_process", "100 × qa_points / qa_max_points", "%", "higher", 80, 88, 95, 25,
     "Quality score", "质检得分率",
     "Quality-evaluation points scored as a share of the points available.", "质检得分占满分的比例。"),
    ("fatal_error_rate", "internal_process", "100 × qa_fatal_errors / qa_evaluations", "%", "lower", 3.0, 1.5, 0.5, 25,
     "Fatal error rate", "致命错误率",
     "Evaluations with a fatal error as a share of evaluations.", "出现致命错误的质检次数占质检次数的比例。"),
    ("adherence", "internal_process", "100 × adherent_minutes / scheduled_minutes", "%", "higher", 85, 90, 95, 25,
     "Schedule adherence", "排班遵守率",
     "Minutes worked as scheduled as a share of scheduled minutes.", "按排班工作的分钟数占排班分钟数的比例。"),
    ("training_completion", "learning_growth", "100 × training_completed / training_assigned", "%", "higher", 80, 90, 98, 50,
     "Training completion", "培训完成率",
     "Training items completed as a share of items assigned.", "完成的培训项占分配培训项的比例。"),
    ("esat", "learning_growth", "100 × esat_satisfied / esat_responses", "%", "higher", 60, 70, 80, 50,
     "Employee satisfaction", "员工满意度",
     "Employee-survey answers rating 4 or 5 of 5 as a share of all answers.", "评分为4或5分的员工调查回复占全部回复的比例。"),
]
