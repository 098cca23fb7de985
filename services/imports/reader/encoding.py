"""Which text encoding a CSV file is in.

Partners save CSV files from Excel in their own Windows code page: Windows-1252 in the Americas and Western
Europe, GBK/GB18030 in mainland China, Big5 in Taiwan and Hong Kong, Shift-JIS in Japan, and so on. The order:

1. a byte-order mark decides (UTF-8, UTF-16, UTF-32);
2. UTF-8 if the whole file is valid UTF-8 (a file in which some rows are UTF-8 and others are not is refused,
   naming both rows: it was pasted together and no single reading is right);
3. Windows-1252 if it decodes and reads like Western text (accented letters inside words, no letters that only
   Icelandic uses, no runs of three accented letters): such files are read exactly as before, because a plain
   best guess reads short Spanish text as Central European ("año" as "ańo");
4. otherwise charset-normalizer proposes the encodings under which the text is not garbled, and the bytes decide
   among the East Asian ones it proposes, where a short text decodes without error under several: full-width
   kana or Shift-JIS lead bytes for Japanese, Big5's low trail bytes for Traditional Chinese, Hangul syllables
   for Korean, else GB18030 (a superset of GBK) for Simplified Chinese; single-byte code pages (Central
   European, Cyrillic, Greek, Turkish, Baltic, Vietnamese, Thai) must give words of their own script.
Anything else is refused with the row of the first byte that could not be read.
"""

import codecs
import re
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes
from charset_normalizer.constant import FREQUENCIES

from services.imports.reader.table import unreadable

# Control characters that never occur in text files (tab, newlines, form feed and the DOS end-of-file mark do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26)) + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_DOUBLE = re.compile(rb"[\x81-\xfe][\x40-\x7e\x80-\xfe]")
_CHUNK = 1 << 20
_SAMPLE_BYTES = 200_000

# Family of each encoding charset-normalizer may propose -> the Windows code page read (a superset of the family).
_FAMILIES = {
    "gb18030": "gb18030", "gb2312": "gb18030", "gbk": "gb18030", "hz": "gb18030",
    "big5": "cp950", "cp950": "cp950", "big5hkscs": "cp950",
    "cp932": "cp932", "shift_jis": "cp932", "shift_jis_2004": "cp932", "shift_jisx0213": "cp932",
    "euc_jis_2004": "cp932", "euc_jp": "cp932",
    "cp949": "cp949", "euc_kr": "cp949", "johab": "cp949",
    "cp1250": "cp1250", "cp1251": "cp1251", "cp1253": "cp1253", "cp1254": "cp1254", "cp874": "cp874",
}
# Baltic and Vietnamese code pages are left out: short texts in them read as well in Turkish or Central European.
_PROPOSED = ["gb18030", "big5", "cp932", "shift_jis", "cp949", "euc_kr", "cp1250", "cp1251", "cp1253", "cp1254",
             "cp874"]
_EAST_ASIAN = ("gb18030", "cp950", "cp932", "cp949")  # on equal evidence, the first


def _ideograph(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf" or "\uf900" <= char <= "\ufaff"


_SCRIPTS = {
    "gb18030": _ideograph, "cp950": _ideograph,
    "cp932": lambda c: _ideograph(c) or "\u3040" <= c <= "\u30ff",
    "cp949": lambda c: "\uac00" <= c <= "\ud7a3",
}
_FREQUENT = {"gb18030": set(FREQUENCIES["Chinese"]), "cp950": set(FREQUENCIES["Chinese"]),
             "cp932": set(FREQUENCIES["Japanese"]), "cp949": set(FREQUENCIES["Korean"])}
LABELS = {
    "utf-8": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32", "cp1252": "Windows-1252", "gb18030": "GB18030",
    "cp950": "Big5", "cp932": "Shift-JIS", "cp949": "EUC-KR", "cp1250": "Windows-1250", "cp1251": "Windows-1251",
    "cp1253": "Windows-1253", "cp1254": "Windows-1254", "cp874": "Windows-874",
}
# Letters of Windows-1252 that Western languages other than Icelandic and Faroese do not use; Turkish saved as
# Windows-1254 shows its ğ, ş, İ, Ş, Ğ as these.
_ICELANDIC = set("ðþÐÞÝ")
# Windows-1252 signs that stand for a letter of another code page when they sit between two letters (Polish ł
# as ³, ą as ¹, ż as ¿, ź as Ÿ, Ł as £ ...).
_NOT_INSIDE_WORDS = set("¹²³¿¡£¤¥¦§¨©ª«¬®¯°±´µ¶·¸º»¼½¾×÷ŸˆˇŒ")
# Signs common in Western text (quotes, dashes, currency, degrees, ordinals); others are rare there but make up
# much of Big5 or GBK text shown in Windows-1252.
_PAIRED_SIGNS = set("“”‘’«»¿¡\u00a0–—…")  # signs that may stand next to an accented letter or each other ("«¿Qué")
_WESTERN_SIGNS = set("\u00a0“”‘’‚„–—…•€£°ºª¿¡«»©®™×·²³½¼¾§±µ†‡‰¢¥")


# Letters that only one of the Latin code pages gives: Turkish text read as Central European shows ý, ţ, đ
# where Turkish has ı, ş, ğ, and Polish or Czech text read as Turkish shows none of these.
_DISTINCT = {"cp1254": set("ğıİşŞĞ"), "cp1250": set("ąęłńśźżćčřěůňťďĺľőűŕĄĘŁŃŚŹŻĆČŘĚŮŇŤĎĹĽŐŰŔ")}


@dataclass(frozen=True)
class Encoding:
    """How to decode a text file: the Python codec, the name users know, and the bytes of its byte-order mark."""

    codec: str
    label: str
    bom: int = 0


def detect(name: str, data: bytes) -> Encoding:
    """The encoding of a CSV file; raises UnreadableFile (with the row) when it cannot be read as text."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _checked(name, data, Encoding("utf-32", "UTF-32"))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(name, data, Encoding("utf-16", "UTF-16"))
    controls = len(data.translate(None, _NOT_CONTROL))  # deleting everything else leaves the control bytes
    if b"\x00" in data or controls > max(10, len(data) // 100):
        raise unreadable(name, "This is not a text (CSV) file: it contains binary data. Upload a .csv or .xlsx file.")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    bad = None if data.isascii() else _first_error(data, "utf-8", bom)  # (ASCII is UTF-8: no decoding to check it)
    if bad is None:
        return Encoding("utf-8", "UTF-8", bom)
    bad_row, byte = _row_of(data, bad), f"0x{data[bad]:02X}"
    good_row = _first_utf8_row(data)
    if good_row is not None:
        raise unreadable(name, (
            f"The file mixes text encodings: row {good_row} is UTF-8 but row {bad_row} is not (byte {byte}). "
            "Save the whole file again as 'CSV UTF-8'."), bad_row, byte)
    found = _legacy(data)
    if found is None:
        raise unreadable(name, (
            f"The file is neither UTF-8 nor Windows-1252 text, and its encoding could not be recognised (byte {byte} "
            f"in row {bad_row}). Save it again as 'CSV UTF-8'."), bad_row, byte)
    return found


def _checked(name: str, data: bytes, encoding: Encoding) -> Encoding:
    bad = _first_error(data, encoding.codec, 0)
    if bad is not None:
        raise unreadable(name, f"The file is not valid {encoding.label} text (at byte {bad:,}).")
    return encoding


def _first_error(data: bytes, codec: str, start: int) -> int | None:
    """Offset of the first byte that does not decode, or None. Decodes in slices, so that a large file is never
    held twice."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    for offset in range(start, len(data), _CHUNK):
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the previous slice
        try:
            decoder.decode(view[offset:offset + _CHUNK], final=offset + _CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            return max(start, offset - pending + exc.start)
    return None


def _row_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _first_utf8_row(data: bytes) -> int | None:
    """The first row that is UTF-8 (with accented Latin letters, or characters of three bytes) in a file that is
    not UTF-8 as a whole. Short runs of GBK or Big5 characters are often valid UTF-8 by chance, but read as
    Cyrillic or Greek letters, or as signs."""
    for row, line in enumerate(data.split(b"\n"), start=1):
        if not line.isascii():
            try:
                text = line.decode("utf-8-sig" if row == 1 else "utf-8")
            except UnicodeDecodeError:
                continue
            if all(c.isascii() or "\u00c0" <= c <= "\u024f" or "\u2000" <= c for c in text):
                return row
    return None


def _pairs(sample: bytes) -> list[bytes]:
    """The sample read as a double-byte text would be: each byte from 0x81 up leads a pair with the byte after it
    (which may be ASCII: Big5 and Shift-JIS use 0x40-0x7E as second bytes)."""
    return _DOUBLE.findall(sample)


def _looks_double_byte(sample: bytes) -> bool:
    """True when nearly every non-ASCII byte comes in pairs, as in GBK or EUC-KR text.

    Western text has mostly single accented letters between ASCII ones.
    """
    lengths = [len(r) for r in _HIGH_RUN.findall(sample)]
    paired = sum(n for n in lengths if n % 2 == 0)
    return sum(lengths) >= 2 and paired >= 0.8 * sum(lengths)


def _legacy(data: bytes) -> Encoding | None:
    sample = _sample(data)
    if _first_error(data, "cp1252", 0) is None and _western(sample.decode("cp1252")):
        return Encoding("cp1252", LABELS["cp1252"])
    proposed = []
    for match in from_bytes(sample, cp_isolation=_PROPOSED, preemptive_behaviour=False):
        family = _FAMILIES.get(match.encoding)
        if family and family not in proposed:
            proposed.append(family)
    if _looks_double_byte(sample) or any(f in _EAST_ASIAN for f in proposed):
        codec = _east_asian(sample)
        if codec and _first_error(data, codec, 0) is None:
            return Encoding(codec, LABELS[codec])
    scored = []
    for rank, codec in enumerate(proposed):
        if codec in _EAST_ASIAN or _first_error(data, codec, 0) is not None:
            continue
        text = sample.decode(codec)
        score = _in_words(text)
        if score >= 0.8:
            scored.append((-score, -sum(c in _DISTINCT.get(codec, ()) for c in text), rank, codec))
    if scored:
        return Encoding(min(scored)[-1], LABELS[min(scored)[-1]])
    if _first_error(data, "cp1252", 0) is None:  # no better reading: as before, Windows-1252
        return Encoding("cp1252", LABELS["cp1252"])
    return None


def _sample(data: bytes) -> bytes:
    """The lines with non-ASCII bytes (up to about 200 KB): what tells encodings apart."""
    lines, total = [], 0
    for line in data.splitlines():
        if not line.isascii():
            lines.append(line)
            total += len(line)
            if total > _SAMPLE_BYTES:
                break
    return b"\n".join(lines)


def _western(text: str) -> bool:
    """Does Windows-1252 text read like a Western language, not another code page shown in Western letters?

    Western text has its accented letters alone or in pairs inside words of ASCII letters, few signs, no letter
    that only Icelandic uses (Turkish ş, ğ, İ show as þ, ð, Ý) and no sign between two letters (Polish ł, ą, ż
    show as ³, ¹, ¿). Chinese or Japanese text shows as runs of accented capitals and signs between commas.
    """
    runs = touching = chars = signs = 0
    for match in _NON_ASCII.finditer(text):
        run = match.group()
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        letters = [c.isalpha() and c not in "ªº" for c in run]
        chars += len(run)
        signs += sum(not is_letter and c not in _WESTERN_SIGNS for c, is_letter in zip(run, letters, strict=True))
        if len(run) > 2 or _ICELANDIC & set(run):
            return False
        if len(run) == 2 and not all(is_letter or c in _PAIRED_SIGNS for c, is_letter in zip(run, letters,
                                                                                                 strict=True)):
            return False
        if len(run) == 1 and not letters[0] and run in _NOT_INSIDE_WORDS and before.isalpha() and after.isalpha():
            return False
        if any(letters):
            runs += 1
            touching += (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())
    return touching >= 0.5 * runs and signs <= 0.2 * chars


def _east_asian(sample: bytes) -> str | None:
    """The East Asian code page a double-byte sample reads best in, or None.

    A short text decodes without error in several, so each reading must give the characters of its language
    (ideographs for Chinese; also kana for Japanese; Hangul for Korean): Big5 text read as GBK gives kana and
    Cyrillic, GBK text read as Shift-JIS gives half-width katakana. When more than one reading passes, the bytes
    and the most frequent characters decide: Big5 puts about 40% of its second bytes in 0x40-0x7E (GB2312
    none), Shift-JIS kanji have first bytes 0x81-0x9F (GBK uses them for rare characters), and each language's
    most frequent characters turn up in its own reading only.
    """
    pairs = _DOUBLE.findall(sample)
    if not pairs:
        return None
    evidence = {}
    for codec in _EAST_ASIAN:
        try:
            wide = [c for c in sample.decode(codec) if not c.isascii()]
        except UnicodeDecodeError:
            continue
        script = sum(map(_SCRIPTS[codec], wide))
        signs = sum("\u3000" <= c <= "\u303f" or "\uff01" <= c <= "\uff5e" for c in wide)
        if not wide or script < 0.5 * len(wide) or script + signs < 0.9 * len(wide):
            continue
        if codec in ("gb18030", "cp949") and sum(p[0] >= 0xA1 and p[1] >= 0xA1 for p in pairs) < 0.5 * len(pairs):
            continue  # GB2312 and EUC-KR, which nearly all text uses, have both bytes from 0xA1
        frequent = sum(c in _FREQUENT[codec] for c in wide) / len(wide)
        if codec == "cp950":
            frequent += 2 * sum(0x40 <= p[1] <= 0x7E for p in pairs) / len(pairs)
        elif codec == "cp949":
            frequent += len(pairs) >= 12 and all(0xA1 <= p[0] <= 0xC8 for p in pairs)  # Hangul; Chinese also C9-F7
        elif codec == "cp932":
            frequent += sum(0x81 <= p[0] <= 0x9F for p in pairs) / len(pairs)
            frequent += sum("\u3040" <= c <= "\u30ff" for c in wide) / len(wide)
        evidence[codec] = frequent
    if not evidence:
        return None
    return max(evidence, key=lambda codec: (evidence[codec], -_EAST_ASIAN.index(codec)))


def _in_words(text: str) -> float:
    """Share of the non-ASCII characters that are letters (or their marks) next to another letter, as in the words
    of a script."""
    def letter(char: str) -> bool:
        return unicodedata.category(char)[0] in "LM"

    chars = good = 0
    for i, char in enumerate(text):
        if char.isascii():
            continue
        chars += 1
        if letter(char) and ((i and letter(text[i - 1])) or (i + 1 < len(text) and letter(text[i + 1]))):
            good += 1
    return good / chars if chars else 0.0
