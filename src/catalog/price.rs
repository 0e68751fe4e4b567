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

/// Which of a model's prices a request is billed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The normal prices: a request answered at once.
    Standard,
    /// Through the provider's batch API (CONTRACT.md "route batch"): the
    /// catalog's batch prices where it has them, else half the normal price
    /// (the discount OpenAI, Anthropic and Gemini give their batches).
    Batch,
}

/// The cost of one request at the normal prices: [`cost_at`] with
/// [`Tier::Standard`].
pub fn cost(pricing: &Pricing, usage: &Usage) -> Usd {
    cost_at(pricing, usage, Tier::Standard)
}

/// The cost of one request: integer picodollars, never a float sum.
///
/// `usage.input_tokens` includes cached reads and cache writes,
/// `usage.cache_write_tokens` includes the 1-hour ones, and
/// `usage.output_tokens` includes reasoning (see [`Usage`]), so:
///
/// ```text
/// uncached = input - cached - cache_write            (saturating at 0)
/// cost     = uncached          × input
///          + cached            × (cache_read     or input)
///          + (cache_write-1h)  × (cache_write    or input)
///          + 1h                × (cache_write_1h or cache_write or input)
///          + (output-reasoning)× output
///          + reasoning         × (reasoning      or output)
/// ```
///
/// When `input_tokens` exceeds [`LONG_CONTEXT_THRESHOLD`], each long-context price the
/// model has replaces its normal price for the whole request (Anthropic's and Gemini's
/// billing). At [`Tier::Batch`], `batch_input`, `batch_cache_read` and
/// `batch_output` replace their normal prices where the catalog has them (and no
/// long-context price applies); every other part costs half its normal price.
pub fn cost_at(pricing: &Pricing, usage: &Usage, tier: Tier) -> Usd {
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
    // A batch price is for the normal context: a long-context price wins over it.
    let batch = |price: Option<Price>, long_price: Option<Price>| {
        price.filter(|_| !(long && long_price.is_some()))
    };
    let cache_write = pricing.cache_write.unwrap_or(input);
    let reasoning = pricing.reasoning.unwrap_or(output);
    let uncached = usage
        .input_tokens
        .saturating_sub(usage.cached_input_tokens)
        .saturating_sub(usage.cache_write_tokens);
    let written_1h = usage.cache_write_1h_tokens.min(usage.cache_write_tokens);
    let reasoned = usage.reasoning_tokens.min(usage.output_tokens);
    // Each part: its price, its batch price (if any), its tokens.
    let parts = [
        (
            input,
            batch(pricing.batch_input, pricing.input_above_200k),
            uncached,
        ),
        (
            cache_read.unwrap_or(input),
            batch(pricing.batch_cache_read, pricing.cache_read_above_200k),
            usage.cached_input_tokens,
        ),
        (cache_write, None, usage.cache_write_tokens - written_1h),
        (
            pricing.cache_write_1h.unwrap_or(cache_write),
            None,
            written_1h,
        ),
        (
            output,
            batch(pricing.batch_output, pricing.output_above_200k),
            usage.output_tokens - reasoned,
        ),
        (
            reasoning,
            // Reasoning priced as output takes output's batch price too.
            batch(pricing.batch_output, pricing.output_above_200k)
                .filter(|_| pricing.reasoning.is_none()),
            reasoned,
        ),
    ];
    parts
        .into_iter()
        .map(|(price, batch_price, tokens)| match (tier, batch_price) {
            (Tier::Standard, _) => price.times(tokens),
            (Tier::Batch, Some(b)) => b.times(tokens),
            (Tier::Batch, None) => Usd::from_picos(price.times(tokens).picos() / 2),
        })
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
            cache_write_1h_tokens: 0,
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
    fn cost_anthropic_5_minute_and_1_hour_cache_writes() {
        // claude-sonnet-4-5 (LiteLLM): $3 / $15 per 1M, cache read $0.30, 5-minute
        // cache write $3.75 (1.25×), 1-hour cache write $6 (2×) per 1M, as
        // Anthropic's pricing page gives them. Anthropic reports input_tokens 100,
        // cache_read_input_tokens 0, cache_creation_input_tokens 3000 with
        // cache_creation {ephemeral_5m_input_tokens 1000, ephemeral_1h_input_tokens
        // 2000}, output_tokens 200 (tests/fixtures/anthropic/cache-ttl.json).
        let pricing = Pricing {
            cache_read: Some(picos(300_000)),
            cache_write: Some(picos(3_750_000)),
            cache_write_1h: Some(picos(6_000_000)),
            ..Pricing::flat(picos(3_000_000), picos(15_000_000))
        };
        let u = Usage {
            cache_write_1h_tokens: 2_000,
            ..usage(3_100, 0, 3_000, 200, 0)
        };
        // 100 × 3µ$ = $0.0003; 1000 × 3.75µ$ = $0.00375; 2000 × 6µ$ = $0.012;
        // 200 × 15µ$ = $0.003: $0.01905 in all.
        assert_eq!(cost(&pricing, &u), Usd::from_picos(19_050_000_000));
        // Without a 1-hour price the 1-hour writes cost as the 5-minute ones.
        let no_1h = Pricing {
            cache_write_1h: None,
            ..pricing
        };
        assert_eq!(cost(&no_1h, &u), Usd::from_picos(14_550_000_000));
        // A 1-hour count above the writes (a server's odd figures) is capped.
        let odd = Usage {
            cache_write_1h_tokens: 9_000,
            ..u
        };
        assert_eq!(
            cost(&pricing, &odd),
            Usd::from_picos(300_000_000 + 18_000_000_000 + 3_000_000_000)
        );
    }

    #[test]
    fn cost_openai_compatible_cache_writes() {
        // OpenRouter's usage accounting reports prompt_tokens 194 with
        // prompt_tokens_details {cached_tokens 0, cache_write_tokens 100} and
        // completion_tokens 2 (openrouter.ai/docs/use-cases/usage-accounting);
        // for anthropic/claude-sonnet-4.5 there: $3 / $15, cache write $3.75 per 1M.
        let pricing = Pricing {
            cache_write: Some(picos(3_750_000)),
            ..Pricing::flat(picos(3_000_000), picos(15_000_000))
        };
        // 94 × 3µ$ = $0.000282; 100 × 3.75µ$ = $0.000375; 2 × 15µ$ = $0.00003
        assert_eq!(
            cost(&pricing, &usage(194, 0, 100, 2, 0)),
            Usd::from_picos(687_000_000)
        );
    }

    #[test]
    fn cost_reasoning_at_its_own_price_where_given() {
        // perplexity/sonar-deep-research prices reasoning apart (the catalog's
        // output_cost_per_reasoning_token): $2 / $8 per 1M, reasoning $3 per 1M.
        // 1000 output tokens of which 800 reasoning.
        let pricing = Pricing {
            reasoning: Some(picos(3_000_000)),
            ..Pricing::flat(picos(2_000_000), picos(8_000_000))
        };
        // 100 × 2µ$ = $0.0002; 200 × 8µ$ = $0.0016; 800 × 3µ$ = $0.0024
        assert_eq!(
            cost(&pricing, &usage(100, 0, 0, 1_000, 800)),
            Usd::from_picos(4_200_000_000)
        );
        // Without a reasoning price, reasoning is output: $0.0002 + $0.008.
        let flat = Pricing::flat(picos(2_000_000), picos(8_000_000));
        assert_eq!(
            cost(&flat, &usage(100, 0, 0, 1_000, 800)),
            Usd::from_picos(8_200_000_000)
        );
    }

    /// The built-in catalog's prices reach `cost`: Claude Sonnet 4.5's 1-hour
    /// cache writes and batch prices, as LiteLLM lists them.
    #[test]
    fn the_catalog_prices_each_shape() {
        let catalog = crate::catalog::builtin();
        let info = catalog
            .lookup("anthropic", "anthropic", "claude-sonnet-4-5-20250929")
            .unwrap();
        let pricing = info.pricing.unwrap();
        assert_eq!(pricing.cache_write_1h, Some(picos(6_000_000)));
        let u = Usage {
            cache_write_1h_tokens: 2_000,
            ..usage(3_100, 0, 3_000, 200, 0)
        };
        assert_eq!(cost(&pricing, &u), Usd::from_picos(19_050_000_000));
        // Batch: $1.50 / $7.50 per 1M, the cache writes at half: 100 × 1.5µ$ +
        // 1000 × 1.875µ$ + 2000 × 3µ$ + 200 × 7.5µ$ = $0.009525.
        assert_eq!(
            cost_at(&pricing, &u, Tier::Batch),
            Usd::from_picos(9_525_000_000)
        );
    }

    #[test]
    fn cost_at_batch_prices() {
        // gpt-4o-mini: $0.15 / $0.60 per 1M, cached $0.075; batch $0.075 / $0.30
        // per 1M (LiteLLM's *_batches fields, OpenAI's Batch API pricing).
        let pricing = Pricing {
            cache_read: Some(picos(75_000)),
            batch_input: Some(picos(75_000)),
            batch_output: Some(picos(300_000)),
            ..Pricing::flat(picos(150_000), picos(600_000))
        };
        let u = usage(10_000, 2_000, 0, 1_000, 0);
        // Standard: 8000 × 0.15µ$ + 2000 × 0.075µ$ + 1000 × 0.6µ$ = $0.00195
        assert_eq!(cost(&pricing, &u), Usd::from_picos(1_950_000_000));
        // Batch: 8000 × 0.075µ$ + 2000 × 0.0375µ$ (no batch cache price: half)
        // + 1000 × 0.3µ$ = $0.000975, half the standard figure.
        assert_eq!(
            cost_at(&pricing, &u, Tier::Batch),
            Usd::from_picos(975_000_000)
        );
        // Without any batch price, half of every part.
        let plain = Pricing::flat(picos(3_000_000), picos(15_000_000));
        let u = Usage {
            cache_write_1h_tokens: 100,
            ..usage(1_300, 0, 300, 400, 50)
        };
        assert_eq!(
            cost_at(&plain, &u, Tier::Batch).picos() * 2,
            cost(&plain, &u).picos()
        );
        // A batch price the catalog gives wins over half.
        let dear = Pricing {
            batch_input: Some(picos(3_000_000)),
            ..plain
        };
        assert_eq!(
            cost_at(&dear, &usage(1_000, 0, 0, 0, 0), Tier::Batch),
            Usd::from_picos(3_000_000_000)
        );
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
