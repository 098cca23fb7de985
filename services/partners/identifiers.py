"""Trade identifiers of business partners and their known formats."""

import re
import unicodedata

# field -> (label, pattern, human description of the format)
IDENTIFIER_FORMATS: dict[str, tuple[str, re.Pattern[str], str]] = {
    "mid": (
        "MID",
        re.compile(r"^[A-Z]{2}[A-Z0-9]{1,13}$"),
        "manufacturer ID: ISO country code then up to 13 letters/digits, 15 at most (e.g. CNSHEELE1234SHE)",
    ),
    "scac": ("SCAC", re.compile(r"^[A-Z]{2,4}$"), "Standard Carrier Alpha Code: 2 to 4 letters (e.g. MAEU)"),
    "ior_ein": (
        "IOR/EIN",
        re.compile(r"^(\d{2}-\d{7}([A-Z0-9]{2})?|\d{3}-\d{2}-\d{4}|\d{6}-\d{5})$"),
        "IRS number NN-NNNNNNN (optional 2-character suffix), SSN NNN-NN-NNNN or CBP number YYDDPP-NNNNN",
    ),
    "duns": ("DUNS", re.compile(r"^\d{9}$"), "D-U-N-S number: 9 digits"),
    "fmc": ("FMC", re.compile(r"^[0-9A-Z]{6}(N|F|NF)?$"), "FMC organization number: 6 letters/digits, optional N/F/NF"),
    "iata_code": (
        "IATA",
        re.compile(r"^([A-Z0-9]{2}|[A-Z]{3}|\d{7,11})$"),
        "IATA airline designator (2 characters), ICAO code (3 letters) or cargo agent code (7-11 digits)",
    ),
    "broker_license": ("Broker licence", re.compile(r"^\d{4,5}$"), "customs broker licence: 4 or 5 digits"),
    "usdot": ("USDOT", re.compile(r"^\d{5,8}$"), "USDOT number: 5 to 8 digits"),
}

# Canadian MIDs start with a province code instead of CA (CBP's MID rules).
CANADIAN_MID_PROVINCES = ("XA", "XB", "XC", "XM", "XN", "XO", "XP", "XQ", "XS", "XT", "XV", "XW", "XY")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_LEGAL_FORMS = {
    "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "lp", "plc",
    "gmbh", "ag", "sa", "de", "cv", "srl", "sas", "spa", "bv", "nv", "pte", "pvt", "jsc", "as", "ab", "oy",
    "kg", "sl", "sarl", "tic", "san", "ve", "the", "and", "group", "intl", "international",
}


def normalize_identifier(field: str, value: object) -> str | None:
    """Upper-case, trimmed identifier or None when empty; spaces are dropped except in IOR numbers."""
    if value is None:
        return None
    text = str(value).strip().upper()
    if text in {"", "NAN", "NONE"}:
        return None
    if field != "ior_ein":
        text = re.sub(r"[\s.]", "", text)
    return text


def identifier_error(field: str, value: str | None, country_iso2: str | None = None) -> str | None:
    """A user-facing message when the value breaks its format, else None."""
    if value is None:
        return None
    label, pattern, description = IDENTIFIER_FORMATS[field]
    if not pattern.match(value):
        return f"{label} '{value}' is not valid: {description}"
    if field == "mid" and country_iso2:
        country = country_iso2.upper()
        allowed = (country, *CANADIAN_MID_PROVINCES) if country == "CA" else (country,)
        if not value.startswith(allowed):
            codes = " or a province code (XO, XQ, ...)" if country == "CA" else ""
            return f"MID '{value}' must start with the partner's country code {country}{codes}"
    return None


def normalize_name(name: str) -> str:
    """Company name reduced for duplicate detection: no accents, punctuation or legal forms."""
    # Dotted legal forms ("S.A. de C.V.") lose their dots first, so they match "SA de CV".
    text = (name or "").replace("ı", "i").replace(".", "")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    words = re.findall(r"[^\W_]+", plain)
    kept = [w for w in words if w not in _LEGAL_FORMS] or words
    # Scripts without spaces (Chinese) compare as one run of characters.
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", " ".join(kept))
