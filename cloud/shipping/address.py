"""The shipping address: the fewest fields that work, checked clearly, sealed at rest.

Name, one or two street lines, postcode, city and country (ISO 3166 code from the list we
ship to). Stored as JSON sealed with AES-GCM under a key derived from ETHOS_SECRET_KEY and
bound to the order id, so a database dump shows no address and a sealed value copied onto
another order does not open.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from markupsafe import Markup, escape

from cloud import sealing
from cloud.domain import InputErrors

# Where we ship: code → name shown in the form (the EU, the EEA, Switzerland, the UK).
COUNTRIES: dict[str, str] = {
    "AT": "Austria",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CH": "Switzerland",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IS": "Iceland",
    "IT": "Italy",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "NL": "Netherlands",
    "NO": "Norway",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SI": "Slovenia",
    "SK": "Slovakia",
}


@functools.lru_cache(maxsize=len(COUNTRIES) + 1)
def _options(selected: str) -> Markup:
    return Markup("").join(
        Markup('<option value="{}"{}>{}</option>').format(
            code, Markup(" selected") if code == selected else "", escape(name)
        )
        for code, name in COUNTRIES.items()
    )


def country_options(selected: str | None) -> Markup:
    """The country list's `<option>`s with `selected` chosen, made once per country (every
    checkout page shows them)."""
    return _options(selected if selected in COUNTRIES else "")


FIELD_NAMES = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_postcode",
    "ship_city",
    "ship_country",
)
MAX_LENGTHS = {"ship_name": 100, "ship_line1": 100, "ship_line2": 100, "ship_city": 80}
POSTCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,10}$")


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    line2: str
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2

    @property
    def country_name(self) -> str:
        return COUNTRIES.get(self.country, self.country)

    def lines(self) -> list[str]:
        """As written on a parcel."""
        street = [self.line1, self.line2] if self.line2 else [self.line1]
        return [self.name, *street, f"{self.postcode} {self.city}", self.country_name]


def _clean(value: str | None) -> str:
    """Trimmed, inner whitespace collapsed, NFC; control characters make it unusable."""
    text = unicodedata.normalize("NFC", " ".join((value or "").split()))
    return text


def parse_address(form: Mapping[str, str]) -> Address:
    """The address posted by the checkout form; InputErrors names every field at fault."""
    values = {name: _clean(form.get(name)) for name in FIELD_NAMES}
    errors: dict[str, str] = {}
    labels = {"ship_name": "a name", "ship_line1": "a street and number", "ship_city": "a city"}
    for name, label in labels.items():
        if not values[name]:
            errors[name] = f"Enter {label}."
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            errors[name] = f"Keep it under {limit} characters."
        elif any(unicodedata.category(ch).startswith("C") for ch in values[name]):
            errors[name] = "Use letters, digits and punctuation only."
    if not POSTCODE_RE.match(values["ship_postcode"]):
        errors["ship_postcode"] = "Enter the postcode (letters, digits, spaces or dashes)."
    country = values["ship_country"].upper()
    if country not in COUNTRIES:
        errors["ship_country"] = "Choose a country we ship to."
    if errors:
        raise InputErrors(errors)
    return Address(
        name=values["ship_name"],
        line1=values["ship_line1"],
        line2=values["ship_line2"],
        postcode=values["ship_postcode"].upper(),
        city=values["ship_city"],
        country=country,
    )


def seal_address(secret_key: str, order_id: str, address: Address) -> str:
    plain = json.dumps(asdict(address), ensure_ascii=False, separators=(",", ":")).encode()
    return sealing.seal(secret_key, sealing.PURPOSE_SHIPPING_ADDRESSES, order_id, plain)


def unseal_address(secret_key: str, order_id: str, sealed: str) -> Address:
    plain = sealing.unseal(secret_key, sealing.PURPOSE_SHIPPING_ADDRESSES, order_id, sealed)
    return Address(**json.loads(plain))
