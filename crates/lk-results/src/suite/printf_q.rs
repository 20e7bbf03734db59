//! Decoding of bash `printf %q` output, as in results.yml's `error: "%q"` values.
//!
//! bash 5 writes a string with no control characters with a backslash before every character
//! the shell would interpret (`a\ b\'c`), an empty string as `''`, and a string with control
//! characters (a newline, a tab, a byte that is not UTF-8) in ANSI-C quoting (`$'a\nb'`). This
//! decodes any concatenation of those three forms; whatever else the shell would interpret
//! unquoted (a space, `"`, `$x`, a backquote, `;&|<>()`) cannot come from `%q` and is an error.
//!
//! Bytes that do not form UTF-8 (`$'\377'`) become U+FFFD: the value is a message for people.

use thiserror::Error;

/// Why a value is not `printf %q` output. `column` is 1-based, in characters of the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuoteError {
    #[error("column {column}: unquoted {found:?}, which printf %q always escapes")]
    Unescaped { column: usize, found: char },
    #[error("column {column}: a backslash at the end of the value escapes nothing")]
    TrailingBackslash { column: usize },
    #[error("column {column}: {quote} quote opened here is never closed")]
    Unterminated { column: usize, quote: &'static str },
    #[error("column {column}: {escape:?} is not a character")]
    BadCodePoint { column: usize, escape: String },
}

/// Decodes one `printf %q` word (without the double quotes results.yml puts around it).
pub fn decode(word: &str) -> Result<String, QuoteError> {
    let chars: Vec<char> = word.chars().collect();
    let mut out: Vec<u8> = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(QuoteError::TrailingBackslash { column: i + 1 });
                };
                push_char(&mut out, next);
                i += 2;
            }
            '\'' => i = single_quoted(&chars, i, &mut out)?,
            '$' if chars.get(i + 1) == Some(&'\'') => i = ansi_c(&chars, i, &mut out)?,
            c if c.is_whitespace() || "\"$`;&|<>()".contains(c) => {
                return Err(QuoteError::Unescaped {
                    column: i + 1,
                    found: c,
                });
            }
            c => {
                push_char(&mut out, c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// `'...'`: everything literal up to the next `'`. Returns the index after the closing quote.
fn single_quoted(chars: &[char], open: usize, out: &mut Vec<u8>) -> Result<usize, QuoteError> {
    let mut i = open + 1;
    while i < chars.len() {
        if chars[i] == '\'' {
            return Ok(i + 1);
        }
        push_char(out, chars[i]);
        i += 1;
    }
    Err(QuoteError::Unterminated {
        column: open + 1,
        quote: "single",
    })
}

/// `$'...'` starting at the `$`. Returns the index after the closing quote.
fn ansi_c(chars: &[char], dollar: usize, out: &mut Vec<u8>) -> Result<usize, QuoteError> {
    let mut i = dollar + 2;
    while i < chars.len() {
        match chars[i] {
            '\'' => return Ok(i + 1),
            '\\' if i + 1 < chars.len() => i = ansi_c_escape(chars, i, out)?,
            c => {
                push_char(out, c);
                i += 1;
            }
        }
    }
    Err(QuoteError::Unterminated {
        column: dollar + 1,
        quote: "$'",
    })
}

/// One escape inside `$'...'` at `chars[at] == '\\'`, as bash's `ansicstr` reads it. Returns
/// the index after it.
fn ansi_c_escape(chars: &[char], at: usize, out: &mut Vec<u8>) -> Result<usize, QuoteError> {
    let e = chars[at + 1];
    let simple = match e {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'e' | 'E' => Some(0x1b),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' | '\'' | '"' | '?' => Some(e as u8),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return Ok(at + 2);
    }
    match e {
        '0'..='7' => {
            let (value, end) = digits(chars, at + 1, 8, 3);
            // bash keeps the low 8 bits of \400-\777.
            out.push((value & 0xff) as u8);
            Ok(end)
        }
        'x' | 'u' | 'U' => {
            let max = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let (value, end) = digits(chars, at + 2, 16, max);
            if end == at + 2 {
                // No digits: bash keeps the escape as written.
                out.push(b'\\');
                push_char(out, e);
                return Ok(at + 2);
            }
            if e == 'x' {
                out.push(value as u8);
                return Ok(end);
            }
            let c = char::from_u32(value).ok_or_else(|| QuoteError::BadCodePoint {
                column: at + 1,
                escape: chars[at..end].iter().collect(),
            })?;
            push_char(out, c);
            Ok(end)
        }
        'c' if at + 2 < chars.len() => {
            // Control character: \cA is 0x01; bash masks with 0x1f.
            out.push((chars[at + 2] as u32 & 0x1f) as u8);
            Ok(at + 3)
        }
        other => {
            // Unknown escapes stay as written.
            out.push(b'\\');
            push_char(out, other);
            Ok(at + 2)
        }
    }
}

/// Up to `max` digits of `radix` from `chars[from..]`: (value, index after them).
fn digits(chars: &[char], from: usize, radix: u32, max: usize) -> (u32, usize) {
    let mut value: u32 = 0;
    let mut i = from;
    while i < chars.len() && i - from < max {
        let Some(d) = chars[i].to_digit(radix) else {
            break;
        };
        value = value.wrapping_mul(radix).wrapping_add(d);
        i += 1;
    }
    (value, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs of (bash 5.2 `printf %q` output, the string it came from), recorded with
    /// `printf '%q\n' "$s"` on Debian 12.
    const RECORDED: &[(&str, &str)] = &[
        (r"test_1\ failed\ with\ 1", "test_1 failed with 1"),
        ("''", ""),
        (r#"a\'b\"c"#, r#"a'b"c"#),
        (r"$'line1\nline2'", "line1\nline2"),
        (r"\~home\ #x\ \$v\ \`c\`\ \!x", "~home #x $v `c` !x"),
        (r"$'tab\there'", "tab\there"),
        (r"$'\001ctl'", "\u{1}ctl"),
        (r"é\ ü", "é ü"),
        (r"\*\?\[x\]", "*?[x]"),
        ("=a=b", "=a=b"),
        (r"a\,b\{c\}", "a,b{c}"),
    ];

    #[test]
    fn decodes_what_bash_wrote() {
        for (quoted, plain) in RECORDED {
            assert_eq!(decode(quoted).as_deref(), Ok(*plain), "{quoted}");
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement() {
        assert_eq!(decode(r"$'\377'").as_deref(), Ok("\u{fffd}"));
    }

    #[test]
    fn ansi_c_escapes() {
        assert_eq!(
            decode(r"$'\x41\u00e9\U0001F600\cA\q\x'").as_deref(),
            Ok("Aé😀\u{1}\\q\\x")
        );
        assert_eq!(decode(r"$'it\'s'").as_deref(), Ok("it's"));
        assert_eq!(decode(r"a$'\n'b").as_deref(), Ok("a\nb"));
    }

    #[test]
    fn rejects_what_printf_q_never_writes() {
        assert_eq!(
            decode("a b"),
            Err(QuoteError::Unescaped {
                column: 2,
                found: ' '
            })
        );
        assert_eq!(
            decode("$HOME"),
            Err(QuoteError::Unescaped {
                column: 1,
                found: '$'
            })
        );
        assert_eq!(
            decode(r"ab\"),
            Err(QuoteError::TrailingBackslash { column: 3 })
        );
        assert_eq!(
            decode("'ab"),
            Err(QuoteError::Unterminated {
                column: 1,
                quote: "single"
            })
        );
        assert_eq!(
            decode("x$'ab"),
            Err(QuoteError::Unterminated {
                column: 2,
                quote: "$'"
            })
        );
        assert!(matches!(
            decode(r"$'\UFFFFFFFF'"),
            Err(QuoteError::BadCodePoint { column: 3, .. })
        ));
    }
}
