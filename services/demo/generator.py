"""Deterministic demo data: Dana's company, a US importer of consumer electronics and furniture, with its partners.

Everything is drawn from ``random.Random(seed)`` and ``numpy.random.default_rng(seed)`` relative to ``today``, so
the same (partners, seed, today) always gives the same rows. Rows are built in memory and bulk-inserted in chunks.
"""

import math
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, update
from sqlmodel import Session, SQLModel, col, func, select

from models import (
    Answer,
    Assignment,
    AuditEvent,
    CompanyProfile,
    Country,
    Criterion,
    CriterionApplicability,
    Cycle,
    MraProgram,
    Partner,
    ReviewComment,
)
from models.common import ENTITY_TYPES
from services.demo import certificates as demo_certificates
from services.partners.identifiers import normalize_name

MAX_PARTNERS = 100_000
_CHUNK = 20_000

IMP, EXP, FM, HWY = "Importer", "Exporter", "Foreign Manufacturer", "Highway Carrier"
MXL, AIR, RAIL, SEA = "Long Haul Highway Carrier (Mexico)", "Air Carrier", "Rail Carrier", "Sea Carrier"
TPL, CON, BRK = "Third Party Logistics Provider", "Consolidator", "Customs Broker"
PORT = "Marine Port Authority and Terminal Operator"

# Share of partners by entity type, and where each type is based (weights).
_MIX: dict[str, float] = {FM: .60, HWY: .09, EXP: .07, MXL: .06, SEA: .04, CON: .035, TPL: .03, AIR: .025,
                          IMP: .02, BRK: .015, PORT: .01, RAIL: .005}
_WHERE: dict[str, dict[str, float]] = {
    FM: {"CN": 38, "VN": 14, "MX": 10, "IN": 8, "TR": 5, "TW": 5, "BD": 3, "ID": 3, "TH": 3, "MY": 3, "DE": 2,
         "IT": 2, "CA": 1.5, "KR": 1.5, "JP": 1},
    EXP: {"HK": 30, "CN": 18, "VN": 14, "US": 10, "IN": 8, "TW": 7, "TR": 5, "SG": 4, "MX": 4},
    HWY: {"US": 80, "CA": 12, "MX": 8},
    MXL: {"MX": 1},
    SEA: {"DK": 12, "CH": 12, "FR": 10, "CN": 12, "TW": 14, "SG": 10, "DE": 10, "KR": 8, "JP": 6, "HK": 6},
    AIR: {"US": 35, "DE": 10, "KR": 10, "TW": 10, "CN": 10, "HK": 8, "JP": 7, "SG": 10},
    TPL: {"US": 70, "MX": 15, "CA": 10, "DE": 5},
    CON: {"US": 35, "HK": 20, "CN": 20, "VN": 8, "SG": 7, "TW": 5, "IN": 5},
    BRK: {"US": 1},
    PORT: {"US": 1},
    RAIL: {"US": 60, "CA": 25, "MX": 15},
    IMP: {"US": 1},
}
_CRITICALITY: dict[str, tuple[float, float, float, float]] = {  # low, medium, high, critical
    EXP: (.10, .50, .35, .05), HWY: (.15, .55, .28, .02), MXL: (0, .45, .50, .05), SEA: (0, .30, .60, .10),
    AIR: (0, .60, .40, 0), TPL: (0, .30, .55, .15), CON: (0, .50, .45, .05), BRK: (0, .30, .60, .10),
    PORT: (0, .60, .40, 0), RAIL: (0, .50, .50, 0), IMP: (.60, .40, 0, 0),
}
_SPANISH = {"MX", "GT", "CO", "PE", "DO", "CL", "AR", "EC", "SV", "HN", "CR", "PA", "UY"}
_CHINESE = {"CN", "TW", "HK"}

# Real cities (name, latitude, longitude) where the partners of such an importer sit.
_CITIES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "CN": (("Shenzhen", 22.543, 114.058), ("Dongguan", 23.021, 113.752), ("Guangzhou", 23.129, 113.264),
           ("Foshan", 23.022, 113.122), ("Zhongshan", 22.517, 113.393), ("Ningbo", 29.868, 121.544),
           ("Xiamen", 24.480, 118.089), ("Suzhou", 31.299, 120.585), ("Shanghai", 31.230, 121.474),
           ("Qingdao", 36.067, 120.383), ("Yiwu", 29.306, 120.076), ("Huizhou", 23.112, 114.416)),
    "VN": (("Ho Chi Minh City", 10.823, 106.630), ("Thu Dau Mot", 10.980, 106.652), ("Bien Hoa", 10.957, 106.843),
           ("Hanoi", 21.028, 105.834), ("Hai Phong", 20.845, 106.688), ("Bac Ninh", 21.186, 106.076),
           ("Da Nang", 16.054, 108.202)),
    "MX": (("Monterrey", 25.686, -100.316), ("Tijuana", 32.514, -117.038), ("Ciudad Juárez", 31.690, -106.424),
           ("Guadalajara", 20.659, -103.349), ("Reynosa", 26.092, -98.278), ("Saltillo", 25.423, -101.005),
           ("Querétaro", 20.588, -100.390), ("Nuevo Laredo", 27.476, -99.516), ("Apodaca", 25.781, -100.188)),
    "IN": (("Chennai", 13.083, 80.270), ("Mumbai", 19.076, 72.878), ("Jodhpur", 26.239, 73.024),
           ("Moradabad", 28.839, 78.773), ("Noida", 28.535, 77.391), ("Bengaluru", 12.972, 77.595),
           ("Pune", 18.520, 73.857), ("Tiruppur", 11.108, 77.341)),
    "TR": (("İstanbul", 41.008, 28.978), ("Bursa", 40.188, 29.061), ("İzmir", 38.423, 27.143),
           ("Kayseri", 38.720, 35.483), ("İnegöl", 40.078, 29.513), ("Denizli", 37.776, 29.086)),
    "TW": (("Taipei", 25.033, 121.565), ("New Taipei", 25.012, 121.465), ("Taichung", 24.148, 120.674),
           ("Taoyuan", 24.994, 121.301), ("Kaohsiung", 22.627, 120.301), ("Hsinchu", 24.804, 120.971)),
    "HK": (("Hong Kong", 22.319, 114.169),),
    "BD": (("Dhaka", 23.811, 90.413), ("Chattogram", 22.357, 91.783), ("Gazipur", 23.999, 90.420),
           ("Narayanganj", 23.623, 90.500)),
    "ID": (("Jakarta", -6.208, 106.846), ("Jepara", -6.589, 110.668), ("Surabaya", -7.257, 112.752),
           ("Semarang", -6.967, 110.417), ("Batam", 1.045, 104.030), ("Bekasi", -6.238, 106.976)),
    "TH": (("Bangkok", 13.756, 100.502), ("Chonburi", 13.361, 100.985), ("Ayutthaya", 14.353, 100.569),
           ("Rayong", 12.681, 101.258), ("Samut Prakan", 13.599, 100.597)),
    "MY": (("George Town", 5.414, 100.329), ("Kuala Lumpur", 3.139, 101.687), ("Johor Bahru", 1.493, 103.741),
           ("Muar", 2.044, 102.568), ("Shah Alam", 3.073, 101.518)),
    "DE": (("Hamburg", 53.551, 9.994), ("Stuttgart", 48.776, 9.183), ("München", 48.135, 11.582),
           ("Bielefeld", 52.030, 8.532), ("Nürnberg", 49.452, 11.077), ("Bremen", 53.079, 8.802)),
    "IT": (("Milano", 45.464, 9.190), ("Treviso", 45.666, 12.243), ("Udine", 46.071, 13.235),
           ("Bologna", 44.494, 11.343), ("Pesaro", 43.910, 12.913), ("Monza", 45.584, 9.274)),
    "CA": (("Toronto", 43.653, -79.383), ("Mississauga", 43.589, -79.644), ("Vancouver", 49.283, -123.121),
           ("Montréal", 45.502, -73.567), ("Calgary", 51.045, -114.072), ("Winnipeg", 49.895, -97.138)),
    "KR": (("Seoul", 37.567, 126.978), ("Busan", 35.180, 129.076), ("Incheon", 37.456, 126.705),
           ("Suwon", 37.264, 127.029), ("Changwon", 35.228, 128.681)),
    "JP": (("Tokyo", 35.676, 139.650), ("Osaka", 34.694, 135.502), ("Nagoya", 35.181, 136.906),
           ("Yokohama", 35.444, 139.638), ("Hamamatsu", 34.711, 137.726)),
    "US": (("Los Angeles", 34.052, -118.244), ("Long Beach", 33.770, -118.194), ("Chicago", 41.878, -87.630),
           ("Dallas", 32.777, -96.797), ("Atlanta", 33.749, -84.388), ("Newark", 40.736, -74.172),
           ("Savannah", 32.081, -81.091), ("Houston", 29.760, -95.370), ("Laredo", 27.506, -99.507),
           ("El Paso", 31.762, -106.485), ("Memphis", 35.150, -90.049), ("Seattle", 47.606, -122.332),
           ("Charlotte", 35.227, -80.843), ("Columbus", 39.961, -82.999)),
    "SG": (("Singapore", 1.290, 103.852),),
    "DK": (("København", 55.676, 12.568), ("Aarhus", 56.163, 10.204)),
    "CH": (("Genève", 46.204, 6.143), ("Basel", 47.560, 7.589)),
    "FR": (("Marseille", 43.297, 5.370), ("Le Havre", 49.494, 0.108), ("Paris", 48.857, 2.352)),
}


@dataclass(frozen=True)
class _Style:
    """How companies of one country are named and addressed."""

    first: tuple[str, ...]  # brand = a first word and optionally a second, or a surname and a family suffix
    second: tuple[str, ...]
    products: tuple[str, ...]  # what its manufacturers make, in the local business language
    makers: tuple[str, ...]  # name templates of manufacturers
    form: str  # legal form appended to service companies' names
    address: str
    streets: tuple[str, ...]
    joined: bool = False  # Chinese brands join two syllables: Hua + xin = Huaxin
    surnames: tuple[str, ...] = ()
    family: tuple[str, ...] = ("",)


_EN_FIRST = ("Blue", "Golden", "Silver", "Great", "Pacific", "Atlantic", "Northern", "Southern", "Eastern", "Western",
             "Lone", "Red", "Iron", "Eagle", "Summit", "Liberty", "Patriot", "Heartland", "Coastal", "Frontier",
             "Keystone", "Pioneer", "Granite", "Cardinal", "Sterling", "Midland", "Central", "Harbor", "Prairie")
_EN_SECOND = ("", "Ridge", "Star", "River", "Bay", "Peak", "Valley", "Mountain", "Lake", "Bridge", "Gate", "Point",
              "Field", "Rock", "Crest", "Creek", "Trail", "Arrow", "Anchor", "Compass", "Pine", "Oak", "Cedar",
              "Horizon")
_EN_SURNAMES = ("Miller", "Carter", "Walker", "Brooks", "Hayes", "Bennett", "Coleman", "Foster", "Sullivan", "Reed",
                "Parker", "Hughes", "Morgan", "Turner", "Russell", "Griffin", "Crawford", "Mitchell", "Dawson",
                "Johnson", "Price", "Ward")
_EN_FAMILY = ("", "", "Brothers", "& Sons")
_MX_SURNAMES = ("Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Pérez", "Sánchez", "Ramírez",
                "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales", "Reyes", "Gutiérrez", "Chávez", "Castillo",
                "Mendoza", "Garza", "Treviño", "Villarreal", "Salinas", "Cantú", "Elizondo")
_DE_SURNAMES = ("Becker", "Hoffmann", "Schneider", "Wagner", "Fischer", "Weber", "Meyer", "Schulz", "Koch", "Richter",
                "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hartmann", "Lange")
_IT_SURNAMES = ("Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti",
                "Mancini", "Costa", "Giordano", "Moretti", "Lombardi", "Barbieri", "Fontana")
_EN_STREETS = ("Harbor Blvd", "Industrial Pkwy", "Commerce Dr", "Distribution Way", "Airport Rd", "Port Ave",
               "Logistics Ct", "Enterprise St", "Gateway Blvd", "Terminal Way", "Freight Ln", "Market St")
_STYLES: dict[str, _Style] = {
    "CN": _Style(
        ("Hua", "Xin", "Jin", "Tian", "Hong", "Da", "Fu", "Sheng", "Long", "Kai", "Rui", "Heng", "Yi", "Jia", "Mei",
         "Bao", "Tai", "Guang", "Chang", "Wei", "Ming", "Feng", "Hao", "Yong", "Xiang", "Cheng", "Li", "An", "De"),
        ("xin", "da", "feng", "tai", "yuan", "sheng", "hua", "li", "cheng", "heng", "fa", "rui", "tong", "xiang",
         "mei", "jia", "long", "bang", "kang", "hong", "yang", "wei", "yi", "tian", "ming", "hui", "sen", "bo"),
        ("Electronics", "Technology", "Furniture", "Home Furnishing", "Lighting", "Audio Technology",
         "Precision Industry", "Plastic Products", "Metal Products", "Woodwork", "Smart Home", "Power Supply",
         "Display Technology", "Cable", "Sofa", "Hardware", "Packaging"),
        ("{city} {brand} {product} Co., Ltd.", "{brand} {product} ({city}) Co., Ltd."),
        " Co., Ltd.", "No. {n} {s} Road, {s2} Industrial Park",
        ("Huaxia", "Jianshe", "Xingye", "Gongye", "Chuangye", "Keji", "Fuyuan", "Jinxiu", "Hongxing", "Changfeng"),
        joined=True),
    "TW": _Style(
        ("Hsin", "Chun", "Kuo", "Yuan", "Tai", "Fu", "Hung", "Chia", "Sheng", "Lien", "Ming", "Cheng", "Yung", "Tung"),
        ("Yang", "Hua", "Feng", "Tai", "Li", "Hsing", "Chang", "Lung", "Teng", "Mei", "Yu", "Chi"),
        ("Electronics", "Technology", "Precision", "Industrial", "Optoelectronics", "Furniture", "Components",
         "Power Systems", "Lighting"),
        ("{brand} {product} Co., Ltd.", "{brand} {product} Corp."),
        " Co., Ltd.", "No. {n}, {s} Rd., {s2} Dist.",
        ("Zhongshan", "Minsheng", "Zhongzheng", "Heping", "Jianguo", "Wenhua", "Daxue", "Fuxing")),
    "HK": _Style(
        ("Golden", "Grand", "Pacific", "Oriental", "Everbright", "Prosper", "Wing", "Harvest", "Jade", "Dragon",
         "Pearl", "Kingsway", "Victory", "Fortune", "Rich", "Hop", "Kwong", "Sun", "Tai", "Lee"),
        ("Bridge", "Star", "Harbour", "Way", "Gate", "River", "Link", "Crown", "Field", "Source", "Hing", "Fat",
         "Shing", "Wah"),
        ("Industrial", "Electronics", "Manufacturing", "Products"),
        ("{brand} {product} (H.K.) Limited",),
        " Limited", "Unit {n}, {s} Industrial Building, {s2} Road, Kwun Tong",
        ("Wing On", "Hoi Bun", "Kwai Chung", "Tsuen Wan", "Cheung Sha Wan", "Hung To", "Shing Yip", "Tai Yip")),
    "VN": _Style(
        ("An", "Phu", "Thanh", "Hoa", "Viet", "Tan", "Minh", "Hung", "Kim", "Bao", "Thien", "Quang", "Tien", "Duc",
         "Hoang", "Truong", "Nam", "Dong", "Sao", "Mekong", "Saigon", "Cuu"),
        ("Phat", "Thanh", "Binh", "Tien", "Cong", "Long", "Hung", "Thinh", "Viet", "Son", "Gia", "Minh", "An", "Mai",
         "Phong", "Loc", "Khang", "Hai", "Phuc"),
        ("Furniture", "Woodworking", "Electronics", "Garment", "Lighting", "Home Decor", "Rattan", "Precision",
         "Packaging", "Plastic"),
        ("{brand} {product} JSC", "{brand} {product} Co., Ltd.", "{brand} {product} Joint Stock Company"),
        " JSC", "Lot {L}-{n}, {s} Industrial Park",
        ("VSIP II", "Song Than", "My Phuoc", "Amata", "Long Hau", "Tan Thuan", "Que Vo", "Dinh Vu")),
    "MX": _Style(
        ("del Norte", "del Bajío", "de Occidente", "del Golfo", "del Pacífico", "Fronterizos", "Regiomontanos",
         "del Centro", "de la Frontera", "Unidos"),
        ("",),
        ("Muebles Finos", "Electrónica Industrial", "Maderas y Diseños", "Componentes Electrónicos",
         "Ensambles de Precisión", "Tapicería Moderna", "Iluminación Integral", "Plásticos Técnicos",
         "Arneses y Cables", "Metales Selectos", "Muebles Rústicos", "Manufacturas Electrónicas"),
        ("{product} {brand} S.A. de C.V.", "{product} de {city} S.A. de C.V."),
        " S.A. de C.V.", "Av. {s} {n}, Parque Industrial {s2}",
        ("Constitución", "Revolución", "Benito Juárez", "Las Torres", "Fundidora", "Aeropuerto", "Ruiz Cortines",
         "Las Américas", "Tecnológico", "Santa María"),
        surnames=_MX_SURNAMES, family=("", "", "Hermanos", "e Hijos", *_MX_SURNAMES)),
    "IN": _Style(
        ("Shree", "Sri", "Om", "Jai", "Royal", "Kaveri", "Ganga", "Narmada", "Sagar", "Kohinoor", "Indus", "Deccan",
         "Vishal", "Surya", "Lakshmi", "Ganesh", "Balaji", "Krishna", "Sai", "Amar", "Bharat", "Tirupati", "Shakti",
         "Himalaya", "Arihant", "Vardhman"),
        ("", "", "Ganesh", "Balaji", "Krishna", "Durga", "Vinayak", "Lakshmi", "Shyam", "Mahavir"),
        ("Handicrafts", "Wood Crafts", "Electronics", "Furnishings", "Textiles", "Home Decor", "Metal Works",
         "Carpets", "Art Exports", "Components", "Lighting"),
        ("{brand} {product} Pvt. Ltd.", "{brand} {product} Private Limited"),
        " Pvt. Ltd.", "Plot No. {n}, {s} Industrial Area",
        ("Ambattur", "Guindy", "Basni", "Boisar", "Peenya", "Chakan", "Bhosari", "Sector 63", "Okhla", "Manpur")),
    "TR": _Style(
        ("Anadolu", "Ege", "Marmara", "Akdeniz", "Karadeniz", "Yıldız", "Özdemir", "Kaya", "Çelik", "Demir",
         "Aydın", "Güneş", "Doğan", "Başak", "Toros", "Uludağ", "Kardelen", "Akçay", "Erciyes", "Kartal", "Yeşil",
         "Altın", "Gökkuşağı", "Selçuklu", "Osmanlı", "Bosfor", "Palandöken", "Kızılırmak"),
        ("", "", "Ay", "Yapı", "Grup"),
        ("Mobilya", "Tekstil", "Elektronik", "Ev Tekstili", "Aydınlatma", "Metal", "Plastik", "Ahşap", "Kablo",
         "Dekorasyon"),
        ("{brand} {product} San. ve Tic. A.Ş.",),
        " San. ve Tic. A.Ş.", "{s} Cad. No:{n}, {s2} OSB",
        ("Atatürk", "Cumhuriyet", "İstiklal", "Gazi", "Sanayi", "Organize", "Mimar Sinan", "Fevzi Çakmak")),
    "BD": _Style(
        ("Padma", "Meghna", "Jamuna", "Karnaphuli", "Rupsha", "Surma", "Sonar", "Bengal", "Asha", "Nabil",
         "Rahman", "Hossain", "Tista", "Shapla", "Dhanshiri"),
        ("", "", "Bangla", "Star", "Fabrics", "Knit", "Washing"),
        ("Textiles", "Knit Composite", "Apparels", "Garments", "Fashions", "Sweaters", "Denim", "Home Textiles",
         "Jute Goods", "Packaging"),
        ("{brand} {product} Ltd.", "{brand} {product} Limited"),
        " Ltd.", "Plot {n}, {s} EPZ",
        ("Dhaka", "Chittagong", "Karnaphuli", "Adamjee", "Ishwardi", "Mongla", "Uttara", "Comilla")),
    "ID": _Style(
        ("Sinar", "Cahaya", "Mitra", "Karya", "Putra", "Sumber", "Maju", "Indah", "Jaya", "Mulia", "Bintang",
         "Harapan", "Surya", "Kencana"),
        ("Jaya", "Abadi", "Makmur", "Sentosa", "Mandiri", "Lestari", "Perkasa", "Utama", "Sejahtera", "Permai"),
        ("Furniture", "Elektronik", "Mebel", "Rotan", "Kayu", "Teknik", "Industri", "Interior"),
        ("PT {brand} {product}", "PT {brand} {product} Indonesia"),
        "", "Jl. {s} No. {n}, Kawasan Industri {s2}",
        ("Raya Bekasi", "Gatot Subroto", "Sudirman", "Diponegoro", "Pemuda", "Industri Selatan", "Kartini")),
    "TH": _Style(
        ("Siam", "Chao Phraya", "Thai", "Rattana", "Sukhothai", "Lanna", "Krungthep", "Chaiyo", "Somboon",
         "Thanakorn", "Wattana", "Charoen", "Sombat"),
        ("", "Pattana", "Kij", "Rungroj", "Sin", "Inter"),
        ("Furniture Industry", "Electronics", "Parawood", "Rubberwood", "Lighting", "Precision", "Home Products"),
        ("{brand} {product} Co., Ltd.", "{brand} {product} Public Company Limited"),
        " Co., Ltd.", "{n} Moo 4, {s} Road, {s2} Industrial Estate",
        ("Sukhumvit", "Bangna-Trad", "Phahonyothin", "Rama II", "Amata", "Hi-Tech", "Eastern Seaboard")),
    "MY": _Style(
        ("Penang", "Perak", "Muar", "Seri", "Bintang", "Cahaya", "Mega", "Eng Lee", "Hup Seng", "Kian Hong",
         "Lian Huat", "Sin Heng", "Tan Brothers", "Jati"),
        ("", "", "Jaya", "Maju", "Bersatu"),
        ("Furniture", "Precision", "Electronics", "Rubberwood", "Technology", "Plastics", "Industries"),
        ("{brand} {product} Sdn. Bhd.",),
        " Sdn. Bhd.", "No. {n}, Jalan {s}, Kawasan Perindustrian {s2}",
        ("Perusahaan", "Bayan Lepas", "Tebrau", "Bakri", "Kapar", "Puchong", "Perindustrian 3")),
    "DE": _Style(
        ("Hanse", "Nordsee", "Elbe", "Rhein", "Weser", "Alster"), ("",),
        ("Möbelwerke", "Elektronik", "Polstermöbel", "Leuchten", "Präzisionstechnik", "Kabelwerk", "Holzwerk",
         "Gerätebau"),
        ("{brand} {product} GmbH", "{brand} {product} GmbH & Co. KG"),
        " GmbH", "{s}straße {n}",
        ("Industrie", "Hafen", "Gewerbe", "Bahnhof", "Linden", "Schiller", "Kanal", "Werk"),
        surnames=_DE_SURNAMES, family=("", "", "& Söhne")),
    "IT": _Style(
        (), ("",),
        ("Arredamenti", "Mobili", "Elettronica", "Illuminazione", "Imbottiti", "Salotti", "Cucine", "Componenti"),
        ("{product} {brand} S.r.l.", "{brand} {product} S.p.A."),
        " S.r.l.", "Via {s} {n}",
        ("dell'Industria", "Roma", "Garibaldi", "dell'Artigianato", "Verdi", "del Lavoro", "Marconi"),
        surnames=_IT_SURNAMES, family=("", "", "& Figli")),
    "CA": _Style(
        ("Maple", "Laurentian", "Cascade", "Boreal", "Muskoka", "Algonquin", "True North", "Northern", "Prairie",
         "Atlantic", "Pacific"),
        ("", "", "Ridge", "Valley", "Bay", "Lakes", "Pine"),
        ("Furniture", "Woodcraft", "Electronics", "Home Products", "Millwork", "Manufacturing"),
        ("{brand} {product} Inc.", "{brand} {product} Ltd."),
        " Inc.", "{n} {s}",
        ("Industrial Rd", "Commerce Crescent", "Airport Rd", "Steeles Ave W", "Rue Sherbrooke E", "Marine Way"),
        surnames=("Tremblay", "Gagnon", "Roy", "MacDonald", "Campbell", "Wilson", "Bouchard"), family=_EN_FAMILY),
    "KR": _Style(
        ("Hanil", "Daesung", "Samjin", "Woori", "Sejin", "Dongbang", "Hanmi", "Shinsung", "Daewon", "Kwangmyung",
         "Jinyang", "Sungwoo", "Taeyang", "Hanbit", "Donghae"),
        ("", "", "Global", "Tech"),
        ("Electronics", "Precision", "Industrial", "Display", "Furniture", "Materials", "Components"),
        ("{brand} {product} Co., Ltd.",),
        " Co., Ltd.", "{n} {s}-ro, {s2}-gu",
        ("Gongdan", "Sandan", "Teheran", "Haeundae", "Namdong", "Seongsan", "Gangseo")),
    "JP": _Style(
        ("Takumi", "Nishida", "Yamato", "Sakura", "Fujimoto", "Kobayashi", "Matsuda", "Hayashi", "Morita", "Okada",
         "Shimizu", "Kitano", "Hokuto", "Mizuno", "Aoki"),
        ("", "", "Seiko", "Sangyo"),
        ("Seiki", "Electric", "Precision", "Denki", "Kogyo", "Industries", "Woodworks"),
        ("{brand} {product} Co., Ltd.", "{brand} {product} Corporation"),
        " Co., Ltd.", "{n}-{m} {s}-cho",
        ("Minato", "Chuo", "Kita", "Naka", "Higashi", "Nishi", "Sakae")),
    "US": _Style(_EN_FIRST, _EN_SECOND, ("Home Products", "Electronics", "Furniture", "Manufacturing"),
                 ("{brand} {product} Inc.", "{brand} {product} LLC"), " Inc.", "{n} {s}", _EN_STREETS,
                 surnames=_EN_SURNAMES, family=_EN_FAMILY),
    "SG": _Style(
        ("Lion City", "Straits", "Merlion", "Temasek", "Raffles", "Keppel", "Tanjong", "Jurong", "Marina", "Orchid"),
        ("", "", "Global", "Asia", "Pacific"),
        ("Electronics", "Industries"), ("{brand} {product} Pte. Ltd.",), " Pte. Ltd.", "{n} {s}",
        ("Pioneer Road", "Tuas Avenue 1", "Jurong Port Road", "Changi South Lane", "Keppel Road")),
    "DK": _Style(("Nordic", "Baltic", "Viking", "Skagen", "Jutland", "Øresund", "Kattegat", "Fyn"),
                 ("", "Blue", "Star", "Line"), ("Industri",), ("{brand} {product} A/S",), " A/S", "{s}vej {n}",
                 ("Havne", "Kaj", "Industri", "Skibs", "Container")),
    "CH": _Style(("Helvetic", "Alpine", "Lemania", "Rhône", "Jura", "Léman", "Gotthard", "Rhein"),
                 ("", "Blue", "Star", "Global"), ("Industries",), ("{brand} {product} SA",), " S.A.",
                 "Rue du {s} {n}", ("Port", "Rhône", "Lac", "Commerce", "Mont-Blanc")),
    "FR": _Style(("Atlantique", "Méditerranée", "Provence", "Azur", "Normandie", "Bretagne", "Gascogne", "Phocée"),
                 ("", "Bleu", "Étoile", "Global"), ("Industries",), ("{brand} {product} S.A.S.",), " S.A.S.",
                 "{n} rue {s}", ("du Port", "de la République", "des Docks", "Colbert", "de Paris")),
}
# English service names by entity type; Mexican companies use the Spanish ones.
_SERVICES: dict[str, tuple[str, ...]] = {
    EXP: ("Trading", "Sourcing", "Import & Export", "Exports", "Industrial Trading"),
    HWY: ("Trucking", "Freight Lines", "Transport", "Express", "Motor Lines", "Carriers", "Transportation"),
    MXL: ("Trucking",),
    SEA: ("Shipping Lines", "Container Line", "Maritime", "Ocean Lines", "Shipping", "Marine"),
    AIR: ("Air Cargo", "Cargo Airlines", "Airways Cargo", "Air Freight"),
    TPL: ("Logistics", "Distribution", "Warehousing", "Fulfillment Services", "Supply Chain Solutions"),
    CON: ("Global Logistics", "Freight Forwarding", "Shipping Agency", "International Forwarding",
          "Cargo Services"),
    BRK: ("Customs Brokers", "Customs Brokerage", "Trade Services", "Customs & Logistics"),
    RAIL: ("Railroad", "Railway", "Rail Services", "Rail Link"),
    PORT: ("Container Terminal", "Terminal Services", "Port Services", "Marine Terminals"),
    IMP: ("Home Goods", "Brands", "Home Furnishings", "Consumer Products", "Outfitters"),
}
_SERVICES_ES: dict[str, tuple[str, ...]] = {
    EXP: ("Comercializadora {brand}", "Exportadora {brand}"),
    HWY: ("Transportes {brand}", "Autotransportes {brand}", "Fletes y Transportes {brand}"),
    MXL: ("Transportes {brand}", "Autotransportes {brand}", "Fletes y Transportes {brand}",
          "Transportes Refrigerados {brand}", "Líneas de Carga {brand}"),
    TPL: ("Logística {brand}", "Almacenes y Distribución {brand}"),
    CON: ("Agencia de Carga {brand}", "Consolidadora {brand}"),
    RAIL: ("Ferrocarril {brand}", "Ferrovías {brand}"),
}
_PEOPLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {  # given names, surnames, surname first?
    "zh": (("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yan", "Hui", "Jun", "Ting", "Xiaoling", "Haoran"),
           ("Chen", "Li", "Wang", "Zhang", "Liu", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Lin", "Xu"), True),
    "VN": (("Van An", "Thi Mai", "Van Binh", "Thi Lan", "Minh Tuan", "Thi Hoa", "Duc Cuong", "Thi Thao"),
           ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang"), True),
    "es": (("María", "José", "Juan", "Guadalupe", "Alejandro", "Fernanda", "Luis", "Sofía", "Carlos", "Verónica",
            "Jorge", "Patricia"), _MX_SURNAMES, False),
    "IN": (("Rajesh", "Priya", "Amit", "Sunita", "Vikram", "Anjali", "Suresh", "Deepa", "Arjun", "Kavita"),
           ("Sharma", "Patel", "Gupta", "Singh", "Iyer", "Reddy", "Nair", "Mehta", "Jain", "Agarwal"), False),
    "TR": (("Mehmet", "Ayşe", "Mustafa", "Fatma", "Emre", "Elif", "Burak", "Zeynep", "Hakan", "Selin"),
           ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk", "Arslan", "Doğan"), False),
    "BD": (("Rahim", "Fatema", "Karim", "Nusrat", "Tanvir", "Sharmin", "Imran", "Farhana"),
           ("Rahman", "Hossain", "Islam", "Ahmed", "Chowdhury", "Uddin", "Akter", "Khan"), False),
    "ID": (("Budi", "Siti", "Agus", "Dewi", "Andi", "Ratna", "Hendra", "Wulan"),
           ("Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama"), False),
    "TH": (("Somchai", "Nattaya", "Anan", "Kanya", "Prasert", "Siriporn", "Wichai", "Pimchanok"),
           ("Saetang", "Srisuk", "Wongsa", "Thongchai", "Kongsuk", "Rattanakul", "Sukjai"), False),
    "MY": (("Ahmad", "Nurul", "Wei Ming", "Mei Ling", "Kok Seng", "Siew Lan", "Hafiz", "Aisyah"),
           ("Tan", "Lim", "Wong", "Abdullah", "Ismail", "Lee", "Ong"), False),
    "KR": (("Min-jun", "Seo-yeon", "Ji-hoon", "Yu-na", "Hyun-woo", "Soo-jin", "Dong-hyun", "Eun-ji"),
           ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"), True),
    "JP": (("Hiroshi", "Yuki", "Kenji", "Akiko", "Takeshi", "Naomi", "Daisuke", "Emi"),
           ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"), False),
    "DE": (("Thomas", "Anna", "Michael", "Katrin", "Stefan", "Julia", "Andreas", "Sabine"), _DE_SURNAMES,
           False),
    "IT": (("Marco", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Matteo", "Elena"), _IT_SURNAMES,
           False),
    "FR": (("Pierre", "Camille", "Julien", "Claire", "Nicolas", "Sophie"),
           ("Martin", "Bernard", "Dubois", "Laurent", "Moreau", "Lefebvre"), False),
    "DK": (("Lars", "Mette", "Søren", "Anne", "Jens", "Camilla"),
           ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen"), False),
    "CH": (("Lukas", "Laura", "Marc", "Nicole", "Daniel", "Sandra"),
           ("Müller", "Meier", "Keller", "Brunner", "Baumann", "Frei"), False),
    "en": (("James", "Jennifer", "Michael", "Sarah", "David", "Emily", "Robert", "Jessica", "Kevin", "Laura",
            "Brian", "Megan"),
           _EN_SURNAMES, False),
}
_PEOPLE_OF = {"CN": "zh", "TW": "zh", "HK": "zh", "MX": "es", "SG": "MY", "VN": "VN", "IN": "IN", "TR": "TR",
              "BD": "BD", "ID": "ID", "TH": "TH", "MY": "MY", "KR": "KR", "JP": "JP", "DE": "DE", "IT": "IT",
              "FR": "FR", "DK": "DK", "CH": "CH"}

# Comments on partial and missing answers, by criterion category (1-12) and language.
_GAPS: dict[str, dict[int, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "en": {
        1: (("Security policy exists but has not been signed by the new plant manager.",
             "Policy reviewed in 2023; annual review not documented since."),
            ("No written security policy yet; drafting with our consultant.",)),
        2: (("Risk assessment done for the main plant only, not the second warehouse.",
             "Threat review done yearly, but the 5-step process is not written down."),
            ("We have not done a documented supply chain risk assessment.",)),
        3: (("We screen new subcontractors but not the existing ones.",
             "Trucking company questionnaires collected for 3 of 5 carriers."),
            ("Business partner screening is not done; we rely on the forwarder.",)),
        4: (("Passwords changed every 180 days, not 90. Updating the policy this quarter.",
             "Firewall in place; no documented test of the backup restore yet."),
            ("No cybersecurity policy; IT is handled by one person.",)),
        5: (("7-point inspection done on every container; checklist not kept for 12 months.",
             "Trailer inspections are done but photos are not archived."),
            ("Conveyances are not inspected before loading.",)),
        6: (("ISO 17712 seals used; seal log kept on paper, moving to the ERP.",
             "Seal verification (VVTT) trained for loading staff, not for guards yet."),
            ("Seals are stored in an unlocked drawer; lock box ordered.",)),
        7: (("Loading supervised, but the security officer is not always present at night.",
             "Cargo discrepancies reported by email; no written procedure."),
            ("No written procedure for reporting shortages and overages.",)),
        8: (("Wood packaging is ISPM 15 stamped; pest inspection not logged.",),
            ("We do not inspect pallets for pests.",)),
        9: (("Perimeter fence repaired on the east side; lighting upgrade planned.",
             "CCTV covers the loading docks; recordings kept 14 days, not 30."),
            ("No CCTV in the container yard.",)),
        10: (("Visitor log kept, but badges are not collected at exit.",
              "Employee ID cards issued; contractors not badged yet."),
             ("Vehicles enter the yard without a guard check.",)),
        11: (("Background checks for new hires only; existing staff not re-screened.",),
             ("No background checks under local law; references only.",)),
        12: (("Security awareness training given at hiring; refresher not yearly yet.",
              "Training records kept for warehouse staff only."),
             ("No security training program in place.",)),
    },
    "es": {
        1: (("La política de seguridad existe pero falta la firma del nuevo gerente.",),
            ("Aún no tenemos política de seguridad por escrito.",)),
        2: (("Evaluación de riesgos solo de la planta principal.",),
            ("No hemos documentado la evaluación de riesgos de la cadena.",)),
        3: (("Revisamos a los nuevos transportistas, no a los actuales.",),
            ("No evaluamos a nuestros socios comerciales.",)),
        4: (("Contraseñas cada 180 días, no cada 90; se actualiza la política.",),
            ("No hay política de ciberseguridad.",)),
        5: (("Inspección de 7 puntos sin registro archivado por 12 meses.",),
            ("No se inspeccionan los tractocamiones antes de cargar.",)),
        6: (("Sellos ISO 17712; la bitácora de sellos es en papel.",),
            ("Los sellos no se guardan bajo llave.",)),
        7: (("La carga se supervisa, pero no siempre en el turno nocturno.",),
            ("No hay procedimiento escrito para faltantes y sobrantes.",)),
        8: (("Tarimas con sello NIMF 15; inspección de plagas sin registro.",),
            ("No se revisan las tarimas por plagas.",)),
        9: (("Barda perimetral reparada; falta mejorar la iluminación.",),
            ("No hay cámaras en el patio de contenedores.",)),
        10: (("Bitácora de visitantes, pero no se recogen los gafetes.",),
             ("Los vehículos entran al patio sin revisión del guardia.",)),
        11: (("Verificación de antecedentes solo a personal nuevo.",),
             ("No se verifican antecedentes, solo referencias.",)),
        12: (("Capacitación de seguridad al ingreso; falta el repaso anual.",),
             ("No hay programa de capacitación en seguridad.",)),
    },
    "zh": {
        1: (("已有安全政策，但新任厂长尚未签署。",), ("尚无书面安全政策，正在起草。",)),
        2: (("仅对主厂区做了风险评估，第二仓库未覆盖。",), ("尚未进行书面的供应链风险评估。",)),
        3: (("新分包商已审核，现有分包商尚未审核。",), ("未对业务伙伴进行审核，依赖货代。",)),
        4: (("密码每180天更换一次，非90天；本季度更新制度。",), ("没有网络安全制度。",)),
        5: (("每个集装箱都做七点检查，但记录未保存12个月。",), ("装货前未检查运输工具。",)),
        6: (("使用ISO 17712封条；封条登记仍为纸质。",), ("封条未上锁保管，已订购保险柜。",)),
        7: (("装货有人监督，但夜班安全员不一定在场。",), ("没有货物短溢报告的书面程序。",)),
        8: (("木质包装有IPPC标识；虫害检查未记录。",), ("未检查托盘虫害。",)),
        9: (("东侧围墙已修复；照明改造计划中。",), ("集装箱堆场没有监控。",)),
        10: (("有访客登记，但离开时未收回访客证。",), ("车辆进入堆场时保安未检查。",)),
        11: (("仅对新员工做背景调查。",), ("未做背景调查，仅核对推荐人。",)),
        12: (("入职时有安全培训，尚无年度复训。",), ("没有安全培训计划。",)),
    },
}
_ASCII = str.maketrans({"ı": "i", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "đ": "d", "Đ": "D"})
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MID_SKIP = {"a", "an", "and", "of", "the"}
# Name words that tell nothing apart: legal-form leftovers normalize_name keeps ("S.A." gives "s a").
_FORM_WORDS = frozenset("a c h k l r s v sdn bhd private joint stock public pt indonesia industrial".split())
_FUNNEL = {"not sent": 6, "sent": 20, "opened": 12, "in progress": 16, "submitted": 14, "returned": 5,
           "accepted": 27}
_ANSWERED = ("in progress", "submitted", "returned", "accepted")
_VALUES = np.array(["yes", "partial", "no", "na"], dtype=object)
_RETURN_NOTES = ("Please upload a photo of the 7-point inspection checklist.",
                 "Please attach the current seal log (last 3 months).",
                 "Which date is the corrective action planned for?",
                 "Please confirm this also covers the second warehouse.",
                 "Please attach the signed security policy.")

# Trading agents' home country -> where the factories they speak for are.
_AGENT_FACTORIES = {"HK": ("CN", "VN"), "CN": ("CN",), "VN": ("VN",), "TW": ("TW", "CN"), "IN": ("IN",),
                    "TR": ("TR",), "SG": ("MY", "ID", "TH", "VN")}
# Chance that a partner of a CTPAT-eligible type (in the US, Mexico or Canada; any sea carrier) is certified.
_CTPAT_ODDS = {HWY: .35, MXL: .45, SEA: .6, AIR: .3, RAIL: .8, TPL: .5, CON: .3, BRK: .6, PORT: .5, IMP: .4}


@dataclass
class DemoSummary:
    """How many rows seed_demo wrote."""

    partners: int
    certifications: int
    cycles: int
    assignments: int
    answers: int


def seed_demo(*, session: Session, partners: int = 200, seed: int = 2027, today: date | None = None) -> DemoSummary:
    """Fill an empty database with a believable demo: company profile, partners, certificates and two cycles.

    The reference tables (countries, criteria, applicability, MRA programs) must be loaded and the partner table
    empty; raises ValueError otherwise. The same (partners, seed, today) always produces the same rows; only the
    one "Loaded demo data" audit event carries the real time. Rows are flushed, not committed: the caller commits.
    """
    today = today or date.today()
    _check_ready(session, partners)
    rng = random.Random(seed)
    gen = np.random.default_rng(seed)
    clock = _Clock(today, aware=bool(getattr(Partner.__table__.c.created_at.type, "timezone", False)))

    if session.exec(select(func.count()).select_from(CompanyProfile)).one() == 0:
        _bulk(session, CompanyProfile, [_company(rng, clock)])
    firms = _build_partners(rng, partners, clock)
    _bulk(session, Partner, [f.row for f in firms])
    ids = dict(session.exec(select(Partner.partner_code, Partner.id)).all())
    for firm in firms:
        firm.id = ids[firm.row["partner_code"]]
    links = [{"id": f.id, "parent_id": firms[f.parent].id} for f in firms if f.parent is not None]
    if links:
        session.exec(update(Partner), params=links)

    certificates = _certifications(session, rng, firms, clock)
    assignments, questionnaires = _cycles(session, rng, firms, certificates, clock)
    answers = _answers(session, gen, firms, questionnaires)
    # The stored certificates, and the open cycle's exemptions that follow from them, come from here.
    certified = demo_certificates.seed_certificates(session=session, seed=seed, today=today)

    summary = DemoSummary(partners=len(firms), certifications=certified.certificates, cycles=2,
                          assignments=assignments, answers=answers)
    _bulk(session, AuditEvent, [{
        "at": clock.real_now(), "username": "system", "action": "create", "entity": "demo", "entity_id": "",
        "summary": f"Loaded demo data: {summary.partners} partners, {summary.certifications} certificates, "
                   f"{summary.assignments} questionnaires, {summary.answers} answers (seed {seed}, as of {today})",
        "after": asdict(summary),
    }])
    session.flush()
    return summary


def _check_ready(session: Session, partners: int) -> None:
    if not 1 <= partners <= MAX_PARTNERS:
        raise ValueError(f"Demo partners must be between 1 and {MAX_PARTNERS:,}; got {partners}.")
    for model, what in ((Country, "country"), (Criterion, "criterion"),
                        (CriterionApplicability, "criterion applicability"), (MraProgram, "MRA program")):
        if session.exec(select(func.count()).select_from(model)).one() == 0:
            raise ValueError(f"Load the reference data before the demo data: the {what} table is empty.")
    if session.exec(select(func.count()).select_from(Partner)).one():
        raise ValueError("Demo data can only be loaded into an empty database: the partner table already has rows.")


class _Clock:
    """Demo times relative to `today`, in the form the timestamp columns store."""

    def __init__(self, today: date, *, aware: bool) -> None:
        self.today = today
        # SQLModel 0.0.50 stores plain datetime fields as aware UTC; NaiveDatetime columns take naive UTC.
        self.tz = UTC if aware else None
        self.now = self.at(today, 16)

    def at(self, day: date, hours: float = 0.0) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz) + timedelta(seconds=round(hours * 3600))

    def real_now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=self.tz)


def _bulk(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Core executemany in chunks: several times faster than ORM objects, and never a query per row."""
    table = model.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), _CHUNK):
        session.exec(insert(table), params=rows[start:start + _CHUNK])


def _company(rng: random.Random, clock: _Clock) -> dict[str, Any]:
    """Dana's company: certified five years ago and validated 3.5 years ago, so revalidation is due within a year."""
    certified = clock.today - timedelta(days=round(5 * 365.25) + rng.randint(-40, 40))
    return {
        "legal_name": "Bluecrest Home & Electronics, Inc.",
        "ctpat_account_number": _account_number(rng),
        "entity_type": IMP,
        "tier": "Tier II",
        "certification_date": certified,
        "last_validation_date": clock.today - timedelta(days=round(3.5 * 365.25) + rng.randint(-20, 20)),
        "annual_review_anniversary": certified,
        "ior_number": f"{rng.randint(20, 98)}-{rng.randint(1000000, 9999999)}00",
        "primary_contact": "Dana Whitfield",
        "primary_contact_email": "dana.whitfield@bluecrest-home.example",
        "updated_at": clock.now,
    }


def _account_number(rng: random.Random) -> str:
    return rng.choice("BCDFGHJKLMNPRSTVWXZ") + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=7))


class _Firm:
    """A partner row under construction, with what the later steps need to know about it."""

    __slots__ = ("row", "parent", "id", "onboarded", "weakness")

    def __init__(self, row: dict[str, Any], onboarded: date, weakness: float) -> None:
        self.row = row
        self.parent: int | None = None  # index of the parent firm
        self.id = 0
        self.onboarded = onboarded
        self.weakness = weakness  # how often the partner falls short of a criterion


class _Taken:
    """Names and identifiers already given out, so they stay unique."""

    def __init__(self) -> None:
        self.names: set[tuple[str, ...]] = set()
        self.values: dict[str, set[str]] = {}
        self.iata = [a + b for a in _UPPER for b in _UPPER + "0123456789"]

    def fresh(self, field: str, make: Callable[[], str]) -> str:
        used = self.values.setdefault(field, set())
        value = make()
        while value in used:
            value = make()
        used.add(value)
        return value


def _allocate(total: int) -> list[str]:
    """Entity type of each partner: the importer's mix, with every type present from 24 partners on."""
    counts = {entity: int(share * total) for entity, share in _MIX.items()}
    if total >= 2 * len(ENTITY_TYPES):
        counts = {entity: max(1, n) for entity, n in counts.items()}
    counts[FM] += total - sum(counts.values())
    return [entity for entity, n in counts.items() for _ in range(n)]


def _build_partners(rng: random.Random, total: int, clock: _Clock) -> list[_Firm]:
    entities = _allocate(total)
    rng.shuffle(entities)
    taken = _Taken()
    firms = []
    for number, entity in enumerate(entities, start=1):
        country = rng.choices(list(_WHERE[entity]), weights=list(_WHERE[entity].values()))[0]
        firms.append(_make_firm(rng, number, entity, country, clock, taken))
    _link_agents(rng, firms)
    _shares_and_criticality(rng, firms)
    return firms


def _make_firm(rng: random.Random, number: int, entity: str, country: str, clock: _Clock, taken: _Taken) -> _Firm:
    style = _STYLES[country]
    city, lat, lon = rng.choice(_CITIES[country])
    name = _company_name(rng, entity, country, city, taken)
    street_number = rng.randint(1, 2999)
    mid = None
    if entity == FM:  # the MID is built from the address, so a clash means another street number
        used = taken.values.setdefault("mid", set())
        mid = _mid(country, name, street_number, city)
        while mid in used:
            street_number = rng.randint(1, 9999)
            mid = _mid(country, name, street_number, city)
        used.add(mid)
    contact = _person(rng, country)
    streets = rng.sample(style.streets, 2)
    onboarded = clock.today - timedelta(days=rng.randint(20, 3300))
    status = "inactive" if rng.random() < 0.03 else "active"
    row: dict[str, Any] = {
        "partner_code": f"P-{number:06d}", "legal_name": name, "normalized_name": normalize_name(name),
        "entity_type": entity, "country_iso2": country,
        "address": style.address.format(n=street_number, s=streets[0], s2=streets[1], L=rng.choice("ABCDE"),
                                        m=rng.randint(1, 12)),
        "city": city,
        "latitude": round(lat + rng.uniform(-0.05, 0.05), 5), "longitude": round(lon + rng.uniform(-0.05, 0.05), 5),
        "mid": mid, "scac": None, "ior_ein": None, "duns": None, "fmc": None, "iata_code": None,
        "broker_license": None, "usdot": None,
        "contact_name": contact, "contact_email": f"{_slug(contact, '.')}@{_domain(name, city)}",
        "language": "zh" if country in _CHINESE else "es" if country in _SPANISH else "en",
        "criticality": "medium", "import_share": None, "status": status,
        "notes": f"Deactivated: no purchase orders since {clock.today.year - rng.randint(1, 3)}."
                 if status == "inactive" else "",
        "created_at": clock.at(onboarded, rng.uniform(8, 18)),
        "updated_at": clock.at(onboarded + timedelta(days=rng.randint(0, (clock.today - onboarded).days)),
                               rng.uniform(8, 18)),
    }
    row.update(_identifiers(rng, entity, country, name, taken))
    return _Firm(row, onboarded, rng.betavariate(1.3, 9))


def _words(name: str) -> list[str]:
    return [w for w in normalize_name(name).split() if w not in _FORM_WORDS]


def _company_name(rng: random.Random, entity: str, country: str, city: str, taken: _Taken) -> str:
    """A company name whose words (ignoring order and legal form) no other partner in the country has."""
    style = _STYLES[country]
    attempt = 0
    while True:
        pick = rng.randrange(len(style.first) + len(style.surnames))
        if pick >= len(style.first):
            surname, family = style.surnames[pick - len(style.first)], rng.choice(style.family)
            brand = f"{surname} {family}".strip() if family != surname else surname
        else:
            first, second = style.first[pick], rng.choice(style.second)
            if style.joined:
                brand = first + second if first.lower() != second else first + "xing"
            else:
                brand = f"{first} {second}".strip() if second != first else first
        if attempt >= 12:  # a crowded name space (tens of thousands of partners): real groups number their plants
            brand = f"{brand} Unit {attempt - 10}"
        if entity == FM:
            template = rng.choice(style.makers)
        elif country == "MX" and entity in _SERVICES_ES:
            template = rng.choice(_SERVICES_ES[entity]) + style.form
        else:
            template = ("{city} " if country == "CN" else "") + "{brand} " + rng.choice(_SERVICES[entity]) + style.form
        name = template.format(brand=brand, product=rng.choice(style.products), city=city)
        key = (country, *sorted(set(_words(name))))
        if key not in taken.names:
            taken.names.add(key)
            return name
        attempt += 1


def _person(rng: random.Random, country: str) -> str:
    given, surnames, surname_first = _PEOPLE[_PEOPLE_OF.get(country, "en")]
    first, last = rng.choice(given), rng.choice(surnames)
    return f"{last} {first}" if surname_first else f"{first} {last}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text.translate(_ASCII)).encode("ascii", "ignore").decode()


def _slug(text: str, sep: str) -> str:
    return sep.join(re.findall(r"[a-z0-9]+", _ascii(text).lower()))


def _domain(name: str, city: str) -> str:
    skip = {*_slug(city, " ").split(), "del", "la", "las", "los", "y", "e", "di", "du", "le"}
    words = [w for w in _words(_ascii(name)) if w not in skip]
    return f"{'-'.join(words[:2]) or 'partner'}.example"  # a reserved TLD: demo invitations can never reach anyone


def _mid(country: str, name: str, street_number: int, city: str) -> str:
    """CBP's manufacturer ID: country, 3 letters of the first two name words, street number digits, 3 of the city."""
    words = [w for w in re.findall(r"[A-Za-z]+", _ascii(name)) if w.lower() not in _MID_SKIP]
    city_part = re.sub(r"[^A-Za-z]", "", _ascii(city))[:3]
    return (country + "".join(w[:3] for w in words[:2]) + str(street_number)[:4] + city_part).upper()[:15]


def _identifiers(rng: random.Random, entity: str, country: str, name: str, taken: _Taken) -> dict[str, str]:
    """The trade identifiers a partner of this type and country holds, in their valid formats."""
    ids: dict[str, str] = {}
    us = country == "US"
    if entity in (HWY, MXL, SEA, RAIL) or (entity == CON and rng.random() < 0.6) or (
            entity == TPL and rng.random() < 0.4):
        initials = "".join(re.findall(r"[A-Z]", _ascii(name)))
        length = 3 if entity == SEA else 4

        def scac() -> str:  # mostly the name's initials; ocean carriers' codes end in U
            start = initials if rng.random() < 0.7 else ""
            return (start + "".join(rng.choices(_UPPER, k=4)))[:length] + ("U" if entity == SEA else "")

        ids["scac"] = taken.fresh("scac", scac)
    if entity == HWY or (entity == TPL and us and rng.random() < 0.5):
        ids["usdot"] = taken.fresh("usdot", lambda: str(rng.randint(1_000_000, 3_999_999)))
    if entity == AIR:
        ids["iata_code"] = (taken.iata.pop(rng.randrange(len(taken.iata))) if taken.iata
                            else taken.fresh("icao", lambda: "".join(rng.choices(_UPPER, k=3))))
    elif entity == CON and rng.random() < 0.35:  # air freight forwarders hold an IATA cargo agent code
        ids["iata_code"] = taken.fresh("iata", lambda: f"{rng.randint(1, 99):02d}{rng.randint(10000, 99999)}")
    if entity == CON or (entity == TPL and us and rng.random() < 0.3):
        suffix = rng.choice(("NF", "F")) if us else "N"
        ids["fmc"] = taken.fresh("fmc", lambda: f"{rng.randint(1, 999999):06d}{suffix}")
    if entity == BRK:
        ids["broker_license"] = taken.fresh("broker", lambda: str(rng.randint(10000, 99999)))
    if entity == IMP or (us and entity in (BRK, TPL, CON, EXP) and rng.random() < 0.5):
        suffix = "00" if entity == IMP else ""  # an importer of record number is the EIN plus a suffix
        ids["ior_ein"] = taken.fresh("ein", lambda: f"{rng.randint(10, 98)}-{rng.randint(1000000, 9999999)}{suffix}")
    if rng.random() < (0.8 if country in ("US", "CA") else 0.55):
        ids["duns"] = taken.fresh("duns", lambda: f"{rng.randint(10_000_000, 999_999_999):09d}")
    return ids


def _link_agents(rng: random.Random, firms: list[_Firm]) -> None:
    """Make some exporters and consolidators the parent of 2-6 factories they answer questionnaires for."""
    free: dict[str, list[int]] = {}
    for i, firm in enumerate(firms):
        if firm.row["entity_type"] == FM:
            free.setdefault(firm.row["country_iso2"], []).append(i)
    for i, agent in enumerate(firms):
        row = agent.row
        chosen = (row["entity_type"] == EXP and rng.random() < 0.75) or (
            row["entity_type"] == CON and row["country_iso2"] in ("HK", "CN", "VN") and rng.random() < 0.3)
        if not chosen or row["status"] != "active" or row["country_iso2"] not in _AGENT_FACTORIES:
            continue
        pool = [j for country in _AGENT_FACTORIES[row["country_iso2"]] for j in free.get(country, [])]
        wanted = min(rng.randint(2, 6), len(pool))
        if wanted < 2:
            continue
        for j in rng.sample(pool, wanted):
            firms[j].parent = i
            free[firms[j].row["country_iso2"]].remove(j)
        row["notes"] = f"Trading agent for {wanted} factories; returns their questionnaires in one Excel file."


def _shares_and_criticality(rng: random.Random, firms: list[_Firm]) -> None:
    """Import shares over active factories (a long tail summing to ~100 %); criticality by share or by type."""
    makers = [f for f in firms if f.row["entity_type"] == FM and f.row["status"] == "active"]
    weights = [rng.paretovariate(1.16) for _ in makers]
    total = sum(weights)
    for firm, weight in zip(makers, weights, strict=True):
        firm.row["import_share"] = max(round(100 * weight / total, 3), 0.001)
    ranked = sorted(makers, key=lambda f: -f.row["import_share"])
    for rank, firm in enumerate(ranked):
        position = rank / len(ranked)
        firm.row["criticality"] = ("critical" if position < 0.03 else "high" if position < 0.2 else
                                   "medium" if position < 0.65 else "low")
    for firm in firms:
        entity = firm.row["entity_type"]
        if entity != FM:
            firm.row["criticality"] = rng.choices(("low", "medium", "high", "critical"), _CRITICALITY[entity])[0]
        elif firm.row["status"] == "inactive":
            firm.row.update(import_share=0.0, criticality="low")


def _certifications(session: Session, rng: random.Random, firms: list[_Firm], clock: _Clock) -> list[dict[str, Any]]:
    """CTPAT certificates for eligible partners; MRA-recognized (AEO-type) certificates in MRA countries."""
    programs: dict[str, MraProgram] = {}
    for program in session.exec(select(MraProgram).order_by(col(MraProgram.id))).all():
        for code in program.country_codes.split():
            programs.setdefault(code, program)
    rows = []
    for firm in firms:
        entity, country = firm.row["entity_type"], firm.row["country_iso2"]
        odds = _CTPAT_ODDS.get(entity, 0.0) if country in ("US", "MX", "CA") or entity == SEA else 0.0
        if entity == FM and country in ("MX", "CA"):
            odds = 0.1
        program = programs.get(country)
        if rng.random() < odds:
            number, acronym, program_id = _account_number(rng), "CTPAT", None
        elif program and rng.random() < (0.25 if entity in (FM, EXP, CON) else 0.4):
            number, acronym, program_id = _mra_number(rng, program, country), program.acronym, program.id
        else:
            continue
        expired = rng.random() < 0.1
        valid_until = clock.today + timedelta(days=-rng.randint(5, 400) if expired else rng.randint(30, 1100))
        verified_on = None
        if rng.random() < 0.82:
            verified_on = min(clock.today, valid_until) - timedelta(days=rng.randint(3, 330))
        rows.append({
            "partner_id": firm.id, "program": acronym, "mra_program_id": program_id, "certificate_number": number,
            "valid_until": valid_until, "verified_on": verified_on, "verified_by": "luis" if verified_on else "",
            "created_at": clock.at(verified_on or clock.today - timedelta(days=rng.randint(1, 200)), 10),
        })
    return rows


def _mra_number(rng: random.Random, program: MraProgram, country: str) -> str:
    if program.acronym == "AEO" and (len(program.country_codes.split()) > 1 or country == "GB"):
        return f"{country}AEO{rng.choice('FCS')}{rng.randint(1, 999999):06d}"  # EU/UK style: DEAEOF000123
    return f"{program.acronym}-{country}-{rng.randint(1, 999999):06d}"


@dataclass
class _Questionnaire:
    """An assignment that has answers: whose, how far it got, and when it was answered."""

    assignment_id: int
    firm: int
    status: str
    opened: datetime
    finished: datetime  # submitted, or the last save while in progress
    reviewed: datetime | None
    reviewer: str
    open_cycle: bool


def _cycles(session: Session, rng: random.Random, firms: list[_Firm], certificates: list[dict[str, Any]],
            clock: _Clock) -> tuple[int, list[_Questionnaire]]:
    """Last season's closed annual review and this season's open one; returns the assignment count and the
    assignments that have answers."""
    today = clock.today
    closed_due = date(today.year if today > date(today.year, 1, 31) else today.year - 1, 1, 31)
    open_due = today + timedelta(days=60)
    # Named by the January they are due in, as the team names them ("2027 annual review" is due 31 January 2027).
    names = (f"{closed_due.year} annual review", f"{closed_due.year + 1} annual review")
    if session.exec(select(Cycle.id).where(col(Cycle.name).in_(names))).first():
        raise ValueError(f"A cycle named {names[0]!r} or {names[1]!r} already exists.")
    # (start, last activity): reviews of the closed cycle ran two weeks past its due date.
    windows = ((closed_due - timedelta(days=92), closed_due + timedelta(days=14)),
               (open_due - timedelta(days=90), today))
    _bulk(session, Cycle, [
        {"name": name, "due_date": due, "default_language": "en", "status": status, "created_by": "luis",
         "created_at": clock.at(start, 14)}
        for name, due, status, (start, _) in zip(names, (closed_due, open_due), ("closed", "open"), windows,
                                                 strict=True)])
    cycle_ids = dict(session.exec(select(Cycle.name, Cycle.id).where(col(Cycle.name).in_(names))).all())
    exempt = {c["partner_id"]: c for c in certificates if c["verified_on"]}

    rows: list[dict[str, Any]] = []
    plans: list[tuple[int, dict[str, Any], bool]] = []
    for i, firm in enumerate(firms):
        for is_open, (start, limit) in enumerate(windows):
            if is_open and firm.row["status"] != "active":
                continue
            if not is_open and (firm.onboarded >= start or rng.random() < 0.04):
                continue
            cert = exempt.get(firm.id)
            reason = ""
            known = cert and cert["verified_on"] <= (today if is_open else start)  # verified before the cycle
            if known and cert["valid_until"] >= (open_due if is_open else closed_due) and rng.random() < 0.9:
                status = "exempt"
                label = "CTPAT" if cert["program"] == "CTPAT" else f"MRA-recognized {cert['program']}"
                reason = (f"{label} certificate {cert['certificate_number']} verified on {cert['verified_on']}, "
                          f"valid until {cert['valid_until']}")
            elif is_open:
                status = rng.choices(list(_FUNNEL), weights=list(_FUNNEL.values()))[0]
            else:
                status = rng.choices(("accepted", "returned", "submitted", "sent"), (88, 3, 3, 6))[0]
            row = _assignment(rng, clock, cycle_ids[names[is_open]], firm, status, start, limit, reason)
            rows.append(row)
            if status in _ANSWERED:
                plans.append((i, row, bool(is_open)))
    _bulk(session, Assignment, rows)
    ids = {(c, p): a for a, c, p in session.exec(select(Assignment.id, Assignment.cycle_id, Assignment.partner_id)
                                                 .where(col(Assignment.cycle_id).in_(list(cycle_ids.values()))))}
    return len(rows), [
        _Questionnaire(ids[(row["cycle_id"], row["partner_id"])], i, row["status"], row["opened_at"],
                       row["submitted_at"] or row["updated_at"], row["reviewed_at"], row["reviewed_by"], is_open)
        for i, row, is_open in plans]


def _assignment(rng: random.Random, clock: _Clock, cycle_id: int, firm: _Firm, status: str, start: date,
                limit: date, reason: str) -> dict[str, Any]:
    """One assignment whose timestamps follow its status, in order, between the cycle start and `limit`."""
    begin = clock.at(start, 9)
    end = min(clock.now, clock.at(limit, 17))

    def later(after: datetime, share: float) -> datetime:
        return after + (end - after) * (share * rng.random())

    sent = opened = saved = submitted = reviewed = None
    reviewer = ""
    if status == "exempt":
        reviewed, reviewer = later(begin, 0.05), "luis"
    elif status != "not sent":
        sent = later(begin, 0.15)
        if status != "sent":
            opened = later(sent, 0.4)
        if opened and status == "in progress":
            saved = later(opened, 1.0)
        if opened and status in ("submitted", "returned", "accepted"):
            submitted = later(opened, 0.7)
        if submitted and status in ("returned", "accepted"):
            reviewed, reviewer = later(submitted, 1.0), rng.choice(("luis", "luis", "luis", "dana"))
    return {
        "cycle_id": cycle_id, "partner_id": firm.id, "status": status, "language": firm.row["language"],
        "exempt_reason": reason, "token_hash": None, "token_expires_at": None, "token_revoked": False,
        "sent_at": sent, "opened_at": opened, "submitted_at": submitted, "reviewed_at": reviewed,
        "reviewed_by": reviewer,
        "updated_at": max((t for t in (sent, opened, saved, submitted, reviewed) if t), default=begin),
    }


def _answers(session: Session, gen: np.random.Generator, firms: list[_Firm],
             questionnaires: list[_Questionnaire]) -> int:
    """Answers to every applicable criterion (a leading part of them while in progress), in bulk; returns the count.

    Each partner has one underlying answer pattern; this season repeats last season's answers with a few changes,
    as a partner does when it edits a pre-filled questionnaire.
    """
    applicable = session.exec(
        select(CriterionApplicability.entity_type, Criterion.criterion_id, Criterion.category_number)
        .join(Criterion, col(Criterion.criterion_id) == col(CriterionApplicability.criterion_id))
        .where(CriterionApplicability.applies == "yes")
        .order_by(col(CriterionApplicability.entity_type), col(Criterion.sort_key))).all()
    criteria = sorted({(cid, category) for _, cid, category in applicable})
    position = {cid: k for k, (cid, _) in enumerate(criteria)}
    lists: dict[str, list[int]] = {}
    for entity, cid, _ in applicable:
        lists.setdefault(entity, []).append(position[cid])
    by_type = {entity: np.array(cols, dtype=np.int64) for entity, cols in lists.items()}
    categories = np.array([category for _, category in criteria])

    shape = (len(firms), len(criteria))
    gap = np.clip(np.array([f.weakness for f in firms])[:, None] * gen.uniform(0.4, 1.8, len(criteria))[None, :],
                  0, 0.7).astype(np.float32)
    last_year = _draw_codes(gen, gap)
    this_year = np.where(gen.random(shape, dtype=np.float32) < 0.08, _draw_codes(gen, gap * 0.7), last_year)
    picks = gen.integers(0, 1 << 30, shape, dtype=np.int32)

    rows: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    total = 0
    for q in questionnaires:
        firm = firms[q.firm]
        cols = by_type.get(firm.row["entity_type"], np.array([], dtype=np.int64))
        if q.status == "in progress":
            cols = cols[:max(1, math.ceil(len(cols) * gen.uniform(0.15, 0.9)))]
        values = _VALUES[(this_year if q.open_cycle else last_year)[q.firm, cols]].tolist()
        parent = firms[firm.parent] if firm.parent is not None else None
        source = "file" if parent or picks[q.firm, 0] % 10 == 0 else "link"
        answered_by = (parent or firm).row["contact_name"]
        texts = _GAPS[firm.row["language"]]
        comments = [_comment(texts, category, value, pick) for category, value, pick in
                    zip(categories[cols].tolist(), values, picks[q.firm, cols].tolist(), strict=True)]
        ids = [criteria[k][0] for k in cols.tolist()]
        start = 0
        for count, stamp in _saves(gen, len(ids), q, source):
            day = stamp.date()
            rows.extend({"assignment_id": q.assignment_id, "criterion_id": cid, "value": value, "comment": comment,
                         "answered_on": day, "source": source, "answered_by": answered_by, "recorded_at": stamp,
                         "is_current": True}
                        for cid, value, comment in zip(ids[start:start + count], values[start:start + count],
                                                       comments[start:start + count], strict=True))
            start += count
        if q.status == "returned":
            notes.extend(_return_notes(gen, q, cols.tolist(), values, criteria))
        if len(rows) >= _CHUNK:
            _bulk(session, Answer, rows)
            total += len(rows)
            rows = []
    _bulk(session, Answer, rows)
    _bulk(session, ReviewComment, notes)
    return total + len(rows)


def _comment(texts: dict[int, tuple[tuple[str, ...], tuple[str, ...]]], category: int, value: str, pick: int) -> str:
    """A short explanation for a partial or missing answer, fitting the criterion's category."""
    if value not in ("partial", "no"):
        return ""
    options = texts.get(category, texts[7])[value == "no"]
    return options[pick % len(options)]


def _saves(gen: np.random.Generator, count: int, q: _Questionnaire, source: str) -> list[tuple[int, datetime]]:
    """When the answers were recorded: (how many, when) per save, in questionnaire order.

    An uploaded file records everything at once; a partner on the link saves one to three times, the last save
    at submission (or at the assignment's last update while still in progress).
    """
    if source == "file":
        return [(count, q.finished)]
    saves = min(count, int(gen.integers(1, 4)))
    sizes = [len(part) for part in np.array_split(np.arange(count), saves)]
    return [(size, q.opened + (q.finished - q.opened) * ((k + 1) / saves)) for k, size in enumerate(sizes)]


def _draw_codes(gen: np.random.Generator, gap: np.ndarray) -> np.ndarray:
    """Index into _VALUES: mostly yes; a gap is partial twice as often as no; a few criteria do not apply on site."""
    roll = gen.random(gap.shape, dtype=np.float32)
    codes = np.where(roll < gap * 0.65, 1, np.where(roll < gap, 2, 0)).astype(np.int8)
    codes[gen.random(gap.shape, dtype=np.float32) < 0.015] = 3
    return codes


def _return_notes(gen: np.random.Generator, q: _Questionnaire, cols: list[int], values: list[str],
                  criteria: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Why a submission was sent back: the reviewer's comment on one or two weak answers (else any question)."""
    weak = [k for k, value in zip(cols, values, strict=True) if value in ("partial", "no")] or cols
    chosen = gen.choice(weak, size=min(len(weak), int(gen.integers(1, 3))), replace=False).tolist()
    return [{"assignment_id": q.assignment_id, "criterion_id": criteria[k][0],
             "comment": _RETURN_NOTES[int(gen.integers(len(_RETURN_NOTES)))], "author": q.reviewer,
             "created_at": q.reviewed, "resolved": False} for k in chosen]
