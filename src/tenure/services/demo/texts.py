"""The words of the demo's present (``present.py``): catalog, cases, knowledge, promises."""

from __future__ import annotations

#: (name, description, minutes, price in pence or None)
CATALOG: tuple[tuple[str, str, int, int | None], ...] = (
    (
        "Monthly bookkeeping review",
        "Reconcile the month, review the ledgers with the client.",
        60,
        12000,
    ),
    ("Payroll run", "Process the payroll, payslips and RTI submission.", 45, 6500),
    ("Management accounts meeting", "Walk through the monthly management accounts.", 90, 18000),
    ("Monthly check-in call", "A short call about receipts, questions and deadlines.", 30, None),
    ("Receipts and records review", "Sort and check receipts and records.", 45, 5500),
    ("Tax planning session", "Plan the tax year ahead: allowances, pensions, timing.", 60, 15000),
    ("Quarterly VAT return", "Prepare and file the VAT return.", 90, 20000),
    (
        "Year-end accounts",
        "Prepare the statutory accounts and the corporation tax return.",
        180,
        None,
    ),
)

DELIVERY_OUTCOMES: tuple[str, ...] = (
    "All reconciled; nothing outstanding.",
    "Done. Two receipts missing, asked the client for them.",
    "Completed and sent to the client for approval.",
    "Done; flagged a late supplier invoice.",
    "Completed on time.",
    "Done. Client asked about switching banks: follow up next month.",
)

#: (subject, description, first answer)
CASES: tuple[tuple[str, str, str], ...] = (
    (
        "HMRC letter about a penalty",
        "Client received a late filing penalty notice.",
        "We have the letter; the return was filed on time, we are appealing the penalty.",
    ),
    (
        "Cannot log in to the client portal",
        "Password reset email never arrives.",
        "We have reset the portal account; a new invitation is on its way.",
    ),
    (
        "Payslip shows the wrong tax code",
        "An employee's payslip uses 1257L instead of K-code.",
        "Thanks: we are checking the code with HMRC and will rerun the payslip.",
    ),
    (
        "Invoice amount looks wrong",
        "Last month's invoice is higher than agreed.",
        "You are right, an extra payroll run was billed twice; a credit note follows.",
    ),
    (
        "Bank feed stopped syncing",
        "No transactions imported since last week.",
        "The bank needed the connection renewed; please approve the request we sent.",
    ),
    (
        "Question about the VAT flat rate scheme",
        "Would the flat rate scheme be cheaper?",
        "We ran the numbers: it would cost more this year; details in the attached note.",
    ),
    (
        "Missing P60 for last year",
        "Employee asked for a copy of their P60.",
        "We have reissued the P60 and emailed it to the employee.",
    ),
    (
        "Change of registered address",
        "Company has moved offices.",
        "We have updated Companies House and HMRC with the new address.",
    ),
)

#: (kind, text); {name} is the client's first name.
KNOWLEDGE: tuple[tuple[str, str], ...] = (
    ("preference", "Prefers a phone call to email; best before 10:00."),
    ("preference", "Wants everything by email with a short summary at the top."),
    ("expectation", "Expects the self-assessment return filed by the end of December."),
    ("fact", "{name} has rental income from one flat in Leeds."),
    ("fact", "Pays into a private pension; claim higher-rate relief."),
    ("do_not", "Do not call on Fridays: works away from home."),
    ("expectation", "Wants a reminder two weeks before every payment on account."),
)
KNOWLEDGE_ORG: tuple[tuple[str, str], ...] = (
    ("preference", "Send management accounts to the finance director, copy the MD."),
    (
        "expectation",
        "Payroll must be approved by the 25th; staff are paid on the last working day.",
    ),
    ("fact", "Year end is 31 March; VAT quarters end Mar/Jun/Sep/Dec."),
    ("fact", "Uses Xero; bank feeds from two accounts."),
    ("do_not", "Do not email payslips to the shared inbox."),
    ("preference", "Quarterly review meetings on site, not video."),
)

PROMISES: tuple[str, ...] = (
    "Send the draft accounts for review",
    "Check whether the van qualifies for the annual investment allowance",
    "Call back about the pension contribution limit",
    "Send the payment on account reminder",
    "Share a template for expense claims",
    "Confirm the new direct debit amount",
)
