import sys, time
from fontTools import subset
from fontTools.ttLib import TTCollection
chars = set()
for lo, hi in [(0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2100, 0x215F), (0x2190, 0x21FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]:
    chars.update(range(lo, hi + 1))
for b1 in range(0xB0, 0xF8):
    for b2 in range(0xA1, 0xFF):
        try:
            chars.add(ord(bytes([b1, b2]).decode("gb2312")))
        except UnicodeDecodeError:
            pass
# Traditional forms used in company names in Taiwan and Hong Kong (Big5 level 1, the most frequent 5,401).
for b1 in range(0xA4, 0xC7):
    for b2 in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
        try:
            chars.add(ord(bytes([b1, b2]).decode("big5")))
        except UnicodeDecodeError:
            pass
print(len(chars))
for style in ("Regular", "Bold"):
    t = time.time()
    coll = TTCollection(f"/usr/share/fonts/opentype/noto/NotoSansCJK-{style}.ttc", lazy=True)
    font = coll.fonts[2]
    opts = subset.Options(); opts.layout_features = ["*"]; opts.name_IDs = ["*"]; opts.notdef_outline = True; opts.hinting = False
    opts.desubroutinize = False
    sub = subset.Subsetter(opts); sub.populate(unicodes=chars); sub.subset(font)
    font.save(f"seed/fonts/NotoSansSC-{style}.otf")
    print(style, time.time() - t)
