//! One linear pass over a raw message before any parser runs: rejects nesting deeper than
//! `max_depth` and containers over `max_container_items` (so no recursive parser, here or
//! downstream in pydantic or JS, can be made to overflow or balloon), and finds integer
//! literals beyond ±(2^53-1), which JavaScript cannot represent exactly. Malformed JSON is
//! left for the parser to report.

use memchr::memchr2;

use super::surrogate::starts_surrogate;
use super::{Limits, MAX_SAFE_INTEGER};

/// Most unsafe integers reported for one message.
const MAX_REPORTED: usize = 10;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// An integer literal that would lose precision as a JS `number`, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeInt {
    pub path: Vec<PathSeg>,
    pub literal: String,
}

impl UnsafeInt {
    pub fn describe(&self) -> String {
        format!(
            "integer {} at {}, outside ±(2^53-1) = ±{MAX_SAFE_INTEGER}; JavaScript cannot represent it exactly",
            self.literal,
            self.dotted_path()
        )
    }

    /// The path below `root` (`result.items.3.id`), or `root` itself.
    pub fn rooted_path(&self, root: &str) -> String {
        if self.path.is_empty() {
            root.into()
        } else {
            format!("{root}.{}", self.dotted_path())
        }
    }

    pub fn dotted_path(&self) -> String {
        if self.path.is_empty() {
            return "params".into();
        }
        let parts: Vec<String> = self
            .path
            .iter()
            .map(|p| match p {
                PathSeg::Key(k) => k.clone(),
                PathSeg::Index(i) => i.to_string(),
            })
            .collect();
        parts.join(".")
    }
}

#[derive(Debug, Default)]
pub struct Scan {
    pub unsafe_ints: Vec<UnsafeInt>,
    /// Whether some `\u` escape spells a UTF-16 surrogate (D800–DFFF), paired or not
    /// (`surrogate.rs` replaces the lone ones).
    pub surrogate_escapes: bool,
}

struct Frame {
    is_object: bool,
    /// Items seen so far minus one (commas), i.e. the index of the current item.
    commas: usize,
    expecting_key: bool,
    /// Byte range of the current key's string token (quotes included).
    key: (usize, usize),
}

pub fn scan(input: &[u8], limits: &Limits) -> Result<Scan, String> {
    let mut frames: Vec<Frame> = Vec::with_capacity(16);
    let mut out = Scan::default();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    // A trailing backslash can step past the end: `get` ends the scan there.
                    match memchr2(b'"', b'\\', input.get(i..).unwrap_or_default()) {
                        Some(off) if input[i + off] == b'\\' => {
                            i += off + 2;
                            if input.get(i - 1) == Some(&b'u') {
                                out.surrogate_escapes |= starts_surrogate(input.get(i..).unwrap_or_default());
                            }
                        }
                        Some(off) => {
                            i += off + 1;
                            break;
                        }
                        None => return Ok(out),
                    }
                }
                if let Some(f) = frames.last_mut() {
                    // Only an object's frame ever expects a key.
                    if f.expecting_key {
                        f.key = (start, i);
                        f.expecting_key = false;
                    }
                }
                continue;
            }
            b'[' | b'{' => {
                if frames.len() >= limits.max_depth {
                    return Err(format!("nesting deeper than {} levels", limits.max_depth));
                }
                let is_object = input[i] == b'{';
                frames.push(Frame { is_object, commas: 0, expecting_key: is_object, key: (0, 0) });
            }
            b']' | b'}' => {
                frames.pop();
            }
            b',' => {
                if let Some(f) = frames.last_mut() {
                    f.commas += 1;
                    f.expecting_key = f.is_object;
                    if f.commas >= limits.max_container_items {
                        return Err(format!("a container holds more than {} items", limits.max_container_items));
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < input.len() && matches!(input[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                let token = &input[start..i];
                if out.unsafe_ints.len() < MAX_REPORTED && is_unsafe_integer(token) {
                    out.unsafe_ints.push(UnsafeInt {
                        path: path_of(input, &frames),
                        literal: String::from_utf8_lossy(token).into_owned(),
                    });
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(out)
}

fn is_unsafe_integer(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    // 2^53-1 has 16 digits: shorter integers are always safe; fractions and exponents are floats.
    if digits.len() < 16 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let trimmed = digits.iter().position(|&d| d != b'0').map_or(&digits[..0], |p| &digits[p..]);
    match trimmed.len().cmp(&16) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        // Same length: compare as decimal strings.
        std::cmp::Ordering::Equal => trimmed > MAX_SAFE_INTEGER.to_string().as_bytes(),
    }
}

fn path_of(input: &[u8], frames: &[Frame]) -> Vec<PathSeg> {
    frames
        .iter()
        .map(|f| {
            if f.is_object {
                PathSeg::Key(serde_json::from_slice::<String>(&input[f.key.0..f.key.1]).unwrap_or_default())
            } else {
                PathSeg::Index(f.commas)
            }
        })
        .collect()
}

/// The integers in a JSON document (trusted: produced by a serializer) that JavaScript
/// cannot represent exactly. Documents without a run of 16 digits are skipped at once.
pub fn unsafe_ints(json: &[u8]) -> Vec<UnsafeInt> {
    if !has_digit_run(json, 16) {
        return Vec::new();
    }
    let unbounded = Limits { max_depth: usize::MAX, max_container_items: usize::MAX, ..Limits::default() };
    scan(json, &unbounded).map(|s| s.unsafe_ints).unwrap_or_default()
}

/// Whether `b` holds `n` consecutive ASCII digits. Looks at every `n`th byte only (any run
/// of `n` covers one of them), then measures the run around a digit it lands on.
fn has_digit_run(b: &[u8], n: usize) -> bool {
    let mut i = n - 1;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += n;
            continue;
        }
        let (mut lo, mut hi) = (i, i);
        while lo > 0 && b[lo - 1].is_ascii_digit() {
            lo -= 1;
        }
        while hi + 1 < b.len() && b[hi + 1].is_ascii_digit() {
            hi += 1;
        }
        if hi - lo + 1 >= n {
            return true;
        }
        // The next run starts after `hi + 1` (not a digit): it covers `hi + n` or a later sample.
        i = hi + n;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::has_digit_run;

    #[test]
    fn digit_runs_are_found_wherever_they_sit() {
        for len in 0..40 {
            for start in 0..40 {
                let mut b = vec![b'x'; 100];
                b[start..start + len].fill(b'7');
                assert_eq!(has_digit_run(&b, 16), len >= 16, "len {len} at {start}");
            }
        }
        assert!(!has_digit_run(b"123456789012345,123456789012345", 16));
        assert!(has_digit_run(b"1234567890123456", 16));
    }
}
