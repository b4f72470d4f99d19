"""Exact money: integer minor units plus an ISO 4217 currency code.

Money is never a float anywhere in omnisync. Parsing accepts decimal strings (or ``Decimal`` /
``int``), refuses anything that would lose a digit for the currency, and formatting gives back the
exact decimal string, so ``19.99`` stays ``19.99`` through import, plan, feed and export.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 active codes and their minor-unit exponents (number of decimal places).
# Source: ISO 4217 list one (the SIX maintenance agency table). Codes with exponent 2 are the default.
_EXPONENT_0 = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
_EXPONENT_3 = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_EXPONENT_4 = {"CLF", "UYW"}
_EXPONENT_2 = {
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "UYU",
    "UZS",
    "VED",
    "VES",
    "WST",
    "XCD",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
}

CURRENCIES: dict[str, int] = {
    **{c: 2 for c in _EXPONENT_2},
    **{c: 0 for c in _EXPONENT_0},
    **{c: 3 for c in _EXPONENT_3},
    **{c: 4 for c in _EXPONENT_4},
}

# The largest amount omnisync accepts, in minor units: well inside SQLite's 64-bit integers and
# inside every channel's own limits. A price beyond it is a typo, not a product.
MAX_MINOR = 10**13


class MoneyError(ValueError):
    """A value that is not an exact amount in the given currency."""


def exponent(currency: str) -> int:
    try:
        return CURRENCIES[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r} (expected an ISO 4217 code such as USD)") from None


def is_currency(code: str) -> bool:
    return code in CURRENCIES


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An exact amount: ``minor`` units (cents for USD) of ``currency``."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"minor units must be an int, got {type(self.minor).__name__}")
        exponent(self.currency)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def parse(cls, value: str | Decimal | int, currency: str) -> Money:
        """Parse an exact decimal amount in major units ("19.99") into Money.

        Refuses floats, NaN, infinities, negative amounts, amounts above ``MAX_MINOR`` and amounts
        with more decimal places than the currency has.
        """
        if isinstance(value, float):
            raise MoneyError("money must not be a float; pass a decimal string")
        exp = exponent(currency)
        if isinstance(value, bool):
            raise MoneyError("not a number")
        if isinstance(value, int):
            dec = Decimal(value)
        elif isinstance(value, Decimal):
            dec = value
        else:
            text = str(value).strip()
            if not text:
                raise MoneyError("empty amount")
            try:
                dec = Decimal(text)
            except InvalidOperation:
                raise MoneyError(f"{text!r} is not a number") from None
        if not dec.is_finite():
            raise MoneyError(f"{value!r} is not a finite number")
        if dec < 0:
            raise MoneyError(f"{value!r} is negative")
        scaled = dec.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{value!r} has more than {exp} decimal places for {currency}")
        minor = int(scaled)
        if minor > MAX_MINOR:
            raise MoneyError(f"{value!r} is too large")
        return cls(minor, currency)

    @classmethod
    def from_decimal_rounded(cls, dec: Decimal, currency: str) -> Money:
        """Round a computed Decimal (after a markup, say) half-up to the currency's minor unit."""
        exp = exponent(currency)
        minor = int(dec.scaleb(exp).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return cls(max(minor, 0), currency)

    # -- views -------------------------------------------------------------------------------
    @property
    def amount(self) -> Decimal:
        """The exact amount in major units, with exactly the currency's decimal places."""
        exp = exponent(self.currency)
        return Decimal(self.minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))

    def to_str(self) -> str:
        """``"19.99"``: the exact amount, as the currency writes it, without the code."""
        return str(self.amount) if exponent(self.currency) else str(self.minor)

    def __str__(self) -> str:
        return f"{self.to_str()} {self.currency}"

    def to_json(self) -> dict[str, str]:
        return {"amount": self.to_str(), "currency": self.currency}
