"""The demo world of `manage.py seed_demo`: a fictional directory, its partners and the
shape of their traffic, as data. demo/seed.py writes it and generates the events.

Every helpline, number and address here is invented (numbers from ranges reserved for
fiction, web addresses under example.org).
"""

import uuid
from dataclasses import dataclass

from events.models import ContactMethod

# Public ids are UUIDs derived from a stable key, so they are the same on every machine.
_ID_NAMESPACE = uuid.UUID("6c1f3a52-8d0e-4b6a-9f21-7e5d4c3b2a10")


def demo_public_id(key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"throughline-demo/{key}"))


TOPICS: dict[str, str] = {
    "suicidal-thoughts": "Suicidal thoughts",
    "self-harm": "Self-harm",
    "mental-health": "Mental health",
    "domestic-violence": "Domestic violence",
    "sexual-assault": "Sexual assault",
    "child-abuse": "Child abuse",
    "young-people": "Young people",
    "lgbtq": "LGBTQ+",
    "eating-disorders": "Eating disorders",
    "substance-use": "Substance use",
    "grief": "Grief and loss",
    "veterans": "Veterans",
}


@dataclass(frozen=True)
class DemoHelpline:
    key: str
    name: str
    country: str
    timezone: str
    topics: tuple[str, ...]
    description: str = ""
    subdivision: str = ""
    phone_number: str = ""
    sms_number: str = ""
    web_chat_url: str = ""
    whatsapp_url: str = ""
    website: str = ""
    tty_number: str = ""
    reporting_form_url: str = ""
    priority: bool = False
    hourly_capacity: int | None = None
    active: bool = True
    # How often partners show it, relative to the other helplines of its country.
    reach: float = 1.0
    # Click-through multiplier from 20:00 to midnight local time: the national lines that
    # the evening rush overwhelms, so the load page has something to flag.
    evening_pull: float = 1.0
    # The key of the service that belongs with this one (partners must show both or
    # neither); written on both sides.
    paired_with: str = ""

    @property
    def public_id(self) -> str:
        return demo_public_id(self.key)

    @property
    def contact_methods(self) -> tuple[str, ...]:
        """The contact methods a user can click, by the channels the helpline has."""
        channels = {
            ContactMethod.PHONE: self.phone_number,
            ContactMethod.SMS: self.sms_number,
            ContactMethod.ONLINE_CHAT: self.web_chat_url,
            ContactMethod.WHATSAPP: self.whatsapp_url,
            ContactMethod.WEBSITE: self.website,
            ContactMethod.TTY: self.tty_number,
            ContactMethod.REPORTING_FORM: self.reporting_form_url,
        }
        return tuple(method.value for method, value in channels.items() if value)

    def model_fields(self) -> dict[str, object]:
        """The Helpline columns (all but topics), for update_or_create on public_id."""
        return {
            "name": self.name,
            "description": self.description,
            "country_code": self.country,
            "subdivision": self.subdivision,
            "timezone": self.timezone,
            "phone_number": self.phone_number,
            "sms_number": self.sms_number,
            "web_chat_url": self.web_chat_url,
            "whatsapp_url": self.whatsapp_url,
            "website": self.website,
            "tty_number": self.tty_number,
            "reporting_form_url": self.reporting_form_url,
            "is_priority": self.priority,
            "is_active": self.active,
            "hourly_capacity": self.hourly_capacity,
        }


def _site(name: str) -> str:
    return f"https://{name}.example.org"


HELPLINES: tuple[DemoHelpline, ...] = (
    # United Kingdom
    DemoHelpline(
        key="gb-listening-line",
        name="Listening Line UK",
        country="GB",
        timezone="Europe/London",
        topics=("suicidal-thoughts", "mental-health", "self-harm"),
        description="Round-the-clock listening for anyone struggling to cope.",
        phone_number="01632 960 001",
        website=_site("listeningline"),
        web_chat_url=_site("listeningline") + "/chat",
        priority=True,
        hourly_capacity=3,
        reach=3.0,
        evening_pull=2.5,
    ),
    DemoHelpline(
        key="gb-safe-harbour",
        name="Safe Harbour Domestic Abuse Line",
        country="GB",
        timezone="Europe/London",
        topics=("domestic-violence",),
        phone_number="01632 960 002",
        web_chat_url=_site("safeharbour") + "/chat",
        website=_site("safeharbour"),
        reach=1.5,
    ),
    DemoHelpline(
        key="gb-youthtalk",
        name="YouthTalk",
        country="GB",
        timezone="Europe/London",
        topics=("young-people", "mental-health", "self-harm"),
        sms_number="85258",
        web_chat_url=_site("youthtalk") + "/chat",
        website=_site("youthtalk"),
    ),
    DemoHelpline(
        key="gb-kidsafe",
        name="KidSafe Report Line",
        country="GB",
        timezone="Europe/London",
        topics=("child-abuse",),
        phone_number="01632 960 004",
        reporting_form_url=_site("kidsafe") + "/report",
        website=_site("kidsafe"),
        reach=0.6,
    ),
    DemoHelpline(
        key="gb-thistle",
        name="Thistle Support Scotland",
        country="GB",
        subdivision="GB-SCT",
        timezone="Europe/London",
        topics=("mental-health", "grief"),
        phone_number="01632 960 005",
        website=_site("thistlesupport"),
        reach=0.5,
    ),
    # United States
    DemoHelpline(
        key="us-nightwatch",
        name="Nightwatch Crisis Line",
        country="US",
        timezone="America/New_York",
        topics=("suicidal-thoughts", "mental-health"),
        description="Free, confidential crisis support, 24/7.",
        phone_number="(202) 555-0101",
        sms_number="(202) 555-0102",
        web_chat_url=_site("nightwatch") + "/chat",
        tty_number="(202) 555-0103",
        website=_site("nightwatch"),
        priority=True,
        hourly_capacity=4,
        reach=4.0,
        evening_pull=2.5,
    ),
    DemoHelpline(
        key="us-textline",
        name="Reach Out Text Line",
        country="US",
        timezone="America/Chicago",
        topics=("suicidal-thoughts", "young-people"),
        sms_number="741-555",
        whatsapp_url="https://wa.example.org/12025550110",
        website=_site("reachouttext"),
        priority=True,
        hourly_capacity=25,
        reach=2.0,
    ),
    DemoHelpline(
        key="us-veterans",
        name="Veterans Bridge",
        country="US",
        timezone="America/New_York",
        topics=("veterans", "suicidal-thoughts"),
        phone_number="(202) 555-0120",
        sms_number="(202) 555-0121",
        web_chat_url=_site("veteransbridge") + "/chat",
        website=_site("veteransbridge"),
    ),
    DemoHelpline(
        key="us-rainbow",
        name="Rainbow Youth Lifeline",
        country="US",
        timezone="America/Los_Angeles",
        subdivision="US-CA",
        topics=("lgbtq", "young-people", "suicidal-thoughts"),
        phone_number="(310) 555-0130",
        sms_number="(310) 555-0131",
        web_chat_url=_site("rainbowyouth") + "/chat",
        website=_site("rainbowyouth"),
    ),
    DemoHelpline(
        key="us-dv-hotline",
        name="Open Door Domestic Violence Hotline",
        country="US",
        timezone="America/Chicago",
        topics=("domestic-violence",),
        phone_number="(312) 555-0140",
        tty_number="(312) 555-0141",
        web_chat_url=_site("opendoor") + "/chat",
        website=_site("opendoor"),
        reach=1.5,
    ),
    DemoHelpline(
        key="us-recovery",
        name="Recovery Now Helpline",
        country="US",
        timezone="America/Denver",
        topics=("substance-use",),
        phone_number="(303) 555-0150",
        website=_site("recoverynow"),
    ),
    DemoHelpline(
        key="us-nourish",
        name="Nourish Eating Disorder Line",
        country="US",
        timezone="America/New_York",
        topics=("eating-disorders",),
        phone_number="(212) 555-0160",
        web_chat_url=_site("nourish") + "/chat",
        website=_site("nourish"),
        reach=0.6,
    ),
    DemoHelpline(
        key="us-warmline-retired",
        name="Harbor Warmline (closed)",
        country="US",
        timezone="America/Los_Angeles",
        topics=("mental-health",),
        description="Closed; kept in the directory for historical reporting.",
        phone_number="(415) 555-0170",
        active=False,
    ),
    # Canada
    DemoHelpline(
        key="ca-northern-light",
        name="Northern Light Crisis Service",
        country="CA",
        timezone="America/Toronto",
        topics=("suicidal-thoughts", "mental-health"),
        phone_number="(613) 555-0180",
        sms_number="(613) 555-0181",
        website=_site("northernlight"),
        priority=True,
        hourly_capacity=10,
        reach=2.0,
        paired_with="ca-ecoute",
    ),
    DemoHelpline(
        key="ca-ecoute",
        name="Ligne d'écoute Québec",
        country="CA",
        subdivision="CA-QC",
        timezone="America/Toronto",
        topics=("mental-health", "suicidal-thoughts"),
        phone_number="(514) 555-0190",
        web_chat_url=_site("ecoute-qc") + "/clavarder",
        website=_site("ecoute-qc"),
        # The same service in Canada's other official language: a pair.
        priority=True,
        hourly_capacity=6,
        paired_with="ca-northern-light",
    ),
    DemoHelpline(
        key="ca-youth",
        name="Maple Kids Line",
        country="CA",
        timezone="America/Vancouver",
        topics=("young-people", "child-abuse"),
        phone_number="(604) 555-0195",
        sms_number="(604) 555-0196",
        website=_site("maplekids"),
    ),
    # Australia
    DemoHelpline(
        key="au-southern-cross",
        name="Southern Cross Lifeline",
        country="AU",
        timezone="Australia/Sydney",
        topics=("suicidal-thoughts", "mental-health"),
        phone_number="02 5550 1001",
        sms_number="0491 570 156",
        web_chat_url=_site("southerncross") + "/chat",
        website=_site("southerncross"),
        priority=True,
        hourly_capacity=8,
        reach=2.5,
    ),
    DemoHelpline(
        key="au-respect",
        name="Respect at Home",
        country="AU",
        timezone="Australia/Melbourne",
        subdivision="AU-VIC",
        topics=("domestic-violence", "sexual-assault"),
        phone_number="03 5550 1002",
        web_chat_url=_site("respectathome") + "/chat",
        website=_site("respectathome"),
    ),
    DemoHelpline(
        key="au-headspace",
        name="Clear Head Youth",
        country="AU",
        timezone="Australia/Perth",
        topics=("young-people", "mental-health"),
        web_chat_url=_site("clearhead") + "/chat",
        website=_site("clearhead"),
    ),
    # New Zealand
    DemoHelpline(
        key="nz-kia-ora",
        name="Kia Ora Support Line",
        country="NZ",
        timezone="Pacific/Auckland",
        topics=("mental-health", "suicidal-thoughts"),
        phone_number="09 555 0101",
        sms_number="4357",
        website=_site("kiaorasupport"),
        priority=True,
        hourly_capacity=6,
        reach=2.0,
    ),
    DemoHelpline(
        key="nz-rainbow",
        name="Aotearoa Rainbow Line",
        country="NZ",
        timezone="Pacific/Auckland",
        topics=("lgbtq",),
        phone_number="09 555 0102",
        web_chat_url=_site("rainbowline-nz") + "/chat",
        website=_site("rainbowline-nz"),
    ),
    # Ireland
    DemoHelpline(
        key="ie-cairde",
        name="Cairde Listening Service",
        country="IE",
        timezone="Europe/Dublin",
        topics=("suicidal-thoughts", "mental-health"),
        phone_number="01 555 0101",
        sms_number="50808",
        website=_site("cairde"),
        priority=True,
        hourly_capacity=6,
        reach=2.0,
    ),
    DemoHelpline(
        key="ie-safe-home",
        name="Safe Home Ireland",
        country="IE",
        timezone="Europe/Dublin",
        topics=("domestic-violence",),
        phone_number="01 555 0102",
        website=_site("safehome-ie"),
    ),
    # Germany
    DemoHelpline(
        key="de-zuhoeren",
        name="Zuhören Telefon",
        country="DE",
        timezone="Europe/Berlin",
        topics=("suicidal-thoughts", "mental-health", "grief"),
        phone_number="030 5550 1001",
        web_chat_url=_site("zuhoeren") + "/chat",
        website=_site("zuhoeren"),
        priority=True,
        hourly_capacity=15,
        reach=2.5,
    ),
    DemoHelpline(
        key="de-jugend",
        name="Jugend Sorgentelefon",
        country="DE",
        subdivision="DE-BY",
        timezone="Europe/Berlin",
        topics=("young-people", "child-abuse"),
        phone_number="089 5550 1002",
        web_chat_url=_site("jugendsorgen") + "/chat",
        reporting_form_url=_site("jugendsorgen") + "/melden",
        website=_site("jugendsorgen"),
    ),
    DemoHelpline(
        key="de-sucht",
        name="Sucht & Hilfe Hotline",
        country="DE",
        timezone="Europe/Berlin",
        topics=("substance-use",),
        phone_number="030 5550 1003",
        website=_site("suchthilfe"),
        reach=0.6,
    ),
    # France
    DemoHelpline(
        key="fr-ecoute",
        name="SOS Écoute France",
        country="FR",
        timezone="Europe/Paris",
        topics=("suicidal-thoughts", "mental-health"),
        phone_number="01 99 00 10 01",
        web_chat_url=_site("sos-ecoute") + "/tchat",
        website=_site("sos-ecoute"),
        priority=True,
        hourly_capacity=12,
        reach=2.0,
    ),
    DemoHelpline(
        key="fr-violences",
        name="Violences Info Femmes",
        country="FR",
        timezone="Europe/Paris",
        topics=("domestic-violence", "sexual-assault"),
        phone_number="01 99 00 10 02",
        sms_number="114",
        website=_site("violences-info"),
        reporting_form_url=_site("violences-info") + "/signaler",
    ),
    # India
    DemoHelpline(
        key="in-saathi",
        name="Saathi Helpline",
        country="IN",
        timezone="Asia/Kolkata",
        topics=("suicidal-thoughts", "mental-health"),
        phone_number="+91 22 5550 1001",
        whatsapp_url="https://wa.example.org/912255501001",
        website=_site("saathi"),
        priority=True,
        hourly_capacity=20,
        reach=3.0,
    ),
    DemoHelpline(
        key="in-sakhi",
        name="Sakhi Women's Line",
        country="IN",
        subdivision="IN-MH",
        timezone="Asia/Kolkata",
        topics=("domestic-violence", "sexual-assault"),
        phone_number="+91 22 5550 1002",
        whatsapp_url="https://wa.example.org/912255501002",
        reporting_form_url=_site("sakhi") + "/report",
    ),
    DemoHelpline(
        key="in-yuva",
        name="Yuva Student Support",
        country="IN",
        timezone="Asia/Kolkata",
        topics=("young-people", "mental-health"),
        whatsapp_url="https://wa.example.org/9180555",
        web_chat_url=_site("yuva") + "/chat",
        website=_site("yuva"),
    ),
    # South Africa
    DemoHelpline(
        key="za-ubuntu",
        name="Ubuntu Crisis Line",
        country="ZA",
        timezone="Africa/Johannesburg",
        topics=("suicidal-thoughts", "mental-health"),
        phone_number="021 555 0101",
        sms_number="31393",
        whatsapp_url="https://wa.example.org/27215550101",
        website=_site("ubuntucrisis"),
        priority=True,
        hourly_capacity=8,
        reach=2.0,
    ),
    DemoHelpline(
        key="za-thuthuzela",
        name="Thuthuzela Care Line",
        country="ZA",
        timezone="Africa/Johannesburg",
        topics=("sexual-assault", "domestic-violence"),
        phone_number="021 555 0102",
        whatsapp_url="https://wa.example.org/27215550102",
    ),
    DemoHelpline(
        key="za-childline",
        name="Child Protect SA",
        country="ZA",
        timezone="Africa/Johannesburg",
        topics=("child-abuse", "young-people"),
        phone_number="021 555 0103",
        reporting_form_url=_site("childprotect-za") + "/report",
        website=_site("childprotect-za"),
    ),
)

# The id the README's curl example sends: a helpline that exists in every demo directory.
README_HELPLINE_ID = demo_public_id("gb-listening-line")


@dataclass(frozen=True)
class DemoPartner:
    name: str
    slug: str
    share: float  # of the sessions of each hour
    ctr: float  # relative click-through: how prominently it shows the helplines
    is_test: bool = False  # a sandbox partner: every key is a test key
    staging_share: float = 0.0  # of its own sessions sent with a staging (test) key


PARTNERS: tuple[DemoPartner, ...] = (
    DemoPartner("Lumen Assistant", "demo-lumen", share=0.45, ctr=1.25, staging_share=0.03),
    DemoPartner("Harbor Social", "demo-harbor", share=0.35, ctr=0.75),
    DemoPartner("Wayfind Search", "demo-wayfind", share=0.18, ctr=1.0),
    DemoPartner("Sandbox Integration", "demo-sandbox", share=0.02, ctr=1.0, is_test=True),
)

# Sessions per hour at the evening peak, by country (where partners' users are).
COUNTRY_PEAK_SESSIONS: dict[str, float] = {
    "US": 22,
    "GB": 13,
    "IN": 10,
    "DE": 6.5,
    "CA": 6,
    "FR": 5,
    "AU": 6,
    "ZA": 4,
    "IE": 2.5,
    "NZ": 2,
}

# Share of the evening peak by local hour: quiet before dawn, busiest 19:00-23:00.
DIURNAL = (
    0.45, 0.36, 0.30, 0.24, 0.18, 0.16, 0.20, 0.30, 0.42, 0.50, 0.55, 0.58,
    0.60, 0.58, 0.58, 0.62, 0.68, 0.76, 0.86, 0.95, 1.00, 1.00, 0.92, 0.68,
)  # fmt: skip
# People reaching out late at night click more often on what they are shown.
CTR_BY_LOCAL_HOUR = (
    1.35, 1.4, 1.4, 1.35, 1.2, 1.0, 0.9, 0.85, 0.85, 0.85, 0.85, 0.85,
    0.85, 0.85, 0.85, 0.85, 0.9, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.35,
)  # fmt: skip
# How a click splits between the methods a helpline offers: phone first.
METHOD_WEIGHT = {
    ContactMethod.PHONE.value: 50.0,
    ContactMethod.ONLINE_CHAT.value: 18.0,
    ContactMethod.SMS.value: 12.0,
    ContactMethod.WEBSITE.value: 9.0,
    ContactMethod.WHATSAPP.value: 14.0,
    ContactMethod.REPORTING_FORM.value: 4.0,
    ContactMethod.TTY.value: 3.0,
}
BASE_CTR = 0.075
HELPLINES_SHOWN = ((1, 0.5), (2, 0.32), (3, 0.18))
