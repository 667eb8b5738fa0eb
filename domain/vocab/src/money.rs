//! Money as integer euro cents: no float ever touches a price.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub u32);

impl Cents {
    /// Parses a euro amount as people write it: `12`, `12.5`, `12.50`, `12,50`.
    pub fn parse_eur(raw: &str) -> Option<Cents> {
        let raw = raw.trim();
        let (whole, frac) = match raw.split_once(['.', ',']) {
            Some((w, f)) => (w, f),
            None => (raw, ""),
        };
        if whole.is_empty() || whole.len() > 6 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (raw.len() > whole.len() && frac.is_empty())
        {
            return None;
        }
        let cents_part = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().ok()? * 10,
            _ => frac.parse::<u32>().ok()?,
        };
        Some(Cents(whole.parse::<u32>().ok()? * 100 + cents_part))
    }

    pub fn checked_mul(self, n: u32) -> Option<Cents> {
        self.0.checked_mul(n).map(Cents)
    }

    /// `self × n`, capped at the largest amount (for display of amounts already checked when
    /// the order was priced).
    pub fn saturating_mul(self, n: u32) -> Cents {
        Cents(self.0.saturating_mul(n))
    }

    pub fn saturating_add(self, other: Cents) -> Cents {
        Cents(self.0.saturating_add(other.0))
    }

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }
}

crate::named_enum! {
    /// A French VAT rate, a property of each product (the rate of food to eat soon, of food to
    /// keep, of alcohol).
    pub enum VatRate {
        Reduced = "5.5",
        Intermediate = "10",
        Standard = "20",
    }
}

impl VatRate {
    /// The rate in basis points (10 % = 1 000).
    pub fn basis_points(self) -> u32 {
        match self {
            VatRate::Reduced => 550,
            VatRate::Intermediate => 1000,
            VatRate::Standard => 2000,
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            VatRate::Reduced => "5,5 %",
            VatRate::Intermediate => "10 %",
            VatRate::Standard => "20 %",
        }
    }

    /// The VAT inside an amount that includes it (prices are shown and charged with VAT),
    /// rounded to the nearest cent.
    pub fn vat_in(self, with_vat: Cents) -> Cents {
        let bp = u64::from(self.basis_points());
        let gross = u64::from(with_vat.0);
        let net = (gross * 10_000 + (10_000 + bp) / 2) / (10_000 + bp);
        Cents(u32::try_from(gross - net).unwrap_or(u32::MAX))
    }
}

/// French display: `12,50 €`.
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{:02}\u{a0}€", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_is_taken_out_of_prices_that_include_it() {
        assert_eq!(VatRate::Intermediate.vat_in(Cents(1100)), Cents(100));
        assert_eq!(VatRate::Standard.vat_in(Cents(1200)), Cents(200));
        // 9,50 € at 10 %: 8,636… net, so 0,86 € of VAT.
        assert_eq!(VatRate::Intermediate.vat_in(Cents(950)), Cents(86));
        assert_eq!(VatRate::Reduced.vat_in(Cents(211)), Cents(11));
        assert_eq!(VatRate::Reduced.vat_in(Cents(0)), Cents(0));
        assert_eq!(VatRate::parse("5.5"), Some(VatRate::Reduced));
    }

    #[test]
    fn euro_amounts_parse_to_cents() {
        for (raw, cents) in [
            ("12", 1200),
            ("12.5", 1250),
            ("12.50", 1250),
            ("12,05", 1205),
            (" 9.9 ", 990),
            ("0.01", 1),
        ] {
            assert_eq!(Cents::parse_eur(raw), Some(Cents(cents)), "{raw}");
        }
        for raw in [
            "", "12.", ".5", "12.505", "-3", "1e3", "12 50", "douze", "1234567",
        ] {
            assert_eq!(Cents::parse_eur(raw), None, "{raw}");
        }
    }

    #[test]
    fn amounts_display_the_french_way() {
        assert_eq!(Cents(1250).to_string(), "12,50\u{a0}€");
        assert_eq!(Cents(5).to_string(), "0,05\u{a0}€");
    }
}
