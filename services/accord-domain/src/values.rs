//! Value types with their own rules: exact amounts, currencies, dates and periods.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

/// An exact decimal quantity (money, a target, an indicator value). Never a float: JSON gives it
/// as a decimal string (`"1250000.50"`) or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub Decimal);

impl Amount {
    pub const ZERO: Self = Self(Decimal::ZERO);

    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The sum of amounts. It saturates at the end of the decimal range instead of overflowing:
    /// the ledger accepts amounts up to a quadrillion, so only a history stored before that rule
    /// could get there, and a read model must still answer for it.
    pub fn total(amounts: impl IntoIterator<Item = Decimal>) -> Decimal {
        amounts
            .into_iter()
            .fold(Decimal::ZERO, Decimal::saturating_add)
    }

    /// `num / den` as a float; `None` when `den` is zero. A quotient beyond the decimal range
    /// is divided as floats instead of overflowing.
    pub fn ratio(num: Decimal, den: Decimal) -> Option<f64> {
        use rust_decimal::prelude::ToPrimitive;
        if den.is_zero() {
            return None;
        }
        match num.checked_div(den) {
            Some(q) => q.to_f64(),
            None => Some(num.to_f64()? / den.to_f64()?),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Amount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed.is_empty() || trimmed.contains(['e', 'E']) || trimmed != s {
            return Err(format!(
                "must be a plain decimal like \"1250.50\", got {s:?}"
            ));
        }
        Decimal::from_str_exact(s)
            .map(Self)
            .map_err(|_| format!("must be a plain decimal like \"1250.50\", got {s:?}"))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string or an integer (never a float)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Amount, E> {
                Err(E::custom(format!(
                    "must be a decimal string or an integer, never a float (got {v}); write \"{v}\""
                )))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// An ISO 4217 currency code: three uppercase letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(format!(
                "must be an ISO 4217 code of three uppercase letters, got {s:?}"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII uppercase letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A closed range of calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub start: Date,
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub end: Date,
}

/// `YYYY-MM-DD` dates in JSON.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::format_description::well_known::Iso8601;
    use time::macros::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    pub fn parse(s: &str) -> Result<Date, String> {
        Date::parse(s, FORMAT).map_err(|_| format!("must be a date YYYY-MM-DD, got {s:?}"))
    }

    pub fn format(d: &Date) -> String {
        d.format(FORMAT)
            .unwrap_or_else(|_| d.format(&Iso8601::DATE).unwrap_or_default())
    }

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::Date;

        pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| super::parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_or_integers_never_floats() {
        let a: Amount = serde_json::from_str("\"1250000.50\"").expect("string");
        assert_eq!(a.to_string(), "1250000.50");
        let b: Amount = serde_json::from_str("42").expect("integer");
        assert_eq!(b.to_string(), "42");
        let err = serde_json::from_str::<Amount>("0.1").expect_err("float");
        assert!(err.to_string().contains("never a float"), "{err}");
        for bad in ["\"1e5\"", "\" 1\"", "\"abc\"", "\"\""] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&a).expect("ser"), "\"1250000.50\"");
    }

    #[test]
    fn totals_and_ratios_never_overflow() {
        let max = Decimal::MAX;
        assert_eq!(Amount::total([max, max, Decimal::ONE]), max);
        assert_eq!(
            Amount::total([Decimal::ONE, Decimal::TWO]),
            Decimal::from(3)
        );
        let tiny = Decimal::new(1, 28);
        let ratio = Amount::ratio(max, tiny).expect("a quotient");
        assert!(ratio > 1e56, "{ratio}");
        assert_eq!(Amount::ratio(Decimal::ONE, Decimal::ZERO), None);
        assert_eq!(Amount::ratio(Decimal::ONE, Decimal::from(4)), Some(0.25));
    }

    #[test]
    fn currencies_are_three_uppercase_letters() {
        assert_eq!(Currency::parse("USD").expect("usd").as_str(), "USD");
        for bad in ["usd", "US", "USDT", "U$D", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}

/// RFC 3339 times in JSON, with an error that says what is expected.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub fn parse(s: &str) -> Result<OffsetDateTime, String> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| format!("must be an RFC 3339 time like 2026-03-01T09:00:00Z, got {s:?}"))
    }

    /// `t` as RFC 3339 (an instant that RFC 3339 cannot write, before year 0, gives "").
    pub fn format(t: OffsetDateTime) -> String {
        t.format(&Rfc3339).unwrap_or_default()
    }

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::serialize(t, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}
