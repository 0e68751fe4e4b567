//! What a model's tokens cost: [`Pricing`] in integer picodollars per token, and
//! [`cost`], which adds integers only (see `money.rs` for why).

use crate::money::{Price, Usd};
use crate::provider::types::Usage;

/// Above this many input tokens, a model's long-context prices (LiteLLM's
/// `*_above_200k_tokens`) apply to the whole request, as Anthropic and Gemini bill it.
pub const LONG_CONTEXT_THRESHOLD: u64 = 200_000;

/// A model's prices, in picodollars per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    /// Uncached input (prompt) tokens.
    pub input: Price,
    /// Output tokens, reasoning included.
    pub output: Price,
    /// Input tokens read from the prompt cache; `input` when absent.
    pub cache_read: Option<Price>,
    /// Input tokens written to the prompt cache (Anthropic); `input` when absent.
    pub cache_write: Option<Price>,
    /// `input` for requests of more than [`LONG_CONTEXT_THRESHOLD`] input tokens.
    pub input_above_200k: Option<Price>,
    /// `output` for requests of more than [`LONG_CONTEXT_THRESHOLD`] input tokens.
    pub output_above_200k: Option<Price>,
    /// `cache_read` for requests of more than [`LONG_CONTEXT_THRESHOLD`] input tokens.
    pub cache_read_above_200k: Option<Price>,
    /// Input tokens written to a 1-hour prompt cache (Anthropic); `cache_write`
    /// when absent.
    pub cache_write_1h: Option<Price>,
    /// Reasoning tokens, where a model prices them apart from other output;
    /// `output` when absent.
    pub reasoning: Option<Price>,
    /// `input` through the provider's batch API.
    pub batch_input: Option<Price>,
    /// `output` through the provider's batch API.
    pub batch_output: Option<Price>,
    /// `cache_read` through the provider's batch API.
    pub batch_cache_read: Option<Price>,
}

impl Pricing {
    /// Just an input and an output price (e.g. from a profile's `input_cost` and
    /// `output_cost`); cached tokens then cost as much as other input.
    pub fn flat(input: Price, output: Price) -> Pricing {
        Pricing {
            input,
            output,
            cache_read: None,
            cache_write: None,
            input_above_200k: None,
            output_above_200k: None,
            cache_read_above_200k: None,
            cache_write_1h: None,
            reasoning: None,
            batch_input: None,
            batch_output: None,
            batch_cache_read: None,
        }
    }
}

/// The cost of one request: integer picodollars, never a float sum.
///
/// `usage.input_tokens` includes cached reads and cache writes and `usage.output_tokens`
/// includes reasoning (see [`Usage`]), so:
///
/// ```text
/// uncached = input - cached - cache_write            (saturating at 0)
/// cost     = uncached    × input
///          + cached      × (cache_read  or input)
///          + cache_write × (cache_write or input)
///          + output      × output
/// ```
///
/// When `input_tokens` exceeds [`LONG_CONTEXT_THRESHOLD`], each long-context price the
/// model has replaces its normal price for the whole request (Anthropic's and Gemini's
/// billing). Reasoning tokens are billed as output.
pub fn cost(pricing: &Pricing, usage: &Usage) -> Usd {
    let long = usage.input_tokens > LONG_CONTEXT_THRESHOLD;
    let (input, output, cache_read) = if long {
        (
            pricing.input_above_200k.unwrap_or(pricing.input),
            pricing.output_above_200k.unwrap_or(pricing.output),
            pricing.cache_read_above_200k.or(pricing.cache_read),
        )
    } else {
        (pricing.input, pricing.output, pricing.cache_read)
    };
    let uncached = usage
        .input_tokens
        .saturating_sub(usage.cached_input_tokens)
        .saturating_sub(usage.cache_write_tokens);
    [
        input.times(uncached),
        cache_read.unwrap_or(input).times(usage.cached_input_tokens),
        pricing
            .cache_write
            .unwrap_or(input)
            .times(usage.cache_write_tokens),
        output.times(usage.output_tokens),
    ]
    .into_iter()
    .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picos(n: i64) -> Price {
        Price::from_picos(n)
    }

    fn usage(input: u64, cached: u64, cache_write: u64, output: u64, reasoning: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            cache_write_tokens: cache_write,
            reasoning_tokens: reasoning,
        }
    }

    // -- cost: hand-computed figures, one per provider's usage shape ----------------------

    #[test]
    fn cost_openai_cached_prompt_and_reasoning() {
        // o4-mini list prices: $1.10 / $4.40 per 1M, cached input $0.275 per 1M.
        // OpenAI reports prompt_tokens 5000 (prompt_tokens_details.cached_tokens 3072) and
        // completion_tokens 1500 (completion_tokens_details.reasoning_tokens 1200).
        let pricing = Pricing {
            cache_read: Some(picos(275_000)),
            ..Pricing::flat(picos(1_100_000), picos(4_400_000))
        };
        let cost = cost(&pricing, &usage(5_000, 3_072, 0, 1_500, 1_200));
        // 1928 × 1.1µ$ = $0.0021208; 3072 × 0.275µ$ = $0.0008448; 1500 × 4.4µ$ = $0.0066
        assert_eq!(
            cost,
            Usd::from_picos(2_120_800_000 + 844_800_000 + 6_600_000_000)
        );
        assert_eq!(cost.to_string(), "$0.009566");
    }

    #[test]
    fn cost_anthropic_cache_read_and_cache_write() {
        // claude-sonnet-4-5: $3 / $15 per 1M, cache read $0.30, cache write $3.75 per 1M.
        // Anthropic reports input_tokens 50, cache_read_input_tokens 10000,
        // cache_creation_input_tokens 2000, output_tokens 400; the adapter sums the input.
        let pricing = Pricing {
            cache_read: Some(picos(300_000)),
            cache_write: Some(picos(3_750_000)),
            ..Pricing::flat(picos(3_000_000), picos(15_000_000))
        };
        let cost = cost(&pricing, &usage(12_050, 10_000, 2_000, 400, 0));
        // 50 × 3µ$ = $0.00015; 10000 × 0.3µ$ = $0.003; 2000 × 3.75µ$ = $0.0075;
        // 400 × 15µ$ = $0.006: $0.01665 in all.
        assert_eq!(cost, Usd::from_picos(16_650_000_000));
        assert_eq!(cost.to_string(), "$0.01665");
    }

    #[test]
    fn cost_gemini_cached_content_and_thoughts() {
        // gemini-2.5-flash: $0.30 / $2.50 per 1M, cached $0.03 per 1M.
        // Gemini reports promptTokenCount 10000 (cachedContentTokenCount 4000),
        // candidatesTokenCount 400 and thoughtsTokenCount 800: output is 1200.
        let pricing = Pricing {
            cache_read: Some(picos(30_000)),
            ..Pricing::flat(picos(300_000), picos(2_500_000))
        };
        let cost = cost(&pricing, &usage(10_000, 4_000, 0, 1_200, 800));
        // 6000 × 0.3µ$ = $0.0018; 4000 × 0.03µ$ = $0.00012; 1200 × 2.5µ$ = $0.003
        assert_eq!(cost, Usd::from_picos(4_920_000_000));
        assert_eq!(cost.to_string(), "$0.00492");
    }

    #[test]
    fn cost_above_200k_tokens_uses_the_long_context_prices_for_the_whole_request() {
        // gemini-2.5-pro: $1.25 / $10 per 1M, cached $0.125; above 200k input tokens
        // $2.50 / $15 per 1M, cached $0.25.
        let pricing = Pricing {
            cache_read: Some(picos(125_000)),
            input_above_200k: Some(picos(2_500_000)),
            output_above_200k: Some(picos(15_000_000)),
            cache_read_above_200k: Some(picos(250_000)),
            ..Pricing::flat(picos(1_250_000), picos(10_000_000))
        };
        let long = cost(&pricing, &usage(250_000, 50_000, 0, 2_000, 0));
        // 200000 × 2.5µ$ = $0.50; 50000 × 0.25µ$ = $0.0125; 2000 × 15µ$ = $0.03
        assert_eq!(long, Usd::from_picos(542_500_000_000));
        assert_eq!(long.to_string(), "$0.5425");
        // Exactly 200k is not above 200k: 200000 × 1.25µ$ + 2000 × 10µ$ = $0.27.
        let at = cost(&pricing, &usage(200_000, 0, 0, 2_000, 0));
        assert_eq!(at, Usd::from_picos(270_000_000_000));
    }

    #[test]
    fn cost_falls_back_to_the_input_price_for_missing_cache_prices() {
        let pricing = Pricing::flat(picos(1_000_000), picos(2_000_000));
        // 100 input of which 30 cached and 20 written, all at 1µ$; 10 output at 2µ$.
        assert_eq!(
            cost(&pricing, &usage(100, 30, 20, 10, 0)),
            Usd::from_picos(120_000_000)
        );
        // Inconsistent usage (more cached than input) never goes negative.
        assert_eq!(
            cost(&pricing, &usage(10, 30, 0, 0, 0)),
            Usd::from_picos(30_000_000)
        );
        // Long-context tiers missing: the normal prices apply.
        assert_eq!(
            cost(&pricing, &usage(300_000, 0, 0, 0, 0)),
            Usd::from_picos(300_000_000_000)
        );
        assert_eq!(cost(&pricing, &Usage::default()), Usd::ZERO);
    }
}
