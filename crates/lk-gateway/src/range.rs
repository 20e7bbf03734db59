// SPDX-License-Identifier: Apache-2.0
//! Pure parsing of `Range: bytes=...` (RFC 7233) with Swift's rules: a syntactically bad
//! header is ignored (whole object, 200); ranges that start past the end are dropped, and if
//! none is left the answer is 416; more than [`MAX_RANGES`] ranges are ignored.

/// Most ranges honoured in one request.
pub const MAX_RANGES: usize = 50;

/// Outcome of a Range header against an object of known size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No (usable) Range: send everything.
    Full,
    /// Satisfiable ranges, inclusive `(first, last)` byte offsets, in request order.
    Ranges(Vec<(u64, u64)>),
    /// 416.
    Unsatisfiable,
}

/// Evaluates a Range header value against `size`.
pub fn evaluate(header: Option<&str>, size: u64) -> RangeOutcome {
    let Some(h) = header else {
        return RangeOutcome::Full;
    };
    // Swift takes `BYTES = 0 - 999` as well: the unit in any case, spaces anywhere.
    let Some((unit, specs)) = h.split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    let mut parsed = Vec::new();
    for spec in specs.split(',').map(str::trim) {
        let Some((a, b)) = spec.split_once('-') else {
            return RangeOutcome::Full;
        };
        let (a, b) = (a.trim(), b.trim());
        let r = match (a.is_empty(), b.is_empty()) {
            (true, true) => return RangeOutcome::Full,
            (true, false) => {
                let Some(n) = number(b) else {
                    return RangeOutcome::Full;
                };
                if n == 0 {
                    None
                } else {
                    Some((size.saturating_sub(n), size.saturating_sub(1)))
                }
            }
            (false, _) => {
                let Some(first) = number(a) else {
                    return RangeOutcome::Full;
                };
                let last = if b.is_empty() {
                    u64::MAX
                } else {
                    match number(b) {
                        Some(l) if l >= first => l,
                        _ => return RangeOutcome::Full,
                    }
                };
                if first >= size {
                    None
                } else {
                    Some((first, last.min(size - 1)))
                }
            }
        };
        parsed.push(r);
    }
    if parsed.len() > MAX_RANGES {
        return RangeOutcome::Full;
    }
    let ok: Vec<(u64, u64)> = parsed.into_iter().flatten().filter(|_| size > 0).collect();
    if ok.is_empty() {
        RangeOutcome::Unsatisfiable
    } else {
        RangeOutcome::Ranges(ok)
    }
}

/// A decimal byte position; one too large for u64 (`bytes=99999999999999999999-`) is past
/// any object, as Python's unbounded ints make it in Swift (so a 416, not a 200).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeOutcome::*;

    #[test]
    fn ranges() {
        assert_eq!(evaluate(None, 10), Full);
        assert_eq!(evaluate(Some("bytes=0-4"), 10), Ranges(vec![(0, 4)]));
        assert_eq!(evaluate(Some("bytes=5-"), 10), Ranges(vec![(5, 9)]));
        assert_eq!(evaluate(Some("bytes=-3"), 10), Ranges(vec![(7, 9)]));
        assert_eq!(evaluate(Some("bytes=-30"), 10), Ranges(vec![(0, 9)]));
        assert_eq!(evaluate(Some("bytes=8-100"), 10), Ranges(vec![(8, 9)]));
        assert_eq!(
            evaluate(Some("bytes=0-0,-1"), 10),
            Ranges(vec![(0, 0), (9, 9)])
        );
        assert_eq!(evaluate(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(evaluate(Some("bytes=10-,0-1"), 10), Ranges(vec![(0, 1)]));
        assert_eq!(evaluate(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(evaluate(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(evaluate(Some("bytes=5-2"), 10), Full);
        assert_eq!(evaluate(Some("bytes=x-2"), 10), Full);
        assert_eq!(evaluate(Some("items=0-2"), 10), Full);
        for spaced in ["BYTES=0-4", "bytes = 0-4", "bytes=0 - 4", "bytes=0-4 "] {
            assert_eq!(evaluate(Some(spaced), 10), Ranges(vec![(0, 4)]), "{spaced}");
        }
        assert_eq!(
            evaluate(Some("bytes=99999999999999999999999-"), 10),
            Unsatisfiable
        );
        assert_eq!(evaluate(Some("bytes=+1-2"), 10), Full);
        let many = (0..60)
            .map(|i| format!("{i}-{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(evaluate(Some(&format!("bytes={many}")), 100), Full);
    }
}
