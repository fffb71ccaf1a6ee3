//! The injected bridge script and the one way the host talks back to it.

use bytes::Bytes;

/// `window.auroraview`, compiled from `sdk-ts/src/bridge.ts` (checked fresh in CI).
pub const SCRIPT: &str = include_str!("bridge.gen.js");

/// One script delivering a batch of frames as *data*: the frames, joined into a JSON array,
/// travel as a JS string literal to the pre-registered receiver, which `JSON.parse`s them.
/// Nothing from a payload is ever spliced into the script as code.
///
/// The first argument is the document's own key (the one its bridge announced in `hello`):
/// the receiver ignores any call without it, so a page script calling the receiver cannot
/// settle calls or fake events (RELIABILITY.md case 28), and a delivery meant for an older
/// document is refused by the new one.
pub fn batch_script(key: &str, frames: &[Bytes]) -> String {
    const HEAD: &str = "window.__auroraview_receive&&window.__auroraview_receive(";
    // The gate binds only `[A-Za-z0-9_-]` keys; quoted anyway, so no key can be code.
    let key = serde_json::to_string(key).unwrap_or_else(|_| "\"\"".into());
    // Built in one pass into one buffer (a 1 MiB reply was copied four times, each copy a
    // fresh mapping to fault in: `make bench`'s record echo, docs/performance.md).
    let len: usize = frames.iter().map(|f| f.len() + 1).sum();
    // JSON text escapes its quotes: room for one in four bytes being one.
    let mut out = String::with_capacity(HEAD.len() + key.len() + len + len / 4 + 8);
    out.push_str(HEAD);
    out.push_str(&key);
    out.push_str(",\"[");
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape_into(&mut out, &String::from_utf8_lossy(f));
    }
    out.push_str("]\")");
    out
}

/// Append `text` as the inside of a JSON (and so JavaScript) string literal: `"` and `\`
/// escaped, control characters as `serde_json` writes them, the rest copied in runs.
fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| b < 0x20) {
        // JSON text has no raw control characters: only quotes and backslashes to find.
        let mut run = 0;
        for i in memchr::memchr2_iter(b'"', b'\\', bytes) {
            out.push_str(&text[run..i]);
            out.push('\\');
            out.push(char::from(bytes[i]));
            run = i + 1;
        }
        out.push_str(&text[run..]);
        return;
    }
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run..i]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escaped);
        }
        run = i + 1;
    }
    out.push_str(&text[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_inside_one_string_literal() {
        let evil =
            Bytes::from_static(br#"{"type":"event","event":"x\"),alert(1),(\"","payload":"</script>\u2028`${x}`"}"#);
        let script = batch_script("k3y_-", &[evil.clone(), evil]);
        let prefix = "window.__auroraview_receive&&window.__auroraview_receive(";
        assert!(script.starts_with(prefix) && script.ends_with(')'));
        // The arguments, `"key","batch"`, are two JSON strings.
        let args: Vec<String> =
            serde_json::from_str(&format!("[{}]", &script[prefix.len()..script.len() - 1])).unwrap();
        assert_eq!(args.len(), 2);
        assert_eq!(args[0], "k3y_-", "the document's key comes first");
        let frames: Vec<serde_json::Value> = serde_json::from_str(&args[1]).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0]["event"], "x\"),alert(1),(\"");
    }

    #[test]
    fn the_batch_is_the_json_string_of_the_joined_frames() {
        // Every byte JSON must escape, and text that must stay as it is.
        let frames = [
            Bytes::from_static(b"{\"a\":\"q\\\"b\\\\c\"}"),
            Bytes::from(format!("\"{}\"", (0u8..0x20).map(char::from).collect::<String>())),
            Bytes::from_static("\"é\u{2028}😀\"".as_bytes()),
        ];
        let script = batch_script("k", &frames);
        let joined =
            format!("[{}]", frames.iter().map(|f| std::str::from_utf8(f).unwrap()).collect::<Vec<_>>().join(","));
        let want = format!(
            "window.__auroraview_receive&&window.__auroraview_receive(\"k\",{})",
            serde_json::to_string(&joined).unwrap()
        );
        assert_eq!(script, want);
        assert_eq!(batch_script("k", &[]), "window.__auroraview_receive&&window.__auroraview_receive(\"k\",\"[]\")");
    }

    #[test]
    fn a_key_stays_inside_its_string_literal() {
        let script = batch_script(r#"k"),alert(1),("#, &[]);
        assert!(script.ends_with(r#"receive("k\"),alert(1),(","[]")"#), "{script}");
    }
}
