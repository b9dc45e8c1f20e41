//! The SDK batch's fast pass reads JSON with this: a reader that does less
//! per key than `serde_json` (no visitor per value, keys compared as they
//! lie in the body, strings borrowed), for a strict subset of JSON. It
//! gives up (`None`) on a string with an escape or a control character, on
//! a number it does not need to be exact about (an exponent, more digits
//! than a `u64` or a double holds exactly, a fraction where a count is
//! expected), on nesting deeper than `MAX_DEPTH`, and on anything that is
//! not JSON; the precise decoder then reads the body and names the field.
//! Whatever it accepts, `serde_json` accepts with the same values:
//! `fast_pass_tests` compares the two on thousands of variants.

/// Nesting a skipped value may have; deeper gives up (serde_json's own
/// limit is 128).
const MAX_DEPTH: u32 = 64;
/// Digits a skipped number's integer or fraction part may have: within
/// what a double holds exactly, so `serde_json` never refuses it.
const MAX_SKIPPED_DIGITS: usize = 15;

pub(crate) struct Scanner<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

/// A value read from a [`Scanner`]; `None` gives the whole pass up.
pub(crate) trait Scan<'a>: Sized {
    fn scan(scanner: &mut Scanner<'a>) -> Option<Self>;
}

/// Reads one whole body as `T`: the value, then nothing but whitespace.
/// The body must be UTF-8 as a whole (checked once here).
pub(crate) fn from_body<'a, T: Scan<'a>>(body: &'a [u8]) -> Option<T> {
    let mut scanner = Scanner {
        text: std::str::from_utf8(body).ok()?,
        at: 0,
        depth: 0,
    };
    let value = T::scan(&mut scanner)?;
    scanner.skip_whitespace();
    (scanner.at == scanner.text.len()).then_some(value)
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.text.len() - self.at
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.skip_whitespace();
        let end = self.at.checked_add(word.len())?;
        (self.bytes().get(self.at..end)? == word.as_bytes()).then(|| self.at = end)
    }

    /// Consumes `null` if it comes next.
    pub fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal("null").is_some()
    }

    /// A string without escapes or control characters, borrowed.
    pub fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let end = start + string_stop(&self.bytes()[start..])?;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so on character boundaries.
        self.text.get(start..end)
    }

    /// A non-negative integer without fraction or exponent that fits a `u64`.
    pub fn u64(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let digits = self.digits();
        let text = self.text.get(self.at..self.at + digits)?;
        if digits == 0 || (digits > 1 && text.starts_with('0')) {
            return None;
        }
        self.at += digits;
        if matches!(self.bytes().get(self.at), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        text.parse().ok()
    }

    /// How many ASCII digits start at the cursor.
    fn digits(&self) -> usize {
        self.bytes()[self.at..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count()
    }

    pub fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| true),
            b'f' => self.literal("false").map(|()| false),
            _ => None,
        }
    }

    /// An object, each member's key handed to `member`, which reads (or
    /// skips) the value.
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.items(b'}', |scanner| {
            let key = scanner.string()?;
            scanner.eat(b':')?;
            member(scanner, key)
        })
    }

    /// An array, `element` reading each element.
    pub fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.items(b']', element)
    }

    /// Comma-separated items up to `close`, the opening bracket read.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                byte if byte == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, checked and dropped.
    pub fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let skipped = if self.peek()? == b'{' {
                    self.object(|scanner, _| scanner.skip())
                } else {
                    self.array(Self::skip)
                };
                self.depth -= 1;
                skipped
            }
            b't' | b'f' => self.bool().map(drop),
            b'n' => self.null().then_some(()),
            _ => self.skip_number(),
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)?`, each part at most
    /// `MAX_SKIPPED_DIGITS` long; an exponent gives up.
    fn skip_number(&mut self) -> Option<()> {
        if self.bytes().get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let whole = self.digits();
        if whole == 0 || whole > MAX_SKIPPED_DIGITS || (whole > 1 && self.bytes()[self.at] == b'0') {
            return None;
        }
        self.at += whole;
        if self.bytes().get(self.at) == Some(&b'.') {
            self.at += 1;
            let fraction = self.digits();
            if fraction == 0 || fraction > MAX_SKIPPED_DIGITS {
                return None;
            }
            self.at += fraction;
        }
        (!matches!(self.bytes().get(self.at), Some(b'e' | b'E'))).then_some(())
    }
}

/// Where a string's run of plain characters stops: the first quote,
/// backslash or control character. Eight bytes at a time (a quote,
/// backslash or byte below 0x20 in a word sets that byte's high bit; only
/// bytes after the first such byte can be set falsely, so the lowest set
/// bit is the answer), the tail byte by byte. Keys and values here are
/// short: this beats both a plain loop and a vector search's setup.
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |word: u64| word.wrapping_sub(ONES) & !word;
    let mut words = bytes.chunks_exact(8);
    for (at, word) in words.by_ref().enumerate() {
        let word = u64::from_le_bytes(word.try_into().ok()?);
        let quote = zero_in(word ^ (ONES * u64::from(b'"')));
        let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let stops = (quote | backslash | control) & HIGH;
        if stops != 0 {
            return Some(at * 8 + (stops.trailing_zeros() / 8) as usize);
        }
    }
    let tail = bytes.len() - words.remainder().len();
    words
        .remainder()
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .map(|at| tail + at)
}

impl<'a, T: Scan<'a>> Scan<'a> for Option<T> {
    /// `null` is absent, as for an optional member in `serde`.
    fn scan(scanner: &mut Scanner<'a>) -> Option<Self> {
        if scanner.null() {
            Some(None)
        } else {
            T::scan(scanner).map(Some)
        }
    }
}

impl<'a> Scan<'a> for &'a str {
    fn scan(scanner: &mut Scanner<'a>) -> Option<Self> {
        scanner.string()
    }
}

impl Scan<'_> for u64 {
    fn scan(scanner: &mut Scanner<'_>) -> Option<Self> {
        scanner.u64()
    }
}

impl Scan<'_> for bool {
    fn scan(scanner: &mut Scanner<'_>) -> Option<Self> {
        scanner.bool()
    }
}

/// A JSON string read (so checked) and dropped: for fields only
/// type-checked.
pub(crate) struct StrChecked;

impl Scan<'_> for StrChecked {
    fn scan(scanner: &mut Scanner<'_>) -> Option<Self> {
        scanner.string().map(|_| StrChecked)
    }
}

/// Any JSON value, kept only when it is a string: free-form objects such as
/// the SDK's `event_attrs`, where a non-string value is simply not used.
pub(crate) struct StrIfString<'a>(pub Option<&'a str>);

impl<'a> Scan<'a> for StrIfString<'a> {
    fn scan(scanner: &mut Scanner<'a>) -> Option<Self> {
        if scanner.peek()? == b'"' {
            scanner.string().map(|text| StrIfString(Some(text)))
        } else {
            scanner.skip().map(|()| StrIfString(None))
        }
    }
}

/// A JSON object of optional members, read the way the precise SDK decoder
/// reads its tree: absent and `null` alike are `None`, a repeated key's
/// last value wins, unknown members are read (checked) and dropped. Only a
/// JSON object is accepted.
macro_rules! optional_members {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Default)]
        pub(crate) struct $name<'a> {
            $(pub $field: Option<$ty>,)*
            _borrowed: std::marker::PhantomData<&'a str>,
        }

        impl<'a> $crate::json_scan::Scan<'a> for $name<'a> {
            fn scan(scanner: &mut $crate::json_scan::Scanner<'a>) -> Option<Self> {
                let mut members = $name::default();
                scanner.object(|scanner, key| {
                    match key {
                        $(stringify!($field) => members.$field = $crate::json_scan::Scan::scan(scanner)?,)*
                        _ => scanner.skip()?,
                    }
                    Some(())
                })?;
                Some(members)
            }
        }
    };
}
pub(crate) use optional_members;

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(text: &str) -> bool {
        from_body::<Skipped>(text.as_bytes()).is_some()
    }

    struct Skipped;

    impl Scan<'_> for Skipped {
        fn scan(scanner: &mut Scanner<'_>) -> Option<Self> {
            scanner.skip().map(|()| Skipped)
        }
    }

    /// Whatever is skipped here, `serde_json` reads too; what is given up
    /// includes everything it refuses.
    #[test]
    fn skips_a_subset_of_what_serde_json_reads() {
        let cases = [
            "{}",
            "[]",
            " { \"a\" : [1, -2, 0.5, true, false, null, \"x\", {\"b\": []}] } ",
            "0",
            "-0",
            "01",
            "1.",
            ".5",
            "1e5",
            "1E-2",
            "-",
            "+1",
            "1234567890123456",
            "\"a\\\"b\"",
            "\"\u{1}\"",
            "\"\u{e9}\"",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\"}",
            "{1:2}",
            "nul",
            "tru",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            "[] x",
            "",
        ];
        let mut read = 0;
        for case in cases {
            let serde = serde_json::from_str::<serde_json::Value>(case).is_ok();
            if skips(case) {
                read += 1;
                assert!(serde, "skipped what serde_json refuses: {case:?}");
            }
        }
        assert_eq!(read, 6, "the plain cases are read, not given up");
    }

    #[test]
    fn a_string_stops_where_a_plain_search_stops() {
        let plain = |bytes: &[u8]| bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly plain text, with every kind of stop and
                        // bytes near them (0x1f/0x20, 0x21/0x23, 0x5b/0x5d, high bytes).
                        [
                            b'a', b'z', b'"', b'\\', 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x00, 0x80, 0xff, b'a', b'b',
                            b'c',
                        ][(seed % 16) as usize]
                    })
                    .collect();
                assert_eq!(string_stop(&bytes), plain(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn counts_are_exact_or_given_up() {
        let count = |text: &str| from_body::<u64>(text.as_bytes());
        assert_eq!(count(" 0 "), Some(0));
        assert_eq!(count("18446744073709551615"), Some(u64::MAX));
        for refused in ["18446744073709551616", "-1", "1.0", "1e3", "01", "\"1\"", "null"] {
            assert_eq!(count(refused), None, "{refused}");
        }
    }

    #[test]
    fn strings_are_borrowed_and_escapes_give_up() {
        let body = b"\"caf\xc3\xa9 /{id}\"";
        let text = from_body::<&str>(body).unwrap_or_default();
        assert_eq!(text, "café /{id}");
        assert_eq!(text.as_ptr(), body[1..].as_ptr(), "borrowed from the body");
        assert!(from_body::<&str>(br#""a\nb""#).is_none());
        assert!(from_body::<&str>(b"\"a\tb\"").is_none());
        assert!(from_body::<&str>(b"\"\xff\"").is_none());
        assert_eq!(from_body::<Option<&str>>(b"null").map(|s| s.is_none()), Some(true));
    }
}
