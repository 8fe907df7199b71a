"""Writes the two hand-made retailer exports under ``tests/exports/`` (run once; output committed).

They imitate real public exports, not lakeshop's generator:

``marketplace/``  a Brazilian marketplace's export (BRL, no exchange rates): orders in two
    yearly files (the second without ``order_delivered_carrier_date``), one row per unit sold
    with its seller and freight, payments by sequence with installments and no timestamp, a
    customer file covering about a tenth of the customers, products whose categories are in
    Portuguese (some empty, two without translation), a translation file, sellers.
``invoices/``  an online shop's invoice-line export (GBP): one file per season feeding orders,
    lines, products and customers; ``Customer ID`` written as a float (``12923.0``) or empty
    for guests; credit notes (``C`` invoices, negative quantities); two bad-debt adjustments
    (``A`` invoices) to be filtered out; US dates without seconds (``12/1/2010 8:26``).

Usage: ``python tests/exports/make_exports.py`` (deterministic: a fixed seed).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
START = datetime(2017, 11, 20, 0, 0, 0)
DAYS = 56  # 2017-11-20 .. 2018-01-14: three calendar months, a year boundary

CATEGORIES = [
    "cama_mesa_banho",
    "beleza_saude",
    "esporte_lazer",
    "informatica_acessorios",
    "moveis_decoracao",
    "utilidades_domesticas",
    "relogios_presentes",
    "telefonia",
    "brinquedos",
    "pc_gamer",  # no translation (as in the real file)
    "portateis_cozinha_e_preparadores_de_alimentos",  # no translation
]
TRANSLATION = {
    "cama_mesa_banho": "bed_bath_table",
    "beleza_saude": "health_beauty",
    "esporte_lazer": "sports_leisure",
    "informatica_acessorios": "computers_accessories",
    "moveis_decoracao": "furniture_decor",
    "utilidades_domesticas": "housewares",
    "relogios_presentes": "watches_gifts",
    "telefonia": "telephony",
    "brinquedos": "toys",
}
STATES = [
    ("sao paulo", "SP"),
    ("rio de janeiro", "RJ"),
    ("belo horizonte", "MG"),
    ("curitiba", "PR"),
]


def hexid(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def ts(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")


def write(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def marketplace(rng: random.Random) -> None:
    out = HERE / "marketplace"
    sellers = [hexid(rng) for _ in range(25)]
    products = []
    for _ in range(120):
        cat = rng.choice(CATEGORIES) if rng.random() > 0.03 else ""
        products.append((hexid(rng), cat, round(rng.uniform(9, 400), 2)))
    customers = []
    orders, items, payments = [], [], []
    statuses = (
        ["delivered"] * 90
        + ["shipped"] * 4
        + ["canceled"] * 3
        + ["unavailable", "invoiced", "processing"]
    )
    for _ in range(900):
        cust = hexid(rng)
        city, state = rng.choice(STATES)
        customers.append([cust, hexid(rng), f"{rng.randint(1000, 99999):05d}", city, state])
        bought = START + timedelta(seconds=rng.randint(0, DAYS * 86400 - 1))
        status = rng.choice(statuses)
        approved = bought + timedelta(minutes=rng.randint(5, 600))
        carrier = (
            approved + timedelta(days=rng.randint(1, 4))
            if status in ("delivered", "shipped")
            else None
        )
        delivered = (
            carrier + timedelta(days=rng.randint(2, 15))
            if status == "delivered" and carrier
            else None
        )
        estimated = bought + timedelta(days=rng.randint(10, 30))
        oid = hexid(rng)
        orders.append(
            [
                oid,
                cust,
                status,
                ts(bought),
                ts(approved),
                ts(carrier),
                ts(delivered),
                estimated.strftime("%Y-%m-%d 00:00:00"),
            ]
        )
        total = 0.0
        lines = rng.choices([1, 2, 3, 4], weights=[80, 12, 5, 3])[0]
        for k in range(1, lines + 1):
            if k > 1:
                rng.random()  # kept: the committed files were drawn with it
            pid, _, price = products[rng.randrange(len(products))]
            freight = round(rng.uniform(7, 45), 2)
            items.append(
                [
                    oid,
                    k,
                    pid,
                    rng.choice(sellers),
                    ts(bought + timedelta(days=3)),
                    f"{price:.2f}",
                    f"{freight:.2f}",
                ]
            )
            total += price + freight
        total = round(total, 2)
        if rng.random() < 0.06:  # voucher plus card
            part = round(total * rng.uniform(0.1, 0.5), 2)
            payments.append([oid, 1, "credit_card", rng.randint(1, 10), f"{total - part:.2f}"])
            payments.append([oid, 2, "voucher", 1, f"{part:.2f}"])
        else:
            kind = rng.choices(["credit_card", "boleto", "debit_card"], weights=[75, 20, 5])[0]
            payments.append(
                [oid, 1, kind, rng.randint(1, 10) if kind == "credit_card" else 1, f"{total:.2f}"]
            )
    rng.shuffle(customers)
    kept = customers[: len(customers) // 10]
    write(
        out / "olist_customers_dataset.csv",
        [
            "customer_id",
            "customer_unique_id",
            "customer_zip_code_prefix",
            "customer_city",
            "customer_state",
        ],
        kept,
    )
    orders.sort(key=lambda r: r[3])
    head = [
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ]
    y17 = [r for r in orders if r[3] < "2018"]
    y18 = [r[:5] + r[6:] for r in orders if r[3] >= "2018"]  # this year's export lost a column
    write(out / "orders" / "olist_orders_2017.csv", head, y17)
    write(out / "orders" / "olist_orders_2018.csv", head[:5] + head[6:], y18)
    write(
        out / "olist_order_items_dataset.csv",
        [
            "order_id",
            "order_item_id",
            "product_id",
            "seller_id",
            "shipping_limit_date",
            "price",
            "freight_value",
        ],
        items,
    )
    write(
        out / "olist_order_payments_dataset.csv",
        ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
        payments,
    )
    write(
        out / "olist_products_dataset.csv",
        [
            "product_id",
            "product_category_name",
            "product_name_lenght",
            "product_description_lenght",
            "product_photos_qty",
            "product_weight_g",
        ],
        [
            [
                pid,
                cat,
                rng.randint(20, 60),
                rng.randint(100, 2000),
                rng.randint(1, 6),
                rng.randint(100, 20000),
            ]
            for pid, cat, _ in products
        ],
    )
    write(
        out / "product_category_name_translation.csv",
        ["product_category_name", "product_category_name_english"],
        sorted(TRANSLATION.items()),
    )
    write(
        out / "olist_sellers_dataset.csv",
        ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
        [[s, f"{rng.randint(1000, 99999):05d}", *rng.choice(STATES)] for s in sellers],
    )


STOCK = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55),
    ("71053", "WHITE METAL LANTERN", 3.39),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25),
    ("22633", "HAND WARMER UNION JACK", 1.85),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 1.69),
    ("22745", "POPPY'S PLAYHOUSE BEDROOM ", 2.10),
    ("48187", "DOORMAT NEW ENGLAND", 7.95),
    ("22960", "JAM MAKING SET WITH JARS", 4.25),
    ("POST", "POSTAGE", 18.00),
    ("M", "Manual", 0.85),
]


def us_time(t: datetime) -> str:
    return f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"


def invoices(rng: random.Random) -> None:
    out = HERE / "invoices"
    customers = [
        (
            f"{rng.randint(12346, 18287)}.0",
            rng.choice(["United Kingdom"] * 8 + ["France", "Germany", "EIRE"]),
        )
        for _ in range(80)
    ]
    rows: list[list[object]] = []
    sold: list[tuple[str, str, str, float, datetime, str, str]] = []
    number = 536365
    start = datetime(2010, 12, 1, 8, 0)
    for day in range(50):
        for _ in range(rng.randint(4, 10)):
            number += 1
            when = start + timedelta(days=day, minutes=rng.randint(0, 600))
            guest = rng.random() < 0.12
            cust, country = ("", "United Kingdom") if guest else rng.choice(customers)
            for code, desc, price in rng.sample(STOCK, rng.randint(1, 6)):
                qty = rng.choice([1, 2, 3, 4, 6, 12, 24])
                p = round(price * rng.choice([1, 1, 1, 0.85]), 2)
                rows.append([str(number), code, desc, qty, us_time(when), f"{p:g}", cust, country])
                if cust:
                    sold.append((str(number), code, desc, p, when, cust, country))
            if rng.random() < 0.04:  # the same item twice on one invoice (as real exports have)
                again = list(rows[-1])
                again[3] = rng.choice([again[3], 1, 2])
                rows.append(again)
    # credit notes: a later C invoice returning part of an earlier line, no reference to it
    for _ in range(30):
        _, code, desc, price, when, cust, country = rng.choice(sold)
        number += 1
        later = when + timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 300))
        rows.append(
            [
                f"C{number}",
                code,
                desc,
                -rng.choice([1, 2, 3]),
                us_time(later),
                f"{price:g}",
                cust,
                country,
            ]
        )
    # a discount credit and two bad-debt adjustments
    number += 1
    rows.append(
        [
            f"C{number}",
            "D",
            "Discount",
            -1,
            us_time(start + timedelta(days=20, hours=5)),
            "27.5",
            customers[0][0],
            customers[0][1],
        ]
    )
    rows.append(
        [
            "A563185",
            "B",
            "Adjust bad debt",
            1,
            us_time(start + timedelta(days=30, hours=3)),
            "11062.06",
            "",
            "United Kingdom",
        ]
    )
    rows.append(
        [
            "A563186",
            "B",
            "Adjust bad debt",
            1,
            us_time(start + timedelta(days=30, hours=3)),
            "-11062.06",
            "",
            "United Kingdom",
        ]
    )
    rows.sort(key=lambda r: datetime.strptime(str(r[4]), "%m/%d/%Y %H:%M"))
    head = [
        "Invoice",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "Price",
        "Customer ID",
        "Country",
    ]
    cut = datetime(2011, 1, 1)
    first = [r for r in rows if datetime.strptime(str(r[4]), "%m/%d/%Y %H:%M") < cut]
    second = [r for r in rows if datetime.strptime(str(r[4]), "%m/%d/%Y %H:%M") >= cut]
    write(out / "online_retail_2010.csv", head, first)
    write(out / "online_retail_2011.csv", head, second)


if __name__ == "__main__":
    marketplace(random.Random(2017))
    invoices(random.Random(2010))
