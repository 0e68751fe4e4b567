//! "Did you mean …?" for unknown names, by edit distance.

/// The closest candidates to `name` (at most three), as a hint line.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(2);
    let mut close: Vec<(usize, &str)> = candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= limit || c.starts_with(name) || name.starts_with(*c))
        .collect();
    close.sort_unstable();
    close.dedup_by(|a, b| a.1 == b.1);
    match close.as_slice() {
        [] => None,
        [(_, one)] => Some(format!("did you mean `{one}`?")),
        many => Some(format!(
            "did you mean one of: {}?",
            many.iter()
                .take(3)
                .map(|(_, c)| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_closest() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            did_you_mean("sonet", ["sonnet", "gpt", "haiku"].into_iter()).as_deref(),
            Some("did you mean `sonnet`?")
        );
        assert_eq!(did_you_mean("zzzzzz", ["sonnet"].into_iter()), None);
    }
}
