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

# Legal forms of companies as partners write them, removed from the end of a name (the prefixes from its start)
# before names are compared. Dots, commas, spaces between single letters, case and accents do not matter:
# "S.A. de C.V.", "SA de CV" and "S. A. de C. V." are one form.
LEGAL_FORMS: tuple[str, ...] = (
    # English-speaking countries, Hong Kong, Singapore, India, Bangladesh, Thailand, Korea, Japan
    "Co., Ltd.", "Company Limited", "Public Company Limited", "Limited", "Ltd.", "Co.", "Company", "Corp.",
    "Corporation", "Inc.", "Incorporated", "LLC", "LLP", "L.P.", "PLC", "Pte. Ltd.", "Pvt. Ltd.", "(Pvt.) Ltd.",
    "Private Limited", "Pty. Ltd.", "K.K.", "Kabushiki Kaisha", "Y.K.",
    # Malaysia, Indonesia, Vietnam
    "Sdn. Bhd.", "Bhd.", "Berhad", "Tbk.", "JSC", "Joint Stock Company", "J.S.C.",
    # Mexico, Latin America, Spain, Portugal
    "S.A.", "S.A. de C.V.", "S.A.B. de C.V.", "S.A.P.I. de C.V.", "S. de R.L.", "S. de R.L. de C.V.",
    "S. en C.", "S.C.", "S.A.S.", "S.R.L.", "S.A.C.", "Ltda.", "EIRELI", "S.L.", "S.L.U.",
    # Europe, Turkey
    "GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "S.r.l.", "S.p.A.", "SARL", "B.V.", "N.V.", "A/S", "ApS", "AB",
    "Oy", "AS", "ASA", "Sp. z o.o.", "s.r.o.", "Kft.", "A.Ş.", "Ltd. Şti.", "San. ve Tic. A.Ş.",
    "San. ve Tic. Ltd. Şti.",
    # Chinese (mainland, Taiwan, Hong Kong) and Japanese, written without spaces
    "有限公司", "股份有限公司", "有限责任公司", "有限責任公司", "株式会社",
)
# Forms written before the name: Indonesia's "PT Sinar Jaya", "CV Maju"; Japan's "株式会社" (also after it).
LEGAL_FORM_PREFIXES: tuple[str, ...] = ("PT", "CV", "株式会社")
# Words that tell no company apart wherever they stand.
NAME_NOISE_WORDS = frozenset({"the", "and"})


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


def name_words(name: str) -> list[str]:
    """The words of a name as compared: no accents, punctuation or case, and single letters joined, so that
    "S.A.", "S. A." and "SA" all give "sa", and "A/S" gives "as"."""
    text = unicodedata.normalize("NFKC", name or "").replace("ı", "i").replace(".", "")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    words: list[str] = []
    joining = False  # the last word is a run of single letters
    for word in re.findall(r"[^\W_]+", plain):
        letter = len(word) == 1 and word.isascii()
        if letter and joining:
            words[-1] += word
        else:
            words.append(word)
        joining = letter
    return words


def normalize_name(name: str) -> str:
    """Company name reduced for duplicate detection: no accents, punctuation, case or legal forms.

    Legal forms (LEGAL_FORMS) are removed from the end, one after another ("GmbH & Co. KG", "Co., Ltd."), and
    LEGAL_FORM_PREFIXES from the start; a Chinese name written without spaces loses its "有限公司". A name made
    only of legal forms (or noise words) is kept whole rather than emptied.
    """
    words = name_words(name)
    kept = _without_forms([w for w in words if w not in NAME_NOISE_WORDS]) or words
    # Scripts without spaces (Chinese) compare as one run of characters.
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", " ".join(kept))


def _without_forms(words: list[str]) -> list[str]:
    """The words without the legal forms at their start and end (possibly none left)."""
    words = list(words)
    while words:
        prefix = next((form for form in _PREFIXES if tuple(words[:len(form)]) == form), None)
        joined = next((form for form in _JOINED_PREFIXES if words[0].startswith(form) and words[0] != form), None)
        if prefix:
            del words[:len(prefix)]
        elif joined:
            words[0] = words[0][len(joined):]
        else:
            break
    while words:
        suffix = next((form for form in _SUFFIXES if tuple(words[-len(form):]) == form), None)
        joined = next((form for form in _JOINED_SUFFIXES if words[-1].endswith(form) and words[-1] != form), None)
        if suffix:
            del words[-len(suffix):]
        elif joined:
            words[-1] = words[-1][:-len(joined)]
        else:
            break
    return words


def _by_length(forms: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Forms as word tuples, longest first, so "S.A. de C.V." is tried before "S.A."."""
    return sorted({tuple(name_words(form)) for form in forms}, key=lambda words: (-len(words), words))


_SUFFIXES = _by_length(LEGAL_FORMS)
_PREFIXES = _by_length(LEGAL_FORM_PREFIXES)
# Forms in scripts written without spaces also end (or start) a longer word: "深圳市光明电子有限公司".
_JOINED_SUFFIXES = sorted((form for form in LEGAL_FORMS if not form.isascii()), key=len, reverse=True)
_JOINED_PREFIXES = sorted((form for form in LEGAL_FORM_PREFIXES if not form.isascii()), key=len, reverse=True)
