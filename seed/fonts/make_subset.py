"""Rebuild the Noto Sans SC subsets of seed/fonts from Debian's fonts-noto-cjk (see README.md); about two minutes."""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

HERE = Path(__file__).resolve().parent
RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2100, 0x215F), (0x2190, 0x21FF),
          (0x3000, 0x303F), (0xFF00, 0xFFEF)]


def characters() -> set[int]:
    """Latin with accents, punctuation, GB 2312 (simplified) and Big5 level 1 (traditional) Chinese."""
    chars = {c for low, high in RANGES for c in range(low, high + 1)}
    pairs = [("gb2312", range(0xB0, 0xF8), range(0xA1, 0xFF)),
             ("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])]
    for codec, firsts, seconds in pairs:
        for first in firsts:
            for second in seconds:
                try:
                    chars.add(ord(bytes([first, second]).decode(codec)))
                except UnicodeDecodeError:
                    pass
    return chars


def main() -> None:
    chars = characters()
    for style in ("Regular", "Bold"):
        font = TTCollection(f"/usr/share/fonts/opentype/noto/NotoSansCJK-{style}.ttc", lazy=True).fonts[2]  # SC
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.hinting = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=chars)
        subsetter.subset(font)
        font.save(HERE / f"NotoSansSC-{style}.otf")


if __name__ == "__main__":
    main()
