"""The raw material of the demo workspace: names, places, services and what people say.

Plain data only. Phone numbers come from the ranges Ofcom (and its European counterparts)
reserve for drama, so no demo number rings a real phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenure.domain.agreements import AgreementKind, BillingPeriod

# --- the business ------------------------------------------------------------------------------

WORKSPACE_NAME = "Northwind Accounting"

#: (given name, family name, role) of the staff; the first is the owner.
STAFF: tuple[tuple[str, str, str], ...] = (
    ("Eleanor", "Whitfield", "owner"),
    ("Rajesh", "Patel", "admin"),
    ("Chloe", "Davies", "member"),
    ("Tom", "Gallagher", "viewer"),
)

# --- places ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    name: str
    region: str
    postcodes: tuple[str, ...]
    #: E.164 prefix of a reserved (fictional) range; three more digits complete a number.
    phone_prefix: str
    country: str = "United Kingdom"
    timezone: str | None = None


UK_CITIES: tuple[City, ...] = (
    City("London", "Greater London", ("EC1V", "SE1", "N1", "E8", "W1T", "SW11"), "+442079460"),
    City("Manchester", "Greater Manchester", ("M1", "M4", "M15"), "+441614960"),
    City("Birmingham", "West Midlands", ("B1", "B3", "B15"), "+441214960"),
    City("Leeds", "West Yorkshire", ("LS1", "LS6", "LS11"), "+441134960"),
    City("Sheffield", "South Yorkshire", ("S1", "S3", "S11"), "+441144960"),
    City("Bristol", "Bristol", ("BS1", "BS2", "BS8"), "+441174960"),
    City("Reading", "Berkshire", ("RG1", "RG4"), "+441184960"),
    City("Edinburgh", "City of Edinburgh", ("EH1", "EH3", "EH6"), "+441314960"),
    City("Glasgow", "Glasgow City", ("G1", "G2", "G12"), "+441414960"),
    City("Liverpool", "Merseyside", ("L1", "L3", "L8"), "+441514960"),
    City("Newcastle upon Tyne", "Tyne and Wear", ("NE1", "NE2"), "+441914980"),
    City("Cardiff", "Cardiff", ("CF10", "CF11", "CF24"), "+442920180"),
    City("Brighton", "East Sussex", ("BN1", "BN2"), "+441632960"),
    City("Oxford", "Oxfordshire", ("OX1", "OX2", "OX4"), "+441632960"),
    City("Cambridge", "Cambridgeshire", ("CB1", "CB2", "CB4"), "+441632960"),
    City("York", "North Yorkshire", ("YO1", "YO10"), "+441632960"),
)

EU_CITIES: tuple[City, ...] = (
    City(
        "Dublin", "County Dublin", ("D02", "D04", "D08"), "+353209101", "Ireland", "Europe/Dublin"
    ),
    City("Paris", "Île-de-France", ("75003", "75011"), "+33199001", "France", "Europe/Paris"),
    City("Berlin", "Berlin", ("10115", "10999"), "+493023125", "Germany", "Europe/Berlin"),
    City(
        "Amsterdam",
        "North Holland",
        ("1012", "1017"),
        "+31207001",
        "Netherlands",
        "Europe/Amsterdam",
    ),
    City(
        "Madrid", "Community of Madrid", ("28004", "28010"), "+34917001", "Spain", "Europe/Madrid"
    ),
)

#: Reserved UK mobile range (07700 900000 to 900999).
MOBILE_PREFIX = "+447700900"

STREETS: tuple[str, ...] = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Lane",
    "Victoria Road",
    "Park Avenue",
    "Queen Street",
    "King's Road",
    "Bridge Street",
    "Market Place",
    "Albion Street",
    "Castle Street",
    "Canal Side",
    "Northgate",
    "Orchard Close",
    "Chapel Walk",
    "Granby Row",
    "Wellington Terrace",
)

BUSINESS_ADDRESSES: tuple[str, ...] = (
    "Unit {n}, Riverside Business Park",
    "{n} {street}",
    "Suite {n}, The Old Mill",
    "{n} {street}, First Floor",
    "Unit {n}, Canal Wharf Workshops",
    "The Exchange, {n} {street}",
)

POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# --- organizations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str


COMPANIES: tuple[Company, ...] = (
    Company("Harrow & Finch Architects", "harrowfinch.co.uk", "architecture"),
    Company("Blackthorn Bakery Ltd", "blackthornbakery.co.uk", "hospitality"),
    Company("Calder Valley Joinery", "caldervalleyjoinery.co.uk", "construction"),
    Company("Kestrel IT Services", "kestrel-it.co.uk", "technology"),
    Company("Marlow Dental Practice", "marlowdental.co.uk", "healthcare"),
    Company("Quayside Coffee Roasters", "quaysidecoffee.co.uk", "hospitality"),
    Company("Pennine Plumbing & Heating", "pennineplumbing.co.uk", "trades"),
    Company("Ashdown Physiotherapy", "ashdownphysio.co.uk", "healthcare"),
    Company("Brightwater Digital Ltd", "brightwaterdigital.com", "technology"),
    Company("Oakfield Veterinary Surgery", "oakfieldvets.co.uk", "healthcare"),
    Company("The Copper Kettle Tearoom", "copperkettletearoom.co.uk", "hospitality"),
    Company("Thornbury Electrical Contractors", "thornburyelectrical.co.uk", "trades"),
    Company("Juniper Lane Florists", "juniperlaneflowers.co.uk", "retail"),
    Company("Severn Logistics Ltd", "severnlogistics.co.uk", "logistics"),
    Company("Redbrick Property Management", "redbrickpm.co.uk", "property"),
    Company("Fennel & Sage Catering", "fennelandsage.co.uk", "hospitality"),
    Company("Northgate Opticians", "northgateopticians.co.uk", "healthcare"),
    Company("Moorland Outdoor Gear", "moorlandoutdoor.co.uk", "retail"),
    Company("Castlegate Law LLP", "castlegatelaw.co.uk", "professional services"),
    Company("Pixel Forge Studios", "pixelforge.studio", "technology"),
    Company("Willow Tree Nursery School", "willowtreenursery.org.uk", "education"),
    Company("Hartley & Sons Builders", "hartleyandsons.co.uk", "construction"),
    Company("Greenway Landscapes", "greenwaylandscapes.co.uk", "trades"),
    Company("Lumen Lighting Design", "lumenlighting.co.uk", "design"),
    Company("Brook Street Gallery", "brookstreetgallery.co.uk", "retail"),
    Company("Saltmarsh Brewing Co", "saltmarshbrewing.co.uk", "hospitality"),
    Company("Everly Bridal Boutique", "everlybridal.co.uk", "retail"),
    Company("Keystone Recruitment", "keystonerecruit.co.uk", "professional services"),
    Company("Highfield Care Homes", "highfieldcare.co.uk", "healthcare"),
    Company("Wren & Co Interiors", "wrenandco.co.uk", "design"),
    Company("Ironbridge Engineering Ltd", "ironbridge-eng.co.uk", "manufacturing"),
    Company("Meadowbank Dairy", "meadowbankdairy.co.uk", "food production"),
    Company("Cobalt Marketing Agency", "cobaltmarketing.co.uk", "marketing"),
    Company("Riverside Community Trust", "riversidetrust.org.uk", "charity"),
    Company("Sterling Car Repairs", "sterlingcarrepairs.co.uk", "trades"),
    Company("Foxglove Yoga Studio", "foxgloveyoga.co.uk", "wellbeing"),
    Company("Tidewater Sailing School", "tidewatersailing.co.uk", "leisure"),
    Company("Arden Print & Design", "ardenprint.co.uk", "design"),
    Company("Beacon Hill Vineyard", "beaconhillvineyard.co.uk", "food production"),
    Company("Granite Security Systems", "granitesecurity.co.uk", "technology"),
    Company("Halcyon Hair & Beauty", "halcyonhair.co.uk", "wellbeing"),
    Company("Larkspur Publishing", "larkspurbooks.co.uk", "media"),
)

JOB_TITLES: tuple[str, ...] = (
    "Managing Director",
    "Director",
    "Finance Director",
    "Founder",
    "Office Manager",
    "Bookkeeper",
    "Operations Manager",
    "Practice Manager",
    "Payroll Administrator",
    "Company Secretary",
    "Financial Controller",
    "Partner",
    "Head of Finance",
    "General Manager",
)

# --- people ------------------------------------------------------------------------------------

GIVEN_NAMES: tuple[str, ...] = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Charlie", "Grace",
    "Thomas", "Freya", "James", "Lily", "William", "Evie", "Henry", "Poppy", "Alfie", "Sophie",
    "Samuel", "Emily", "Joshua", "Ella", "Daniel", "Hannah", "Matthew", "Charlotte", "Benjamin",
    "Lucy", "Edward", "Rosie", "Arthur", "Imogen", "Rory", "Eleanor", "Callum", "Niamh", "Owen",
    "Megan", "Rhys", "Bethan", "Hamish", "Eilidh", "Priya", "Arjun", "Aisha", "Imran", "Zara",
    "Yusuf", "Fatima", "Tariq", "Mei", "Kwame", "Ngozi", "Tomasz", "Katarzyna", "Dylan", "Martha",
    "Fraser", "Catriona", "Seren", "Gareth", "Siobhan", "Declan", "Harriet", "Rupert", "Jasmine",
)  # fmt: skip

FAMILY_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Hughes", "Edwards", "Lewis", "Harris", "Turner", "Cooper", "Hill", "Ward", "Morris",
    "Moore", "Clark", "Baker", "Harrison", "Morgan", "Patel", "Khan", "Ahmed", "Singh", "Shah",
    "Campbell", "MacDonald", "Stewart", "Murray", "Fraser", "O'Brien", "Kelly", "Byrne",
    "Pritchard", "Ashworth", "Fenwick", "Holloway", "Lockwood", "Pemberton", "Sutcliffe",
    "Whitaker", "Okafor",
    "Mensah", "Nowak", "Kowalski", "Chen", "Nguyen", "Barker", "Fletcher", "Hargreaves", "Quinn",
)  # fmt: skip

#: (given, family, city name) of clients and contacts abroad.
EUROPEANS: tuple[tuple[str, str, str], ...] = (
    ("Aoife", "Brennan", "Dublin"),
    ("Ciarán", "Doyle", "Dublin"),
    ("Camille", "Lefèvre", "Paris"),
    ("Julien", "Moreau", "Paris"),
    ("Lukas", "Schneider", "Berlin"),
    ("Annika", "Vogel", "Berlin"),
    ("Daan", "de Vries", "Amsterdam"),
    ("Sanne", "Bakker", "Amsterdam"),
    ("Lucía", "Fernández", "Madrid"),
    ("Javier", "Romero", "Madrid"),
)

PERSONAL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "outlook.com",
    "hotmail.co.uk",
    "btinternet.com",
    "yahoo.co.uk",
    "icloud.com",
    "sky.com",
    "proton.me",
)

PERSON_NOTES: tuple[str, ...] = (
    "Prefers email to calls; replies in the evenings.",
    "Has a rental flat in addition to the day job.",
    "Met at the chamber of commerce breakfast.",
    "Works part-time; available Tuesdays to Thursdays.",
    "Likes a short summary first, detail on request.",
    "",
    "",
    "",
)

ORG_NOTES: tuple[str, ...] = (
    "Year end 31 March. Uses Xero.",
    "Year end 31 December. Uses QuickBooks.",
    "Year end 30 June. Paper receipts, scanned monthly.",
    "VAT registered, flat-rate scheme. Uses FreeAgent.",
    "Year end 31 August. Two directors, both shareholders.",
    "Family business, second generation. Year end 5 April.",
)

# --- services ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    title: str
    kind: AgreementKind
    period: BillingPeriod
    #: Price range in whole pounds; values are rounded to £5.
    low: int
    high: int
    tags: tuple[str, ...] = ()
    #: For fixed-term work: how many days it runs (engagements, one-offs, contracts).
    term_days: tuple[int, int] | None = None


SUB = AgreementKind.SUBSCRIPTION
MONTHLY = BillingPeriod.MONTHLY
QUARTERLY = BillingPeriod.QUARTERLY
YEARLY = BillingPeriod.YEARLY
ONE_OFF = BillingPeriod.ONE_OFF

#: What an organization signs up for first.
ORG_PRIMARY: tuple[Offer, ...] = (
    Offer("Monthly bookkeeping", SUB, MONTHLY, 180, 650),
    Offer("Monthly bookkeeping", SUB, MONTHLY, 180, 650),
    Offer("Annual accounts and corporation tax return", SUB, YEARLY, 950, 3600, ("tax",)),
    Offer("Annual accounts and corporation tax return", SUB, YEARLY, 950, 3600, ("tax",)),
    Offer("Quarterly management accounts", SUB, QUARTERLY, 450, 1500),
    Offer("Virtual finance director", SUB, MONTHLY, 1200, 3200, ("retainer",)),
)

#: Added once an organization is a client.
ORG_EXTRAS: tuple[Offer, ...] = (
    Offer("Payroll bureau", SUB, MONTHLY, 60, 420, ("payroll",)),
    Offer("Payroll bureau", SUB, MONTHLY, 60, 420, ("payroll",)),
    Offer("VAT returns", SUB, QUARTERLY, 180, 450, ("tax",)),
    Offer("R&D tax credit claim", AgreementKind.ONE_OFF, ONE_OFF, 1500, 6000, ("tax",), (30, 110)),
    Offer(
        "Xero migration and clean-up", AgreementKind.ENGAGEMENT, ONE_OFF, 900, 2500, (), (20, 75)
    ),
    Offer(
        "Cash-flow forecast and bank pack",
        AgreementKind.ENGAGEMENT,
        ONE_OFF,
        750,
        2000,
        (),
        (14, 45),
    ),
    Offer("Year-end stock-take support", AgreementKind.ENGAGEMENT, ONE_OFF, 400, 1200, (), (7, 30)),
)

#: Fixed-term work whose completion ends the relationship (reason ``agreement_ended``).
ORG_FIXED_TERM: tuple[Offer, ...] = (
    Offer("Interim finance support", AgreementKind.ENGAGEMENT, MONTHLY, 1500, 3800, (), (60, 240)),
    Offer(
        "Outsourced finance function",
        AgreementKind.CONTRACT,
        MONTHLY,
        1800,
        4500,
        ("retainer",),
        (180, 400),
    ),
    Offer(
        "Grant application and audit pack",
        AgreementKind.ENGAGEMENT,
        ONE_OFF,
        1200,
        3500,
        (),
        (45, 120),
    ),
)

PERSON_PRIMARY: tuple[Offer, ...] = (
    Offer("Self-assessment tax return", SUB, YEARLY, 250, 650, ("tax",)),
    Offer("Self-assessment tax return", SUB, YEARLY, 250, 650, ("tax",)),
    Offer("Sole-trader bookkeeping", SUB, MONTHLY, 75, 220),
    Offer("Landlord accounts and tax return", SUB, YEARLY, 400, 950, ("tax",)),
    Offer("Personal tax planning", SUB, QUARTERLY, 300, 900, ("retainer", "tax")),
)

PERSON_FIXED_TERM: tuple[Offer, ...] = (
    Offer(
        "Capital gains tax computation",
        AgreementKind.ONE_OFF,
        ONE_OFF,
        350,
        1200,
        ("tax",),
        (20, 60),
    ),
    Offer(
        "Probate and estate accounts", AgreementKind.ENGAGEMENT, ONE_OFF, 1200, 3500, (), (60, 200)
    ),
    Offer(
        "Company formation and VAT registration",
        AgreementKind.ONE_OFF,
        ONE_OFF,
        250,
        600,
        (),
        (10, 40),
    ),
    Offer("Mortgage income reference", AgreementKind.ONE_OFF, ONE_OFF, 95, 250, (), (5, 20)),
)

PERSON_EXTRAS: tuple[Offer, ...] = (
    Offer(
        "Capital gains tax computation",
        AgreementKind.ONE_OFF,
        ONE_OFF,
        350,
        1200,
        ("tax",),
        (20, 60),
    ),
    Offer("Mortgage income reference", AgreementKind.ONE_OFF, ONE_OFF, 95, 250, (), (5, 20)),
)

#: What an upgraded monthly bookkeeping becomes.
UPGRADE_TITLE = "Full-service bookkeeping and payroll"

CANCEL_NOTES: tuple[str, ...] = (
    "Declined: chose another firm",
    "Decided to stay with their current accountant",
    "Budget on hold until next year",
    "No reply after three follow-ups",
    "Went with a cheaper online service",
)

# --- what people say ---------------------------------------------------------------------------

#: (channel, direction, subject, body). Placeholders: {name} {me} {service} {fee} {month}
#: {quarter} {year} {next_year} {tax_year} {topic} {place} {rival}.
Template = tuple[str, str, str, str]

PROSPECT: tuple[Template, ...] = (
    ("call", "inbound", "Enquiry about {service}",
     "{name} called asking about help with {service}. Sent our fee guide afterwards."),
    ("email", "outbound", "Fee proposal: {service}",
     "Hi {name},\n\nAs promised, our proposal for {service} is attached ({fee}). "
     "Happy to walk you through it.\n\n{me}"),
    ("meeting", "outbound", "Discovery meeting",
     "Went through their current set-up, year end and software. Good fit; proposal to follow."),
    ("email", "inbound", "Re: Fee proposal",
     "Thanks, we're reviewing it and will come back to you next week."),
    ("call", "outbound", "Follow-up on proposal",
     "Left a voicemail; will try again on Thursday."),
)  # fmt: skip

ONBOARDING: tuple[Template, ...] = (
    ("email", "outbound", "Welcome to Northwind Accounting",
     "Hi {name},\n\nWelcome aboard! Attached are the engagement letter, our onboarding "
     "checklist and the client portal details.\n\n{me}"),
    ("email", "inbound", "ID documents for AML checks",
     "Passport and proof of address attached, as requested."),
    ("meeting", "outbound", "Onboarding meeting",
     "Agreed deadlines, how documents reach us and who to contact for what."),
    ("note", "internal", "HMRC agent authorisation requested",
     "Authorisation code posted by HMRC; chase in ten days if it has not arrived."),
    ("message", "inbound", "Software access",
     "I've added you as an adviser on Xero. Let me know if the invite doesn't arrive."),
    ("call", "outbound", "Professional clearance",
     "Spoke to the previous accountant; handover files expected within two weeks."),
)  # fmt: skip

#: The ongoing work, for anyone.
ONGOING: tuple[Template, ...] = (
    ("email", "inbound", "Receipts for {month}",
     "Attached are this month's receipts and the bank statement."),
    ("call", "inbound", "Question about {topic}",
     "{name} asked about {topic}. Explained the rules and confirmed by email."),
    ("visit", "inbound", "Dropped off paperwork",
     "{name} brought in the paper records for the year end."),
    ("note", "internal", "Chased missing bank statements",
     "Second reminder sent; the deadline is at risk if they don't arrive this week."),
    ("email", "inbound", "Invoice query",
     "The latest invoice looks higher than usual. Could you explain the extra hours?"),
    ("note", "internal", "Happy client",
     "{name} said they would recommend us to a friend. Ask for a review."),
    ("email", "outbound", "Tax payment reminder",
     "A reminder that the next tax payment is due on the 31st. The amount is in the portal."),
    ("call", "inbound", "HMRC letter",
     "{name} received a letter from HMRC; asked them to forward it and we'll deal with it."),
)  # fmt: skip

ONGOING_ORG: tuple[Template, ...] = (
    ("email", "outbound", "VAT return {quarter} ready for approval",
     "Hi {name},\n\nThe VAT return for {quarter} is ready. Please approve it by Friday so we "
     "can file on time.\n\n{me}"),
    ("meeting", "outbound", "Quarterly review",
     "Reviewed the {quarter} numbers: revenue up, margins steady. Actions: chase two overdue "
     "debtors and review pricing."),
    ("visit", "outbound", "Visit to go through the records",
     "Went through the records on site and met the new office manager."),
    ("email", "outbound", "Year-end accounts {year}: draft",
     "Draft accounts attached, with our questions highlighted."),
    ("message", "inbound", "Quick question",
     "Can the new laptop go through the business? Thanks!"),
    ("call", "outbound", "Budget planning for {next_year}",
     "Talked through next year's budget and cash flow; sending a draft forecast."),
    ("email", "inbound", "Corporation tax payment",
     "Paid the corporation tax today; could you confirm HMRC has it?"),
)  # fmt: skip

ONGOING_PERSON: tuple[Template, ...] = (
    ("call", "outbound", "Self-assessment {tax_year} reminder",
     "Reminded {name} about the 31 January deadline; documents promised by mid-December."),
    ("email", "inbound", "P60 and bank interest {tax_year}",
     "Here are my P60 and the interest certificates for {tax_year}."),
    ("email", "outbound", "Your {tax_year} tax return is ready",
     "Hi {name},\n\nYour return for {tax_year} is ready to sign. Please check the figures and "
     "reply to approve.\n\n{me}"),
    ("message", "inbound", "Payment on account",
     "Do I need to make a payment on account in July this year?"),
    ("meeting", "outbound", "Annual tax planning meeting",
     "Went through pension contributions, ISA allowance and gift aid for the year ahead."),
)  # fmt: skip

ONGOING_PAYROLL: tuple[Template, ...] = (
    ("email", "inbound", "Payroll changes for {month}",
     "One new starter from the 1st and one leaver. Details attached."),
    ("email", "outbound", "Payslips and P32 for {month}",
     "Payslips and the P32 summary for {month} are attached; PAYE is due on the 22nd."),
)  # fmt: skip

TOPICS: tuple[str, ...] = (
    "mileage claims",
    "dividends or salary",
    "a late-filing penalty",
    "pension contributions",
    "buying a company car",
    "invoicing an EU customer",
    "Making Tax Digital",
    "changing the year end",
    "capital allowances on new equipment",
    "working from home expenses",
)

#: Why a relationship ended, as the client said it: reason -> (channel, direction, subject, body).
ENDINGS: dict[str, Template] = {
    "price": ("email", "inbound", "Notice",
              "We've found a cheaper option and will move at the end of the month. Thanks for "
              "everything."),
    "service_quality": ("email", "inbound", "Ending our engagement",
                        "The last return was filed late and we've lost confidence. Please treat "
                        "this as our notice."),
    "competitor": ("call", "inbound", "Moving to another firm",
                   "{name} is moving to {rival}, who also offer payroll. Asked for a handover."),
    "moved": ("email", "inbound", "We're relocating",
              "We're moving to {place} and will use a local firm there. Thank you for your help."),
    "no_longer_needed": ("email", "inbound", "Winding down",
                         "We're closing the business, so we won't need the service any more."),
    "unresponsive": ("note", "internal", "Closing the file",
                     "No reply to five emails and three calls since {month}; closing the file."),
    "completed": ("email", "inbound", "All done, thank you",
                  "Everything is sorted; we don't need anything further for now."),
    "other": ("call", "inbound", "Change of circumstances",
              "{name} explained a change of circumstances; will be in touch if they need us."),
    "agreement_ended": ("email", "outbound", "Engagement complete",
                        "That wraps up the engagement. Final invoice attached; thank you for "
                        "working with us."),
}  # fmt: skip

AFTER_END: tuple[Template, ...] = (
    ("call", "outbound", "Exit call", "Asked for feedback; left the door open."),
    ("email", "outbound", "Handover to the new accountant",
     "Sent the professional clearance information to their new accountant."),
    ("email", "outbound", "Checking in",
     "Hi {name},\n\nIt's been a while; I hope all is well. Let us know if we can help with "
     "anything.\n\n{me}"),
    ("message", "inbound", "Copy of last year's accounts",
     "Could you resend the final version of last year's accounts?"),
)  # fmt: skip

REACTIVATION: tuple[Template, ...] = (
    ("call", "inbound", "Getting back in touch",
     "{name} called: the other provider didn't work out and they would like to come back."),
    ("email", "outbound", "Welcome back",
     "Great to be working together again. The updated engagement letter is attached."),
)  # fmt: skip

CONTACT_ONLY: tuple[Template, ...] = (
    ("email", "inbound", "Re: Budget summary",
     "Thanks for the budget summary, very useful."),
    ("call", "inbound", "Query about {topic}",
     "{name} asked about {topic}; pointed them to our guide."),
    ("meeting", "outbound", "Coffee at the chamber of commerce breakfast",
     "Runs a small business; may need help with payroll later this year."),
    ("email", "inbound", "Purchase ledger for {month}",
     "Please find the purchase ledger for {month} attached."),
    ("message", "outbound", "Invitation to our tax seminar",
     "Invited {name} to the spring tax seminar."),
    ("email", "outbound", "Introduction",
     "Lovely to meet you. Here are my details in case you need anything."),
)  # fmt: skip

RIVALS: tuple[str, ...] = (
    "Sterling & Mace Accountants",
    "an online accountancy service",
    "a firm their new investor uses",
    "Brightside Bookkeeping",
)

MOVE_PLACES: tuple[str, ...] = ("Scotland", "Spain", "Cornwall", "Canada", "the Lake District")

EXIT_NOTES: dict[str, str] = {
    "price": "Fee increase was the deciding factor.",
    "service_quality": "Missed VAT deadline in the last quarter.",
    "competitor": "Moved to a firm offering payroll in one package.",
    "moved": "Relocating; wants a local firm.",
    "no_longer_needed": "Business closed.",
    "unresponsive": "No reply for three months.",
    "completed": "Work done, nothing further needed.",
    "other": "Change of circumstances.",
}
