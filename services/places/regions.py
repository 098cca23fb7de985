"""Regions of a country (ISO 3166-2 subdivisions, e.g. Mexican states) as the threat register and sites use them."""

import unicodedata
from functools import cache

import pycountry

from services.core.permissions import ValidationError


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text or "").casefold()
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


# Words that official subdivision names add to the name people use ("Guangdong Sheng", "Xinjiang Uygur Zizhiqu").
_GENERIC = {"sheng", "shi", "zizhiqu", "uygur", "huizu", "zhuangzu", "tebiexingzhengqu", "province", "state",
            "region", "territory", "de", "zaragoza", "ocampo", "ignacio", "la", "llave"}


def _short(text: str) -> str:
    words = _plain(text).replace("-", " ").split()
    kept = [w for w in words if w not in _GENERIC]
    return " ".join(kept or words)


@cache
def regions(iso2: str) -> dict[str, str]:
    """Subdivision code -> name for a country (states, provinces, ...); empty when pycountry lists none."""
    found = pycountry.subdivisions.get(country_code=(iso2 or "").upper()) or []
    # Top-level subdivisions only: a Mexican state, not a municipality (pycountry marks children with a parent).
    return dict(sorted((s.code, s.name) for s in found if not getattr(s, "parent_code", None)))


def region_name(code: str) -> str:
    """Name of a subdivision code ("MX-TAM" -> "Tamaulipas"); the code itself when unknown, "" for ""."""
    if not code:
        return ""
    return regions(code.split("-")[0]).get(code, code)


def clean_region(iso2: str, value: object) -> str:
    """The ISO 3166-2 code for a region given as code ("MX-NLE" or "NLE") or name ("Nuevo León"); "" for blank.

    Raises ValidationError when the country has no such region.
    """
    text = str(value or "").strip()
    if not text:
        return ""
    known = regions(iso2)
    upper = text.upper()
    for candidate in (upper, f"{(iso2 or '').upper()}-{upper}"):
        if candidate in known:
            return candidate
    by_name = {}
    for code, name in known.items():
        by_name[_plain(name)] = code
        by_name.setdefault(_short(name), code)
    found = by_name.get(_plain(text)) or by_name.get(_short(text))
    if found:
        return found
    if not known:
        raise ValidationError(f"No regions are known for country {iso2}; leave the region empty.")
    examples = ", ".join(list(known)[:3])
    raise ValidationError(f"'{text}' is not a region of {iso2}: use an ISO 3166-2 code (e.g. {examples}) or its name.")
