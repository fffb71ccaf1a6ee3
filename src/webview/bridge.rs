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
    let len: usize = frames.iter().map(|f| f.len() + 1).sum();
    let mut batch = String::with_capacity(len + 2);
    batch.push('[');
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            batch.push(',');
        }
        batch.push_str(&String::from_utf8_lossy(f));
    }
    batch.push(']');
    let literal = serde_json::to_string(&batch).unwrap_or_else(|_| "\"[]\"".into());
    // The gate binds only `[A-Za-z0-9_-]` keys; quoted anyway, so no key can be code.
    let key = serde_json::to_string(key).unwrap_or_else(|_| "\"\"".into());
    format!("window.__auroraview_receive&&window.__auroraview_receive({key},{literal})")
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
    fn a_key_stays_inside_its_string_literal() {
        let script = batch_script(r#"k"),alert(1),("#, &[]);
        assert!(script.ends_with(r#"receive("k\"),alert(1),(","[]")"#), "{script}");
    }
}
