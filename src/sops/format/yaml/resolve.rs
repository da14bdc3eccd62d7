//! Plain-scalar typing and number/time text exactly as go-yaml v3 does it (SOPS.md §8.2, §2.4).
//!
//! The parser uses [`resolve_plain`] to type untagged plain scalars; the emitter uses the same
//! function to decide whether a string may be written plain (it may only if it would come back as
//! a string). Nothing here may hold on to or report a value: results are returned, never logged.

/// What a plain scalar means to go-yaml v3 when decoded into an untyped value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// Fits only in u64: sops cannot walk it (SOPS.md §8.2).
    Uint,
    Float(f64),
    /// Canonical RFC 3339 text with nanoseconds trimmed (Go `RFC3339Nano`).
    Time(String),
    /// The merge key `<<`.
    Merge,
    Str,
}

/// go-yaml v3 `resolve("", s)` for a plain scalar (SOPS.md §8.2 "Scalars are typed like go-yaml").
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => match go_parse_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => resolve_number_or_time(s),
        _ => Resolved::Str,
    }
}

fn resolve_number_or_time(s: &str) -> Resolved {
    if let Some(t) = parse_timestamp(s) {
        return Resolved::Time(t);
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    match go_parse_int_base0(&plain) {
        IntParse::Signed(v) => return Resolved::Int(v),
        IntParse::Unsigned => return Resolved::Uint,
        IntParse::Fail => {}
    }
    if is_yaml_style_float(&plain) {
        if let Some(f) = go_parse_float(&plain) {
            return Resolved::Float(f);
        }
    }
    // Explicit 0b / 0o forms with a sign, as go-yaml retries them after ParseInt(…, 0, …).
    for (prefix, radix) in [("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)] {
        if let Some(rest) = plain.strip_prefix(prefix) {
            let neg = prefix.starts_with('-');
            return match parse_radix(rest, radix, neg) {
                IntParse::Signed(v) => Resolved::Int(v),
                IntParse::Unsigned => Resolved::Uint,
                IntParse::Fail => Resolved::Str,
            };
        }
    }
    Resolved::Str
}

enum IntParse {
    Signed(i64),
    Unsigned,
    Fail,
}

/// Go `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint` for the u64-only range.
fn go_parse_int_base0(s: &str) -> IntParse {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let r = parse_radix(digits, radix, neg);
    // ParseUint does not accept a sign at all.
    if matches!(r, IntParse::Unsigned) && s.starts_with('+') {
        return IntParse::Fail;
    }
    r
}

fn parse_radix(digits: &str, radix: u32, neg: bool) -> IntParse {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::Fail;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return IntParse::Fail;
    };
    if neg {
        if mag <= (i64::MAX as u128) + 1 {
            IntParse::Signed((mag as i128).wrapping_neg() as i64)
        } else {
            IntParse::Fail
        }
    } else if mag <= i64::MAX as u128 {
        IntParse::Signed(mag as i64)
    } else if mag <= u64::MAX as u128 {
        IntParse::Unsigned
    } else {
        IntParse::Fail
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach; out of range is an error
/// there, so `1e400` stays a string (observed with sops).
fn go_parse_float(s: &str) -> Option<f64> {
    let ok = s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// go-yaml v3 `parseTimestamp`: the four layouts it tries, in Go `time.Parse` semantics, giving the
/// canonical `RFC3339Nano` text sops uses as plaintext and output (SOPS.md §2.4).
pub(crate) fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 5 };
    let year: u32 = s[..4].parse().ok()?;
    let month = p.num12()?;
    p.eat(b'-')?;
    let day = p.num12()?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if p.i == b.len() {
        return Some(format!("{year:04}-{month:02}-{day:02}T00:00:00Z"));
    }
    let with_zone = match b[p.i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    p.i += 1;
    let hour = p.num12()?;
    p.eat(b':')?;
    let min = p.num12()?;
    p.eat(b':')?;
    let sec = p.num12()?;
    if hour >= 24 || min >= 60 || sec >= 60 {
        return None;
    }
    let mut nanos = 0u32;
    if p.i + 1 < b.len() && matches!(b[p.i], b'.' | b',') && b[p.i + 1].is_ascii_digit() {
        p.i += 1;
        let st = p.i;
        while p.i < b.len() && b[p.i].is_ascii_digit() {
            p.i += 1;
        }
        let frac = &s[st..p.i];
        let mut digits: String = frac.chars().take(9).collect();
        while digits.len() < 9 {
            digits.push('0');
        }
        nanos = digits.parse().ok()?;
    }
    let zone = if with_zone {
        if p.i >= b.len() {
            return None;
        }
        if b[p.i] == b'Z' {
            p.i += 1;
            "Z".to_string()
        } else {
            if p.i + 6 > b.len() || !matches!(b[p.i], b'+' | b'-') || b[p.i + 3] != b':' {
                return None;
            }
            let hh = &s[p.i + 1..p.i + 3];
            let mm = &s[p.i + 4..p.i + 6];
            if !hh.bytes().chain(mm.bytes()).all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m): (u32, u32) = (hh.parse().ok()?, mm.parse().ok()?);
            if h > 24 || m > 60 {
                return None;
            }
            let sign = b[p.i] as char;
            p.i += 6;
            if h == 0 && m == 0 {
                "Z".to_string()
            } else {
                format!("{sign}{h:02}:{m:02}")
            }
        }
    } else {
        "Z".to_string()
    };
    if p.i != b.len() {
        return None;
    }
    let mut frac = String::new();
    if nanos != 0 {
        frac = format!(".{nanos:09}");
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}{frac}{zone}"
    ))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// One or two digits (Go layouts `1`, `2`, `15`, `4`, `5`).
    fn num12(&mut self) -> Option<u32> {
        let st = self.i;
        while self.i < self.b.len() && self.i - st < 2 && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i == st {
            return None;
        }
        std::str::from_utf8(&self.b[st..self.i]).ok()?.parse().ok()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.i < self.b.len() && self.b[self.i] == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// YAML 1.1 booleans go-yaml still quotes on output (`isOldBool`), SOPS.md §8.2 (`"y":`).
pub(crate) fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$` (`1:20`).
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        match i - st {
            1 => {}
            2 if b[st] <= b'5' => {}
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)` with go-yaml's `.inf`/`.nan` spellings (SOPS.md §8.2:
/// `1e+10`, `1e-07`, whole floats without a point, `-0`).
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` is the shortest round-trip digit string, like Go's shortest formatting.
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // Go's shortest %g decides with precision 6: exponent form when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exp.abs());
    }
    if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
        }
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_yaml_v3_typing_table() {
        // Each row was checked against sops 3.11 (see tests/fixtures/yaml-store/README.md).
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain("tRue"), Resolved::Str);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("0644"), Resolved::Int(420));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("+12"), Resolved::Int(12));
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("0o"), Resolved::Str);
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1."), Resolved::Float(1.0));
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(resolve_plain("9223372036854775808"), Resolved::Uint);
        assert_eq!(
            resolve_plain("18446744073709551616"),
            Resolved::Float(18446744073709551616.0)
        );
        assert_eq!(
            resolve_plain("-9223372036854775808"),
            Resolved::Int(i64::MIN)
        );
        assert!(matches!(resolve_plain("-.Inf"), Resolved::Float(f) if f == f64::NEG_INFINITY));
        assert_eq!(resolve_plain("<<"), Resolved::Merge);
        assert_eq!(resolve_plain("1:20"), Resolved::Str);
    }

    #[test]
    fn timestamps_in_go_layouts() {
        let t = |s| parse_timestamp(s);
        assert_eq!(t("2024-01-01").as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(
            t("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            t("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(
            t("2024-1-2T3:04:05+00:00").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(t("2001-12-14 21:59:43.10 -5"), None);
        assert_eq!(t("2023-02-29"), None);
        assert_eq!(t("2024-02-29").as_deref(), Some("2024-02-29T00:00:00Z"));
        assert_eq!(t("12024-01-01"), None);
    }

    #[test]
    fn go_g_shortest_float_text() {
        assert_eq!(format_float(1e10), "1e+10");
        assert_eq!(format_float(1e-7), "1e-07");
        assert_eq!(format_float(1e23), "1e+23");
        assert_eq!(format_float(2.0), "2");
        assert_eq!(format_float(1000.0), "1000");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(123456789.123), "1.23456789123e+08");
        assert_eq!(format_float(-0.0), "-0");
        assert_eq!(format_float(3.25), "3.25");
        assert_eq!(format_float(-1.5e300), "-1.5e+300");
        assert_eq!(format_float(f64::NAN), ".nan");
    }

    #[test]
    fn old_bools_and_base60() {
        assert!(is_old_bool("y") && is_old_bool("OFF") && !is_old_bool("oFF"));
        assert!(is_base60_float("1:20") && is_base60_float("-1_0:59:5.5"));
        assert!(!is_base60_float("1:60") && !is_base60_float("12") && !is_base60_float("a:1"));
    }
}
