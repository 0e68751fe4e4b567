//! Exact money: amounts and per-token prices as integer picodollars.
//!
//! Costs are summed over thousands of ledger rows and compared against budgets, so they
//! must add up exactly: summed `f64`s drift, and a budget check that is off by a rounding
//! error refuses (or allows) the wrong request. Every amount here is an `i64` count of
//! picodollars (1e-12 USD). That resolution makes every price in the catalog exact: a
//! cached read at $0.01875 per 1M tokens is 18,750 picodollars per token, and the
//! cheapest listed prices ($0.01 per 1M tokens) are 10,000. An `i64` holds up to about
//! $9.2 million, far beyond any request or monthly total; arithmetic saturates rather than
//! wraps.
//!
//! `f64` appears only at the edges: reading prices from JSON or the profile
//! ([`Usd::from_dollars`], [`Price::per_token`], [`Price::per_million`]) and writing
//! `--json` output ([`Usd::to_dollars`]). Display goes through [`Usd`]'s `Display`, which
//! formats the integer directly.

use std::fmt;
use std::iter::Sum;

/// Picodollars per dollar.
const PICOS_PER_DOLLAR: i64 = 1_000_000_000_000;
/// Picodollars per microdollar: the unit of the sixth decimal place.
const PICOS_PER_MICRO: u64 = 1_000_000;

/// Converts a non-negative, finite amount already scaled to picodollars into an `i64`,
/// rounding to the nearest integer; `None` for NaN, infinities, negatives and overflow.
// In range and integral after the checks, so the cast is exact.
#[allow(clippy::cast_possible_truncation)]
fn picos_from_scaled(scaled: f64) -> Option<i64> {
    // `2^63` is exactly representable; anything at or above it does not fit an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !scaled.is_finite() || scaled < 0.0 {
        return None;
    }
    let rounded = scaled.round();
    if rounded >= LIMIT {
        return None;
    }
    Some(rounded as i64)
}

/// An amount of money in US dollars, held as an integer number of picodollars (1e-12 USD).
///
/// # Display
///
/// `Usd` prints as dollars with a `$` sign (and a leading `-` when negative):
///
/// - the amount is rounded to 6 decimals (the nearest microdollar, halves away from zero),
///   then trailing zeros are trimmed, keeping at least 2 decimals: `$0.000636`, `$0.0012`,
///   `$0.50`, `$12.50`, `$1.234567`, `$0.00`;
/// - a non-zero amount that would round to `$0.00` that way is shown with 2 significant
///   digits instead, so that a real cost never reads as zero: `$0.00000004`,
///   `$0.000000012`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Usd(i64);

impl Usd {
    /// Nothing: $0.
    pub const ZERO: Usd = Usd(0);

    /// An amount from a count of picodollars (1e-12 USD), e.g. as stored in the ledger.
    pub const fn from_picos(picos: i64) -> Usd {
        Usd(picos)
    }

    /// The amount as a count of picodollars (1e-12 USD).
    pub const fn picos(self) -> i64 {
        self.0
    }

    /// Whole dollars, for constants and tests: `Usd::dollars(5)` is $5.
    pub const fn dollars(whole: i64) -> Usd {
        Usd(whole.saturating_mul(PICOS_PER_DOLLAR))
    }

    /// An amount from a dollar figure (a profile budget, a provider's own cost report),
    /// rounded to the nearest picodollar. `None` for NaN, infinities, negative amounts and
    /// amounts too large to hold (about $9.2 million).
    pub fn from_dollars(usd: f64) -> Option<Usd> {
        picos_from_scaled(usd * 1e12).map(Usd)
    }

    /// The amount in dollars as an `f64`, for JSON output only: never add these up.
    #[allow(clippy::cast_precision_loss)]
    pub fn to_dollars(self) -> f64 {
        // Exact below 2^53 picodollars (about $9,007); one rounding in the division.
        self.0 as f64 / 1e12
    }

    /// `self + other`, saturating at the bounds instead of wrapping.
    #[must_use]
    pub const fn saturating_add(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }

    /// `self - other`, saturating at the bounds instead of wrapping. The result may be
    /// negative (e.g. the budget left after overspending).
    #[must_use]
    pub const fn saturating_sub(self, other: Usd) -> Usd {
        Usd(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let micros =
            abs / PICOS_PER_MICRO + u64::from(abs % PICOS_PER_MICRO >= PICOS_PER_MICRO / 2);
        if micros == 0 && abs != 0 {
            // Below half a microdollar: 2 significant digits out of the 12 decimals.
            let digits = abs.ilog10() + 1;
            let kept = if digits > 2 {
                let unit = 10u64.pow(digits - 2);
                (abs / unit + u64::from(abs % unit >= unit / 2)) * unit
            } else {
                abs
            };
            let frac = format!("{kept:012}");
            return write!(f, "{sign}$0.{}", frac.trim_end_matches('0'));
        }
        let whole = micros / PICOS_PER_MICRO;
        let frac = format!("{:06}", micros % PICOS_PER_MICRO);
        let trimmed = frac.trim_end_matches('0');
        let shown = if trimmed.len() < 2 {
            &frac[..2]
        } else {
            trimmed
        };
        write!(f, "{sign}${whole}.{shown}")
    }
}

impl Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, Usd::saturating_add)
    }
}

impl<'a> Sum<&'a Usd> for Usd {
    fn sum<I: Iterator<Item = &'a Usd>>(iter: I) -> Usd {
        iter.copied().sum()
    }
}

/// A price per token, held as an integer number of picodollars per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(i64);

impl Price {
    /// A price from USD per token, as `LiteLLM`'s catalog gives it (`3e-06`), rounded to the
    /// nearest picodollar. `None` for NaN, infinities and negative prices.
    pub fn per_token(usd: f64) -> Option<Price> {
        picos_from_scaled(usd * 1e12).map(Price)
    }

    /// A price from USD per 1M tokens, as profiles and price pages give it (`3.0`), rounded
    /// to the nearest picodollar per token. `None` for NaN, infinities and negative prices.
    pub fn per_million(usd: f64) -> Option<Price> {
        picos_from_scaled(usd * 1e6).map(Price)
    }

    /// A price from a count of picodollars per token.
    pub const fn from_picos(picos: i64) -> Price {
        Price(picos)
    }

    /// The price as a count of picodollars per token.
    pub const fn picos(self) -> i64 {
        self.0
    }

    /// The price in USD per 1M tokens, for display only.
    #[allow(clippy::cast_precision_loss)]
    pub fn per_million_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// The cost of `tokens` tokens at this price, saturating instead of overflowing.
    pub fn times(self, tokens: u64) -> Usd {
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        Usd(self.0.saturating_mul(tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(picos: i64) -> String {
        Usd::from_picos(picos).to_string()
    }

    #[test]
    fn display_rounds_to_six_decimals_and_trims_to_two() {
        assert_eq!(show(0), "$0.00");
        assert_eq!(show(636_000_000), "$0.000636"); // the contract's example
        assert_eq!(show(1_200_000_000), "$0.0012");
        assert_eq!(show(500_000_000_000), "$0.50");
        assert_eq!(show(12_500_000_000_000), "$12.50");
        assert_eq!(show(1_234_567_000_000), "$1.234567");
        assert_eq!(show(1_000_000_000_000), "$1.00");
        assert_eq!(show(1_000_000), "$0.000001");
        // Rounds to the nearest microdollar, halves away from zero.
        assert_eq!(show(1_234_567_499_999), "$1.234567");
        assert_eq!(show(1_234_567_500_000), "$1.234568");
        assert_eq!(show(9_565_600_000), "$0.009566");
        assert_eq!(show(999_999_500_000), "$1.00");
        assert_eq!(show(500_000), "$0.000001");
    }

    #[test]
    fn display_keeps_two_significant_digits_below_half_a_microdollar() {
        assert_eq!(show(40_000), "$0.00000004");
        assert_eq!(show(12_345), "$0.000000012");
        assert_eq!(show(12_500), "$0.000000013");
        assert_eq!(show(499_999), "$0.0000005");
        assert_eq!(show(1), "$0.000000000001");
        assert_eq!(show(75), "$0.000000000075");
    }

    #[test]
    fn display_negative_amounts() {
        assert_eq!(show(-500_000_000_000), "-$0.50");
        assert_eq!(show(-40_000), "-$0.00000004");
        assert_eq!(show(i64::MIN), "-$9223372.036855");
        assert_eq!(show(i64::MAX), "$9223372.036855");
    }

    #[test]
    fn from_dollars_rounds_to_the_nearest_picodollar() {
        assert_eq!(
            Usd::from_dollars(0.000_636),
            Some(Usd::from_picos(636_000_000))
        );
        assert_eq!(Usd::from_dollars(5.0), Some(Usd::dollars(5)));
        assert_eq!(Usd::from_dollars(0.0), Some(Usd::ZERO));
        assert_eq!(Usd::from_dollars(1.4e-12), Some(Usd::from_picos(1)));
        assert_eq!(Usd::from_dollars(-0.01), None);
        assert_eq!(Usd::from_dollars(f64::NAN), None);
        assert_eq!(Usd::from_dollars(f64::INFINITY), None);
        assert_eq!(Usd::from_dollars(1e12), None);
    }

    #[test]
    fn to_dollars_is_for_json() {
        assert!((Usd::from_picos(636_000_000).to_dollars() - 0.000_636).abs() < 1e-18);
        assert_eq!(
            serde_json::json!(Usd::from_picos(636_000_000).to_dollars()).to_string(),
            "0.000636"
        );
    }

    #[test]
    fn prices_are_exact_in_picodollars() {
        assert_eq!(Price::per_million(0.01875), Some(Price::from_picos(18_750)));
        assert_eq!(Price::per_token(1.875e-08), Some(Price::from_picos(18_750)));
        assert_eq!(Price::per_token(3e-06), Some(Price::from_picos(3_000_000)));
        assert_eq!(Price::per_million(3.0), Price::per_token(3e-06));
        assert_eq!(Price::per_token(1.25e-07), Some(Price::from_picos(125_000)));
        assert_eq!(Price::per_million(-1.0), None);
        assert_eq!(Price::per_token(f64::NAN), None);
        assert!((Price::from_picos(18_750).per_million_f64() - 0.01875).abs() < 1e-12);
    }

    #[test]
    fn times_and_sums_are_exact() {
        // 0.1 + 0.2 in f64 is 0.30000000000000004; in picodollars it is exact.
        let a = Usd::from_dollars(0.1).unwrap();
        let b = Usd::from_dollars(0.2).unwrap();
        assert_eq!(a.saturating_add(b), Usd::from_dollars(0.3).unwrap());
        // A million requests of 7 tokens at $0.01875/1M add up to exactly $0.13125.
        let one = Price::per_million(0.01875).unwrap().times(7);
        let total: Usd = std::iter::repeat_n(one, 1_000_000).sum();
        assert_eq!(total, Usd::from_picos(131_250_000_000));
        assert_eq!(total.to_string(), "$0.13125");
        let refs = [one, one];
        assert_eq!(refs.iter().sum::<Usd>(), Usd::from_picos(2 * 131_250));
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            Price::from_picos(2).times(u64::MAX),
            Usd::from_picos(i64::MAX)
        );
        assert_eq!(
            Usd::from_picos(i64::MAX).saturating_add(Usd::from_picos(1)),
            Usd::from_picos(i64::MAX)
        );
        assert_eq!(Usd::ZERO.saturating_sub(Usd::dollars(1)), Usd::dollars(-1));
        assert_eq!(
            Usd::from_picos(i64::MIN).saturating_sub(Usd::from_picos(1)),
            Usd::from_picos(i64::MIN)
        );
        assert_eq!(
            [Usd::from_picos(i64::MAX), Usd::dollars(1)]
                .into_iter()
                .sum::<Usd>(),
            Usd::from_picos(i64::MAX)
        );
    }
}
