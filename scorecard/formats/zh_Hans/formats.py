"""Simplified Chinese: a form's dates are written ISO first.

A date field's widget writes its value in the first input format, and Django's zh-Hans list starts with
"2026/10/01": a browser's <input type="date"> accepts only "2026-10-01" and showed such a field empty, so a
Chinese user's prefilled period and due date vanished. "2026/10/01" is still read when typed.
"""

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日 %H:%M",
]
