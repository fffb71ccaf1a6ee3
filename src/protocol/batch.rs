//! Several messages in one WebSocket message, for a network client that chose it (subprotocol
//! `auroraview.batch`, docs/network.md): a JSON array of them, in order. Pure: the session
//! hands each queued frame to a `Batcher` and writes what comes out.

use bytes::Bytes;

/// Text messages up to this size are joined with the others queued...
pub const JOIN_MAX: usize = 64 * 1024;
/// ...into WebSocket messages of at most this size.
pub const JOIN_BYTES: usize = 256 * 1024;

/// Groups consecutive messages into batches. A message over `JOIN_MAX`, a binary frame, and
/// a group of one go as they are; the order never changes.
pub struct Batcher {
    group: Vec<Bytes>,
    /// The group's size as a batch: its brackets and commas included.
    bytes: usize,
}

impl Default for Batcher {
    fn default() -> Self {
        Batcher { group: Vec::new(), bytes: 1 }
    }
}

impl Batcher {
    /// Take `frame` (the next queued, in order); the WebSocket messages complete before it
    /// are added to `out`.
    pub fn add(&mut self, frame: Bytes, out: &mut Vec<Bytes>) {
        let joinable = frame.len() <= JOIN_MAX && !super::is_frame(&frame);
        if !joinable {
            self.finish(out);
            out.push(frame);
            return;
        }
        if self.bytes + frame.len() + 1 > JOIN_BYTES {
            self.finish(out);
        }
        self.bytes += frame.len() + 1;
        self.group.push(frame);
    }

    /// Add what is grouped to `out`: alone if it is one, else as one batch.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        self.bytes = 1;
        match self.group.len() {
            0 => {}
            1 => out.extend(self.group.pop()),
            _ => {
                out.push(Bytes::from(batch(&self.group)));
                self.group.clear();
            }
        }
    }
}

/// `[m1,m2,…]`: the JSON array of `messages`, each a JSON value.
pub fn batch(messages: &[Bytes]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(messages.iter().map(|m| m.len() + 1).sum::<usize>() + 1);
    buf.push(b'[');
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(m);
    }
    buf.push(b']');
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: usize) -> Bytes {
        let mut m = br#"{"p":""#.to_vec();
        m.resize(n.max(8) - 2, b'x');
        m.extend_from_slice(br#""}"#);
        Bytes::from(m)
    }

    fn run(frames: &[Bytes]) -> Vec<Bytes> {
        let mut b = Batcher::default();
        let mut out = Vec::new();
        for f in frames {
            b.add(f.clone(), &mut out);
        }
        b.finish(&mut out);
        out
    }

    /// The messages a written message holds, in order.
    fn members(m: &Bytes) -> Vec<Bytes> {
        match serde_json::from_slice::<serde_json::Value>(m) {
            Ok(serde_json::Value::Array(items)) => {
                items.iter().map(|v| Bytes::from(serde_json::to_vec(v).unwrap())).collect()
            }
            _ => vec![m.clone()],
        }
    }

    #[test]
    fn batches_keep_every_message_once_in_order_and_within_their_bounds() {
        let binary = Bytes::from_static(b"\x00\x00\x00\x01{}");
        assert!(crate::protocol::is_frame(&binary));
        // (input, the messages written: their member counts, 0 for a binary frame)
        let cases: Vec<(Vec<Bytes>, Vec<usize>)> = vec![
            (vec![], vec![]),
            (vec![msg(10)], vec![1]),
            (vec![msg(10), msg(10), msg(10)], vec![3]),
            // exactly at the member limit: joined; one byte over: alone, the others around it
            (vec![msg(10), msg(JOIN_MAX), msg(10)], vec![3]),
            (vec![msg(10), msg(JOIN_MAX + 1), msg(10)], vec![1, 1, 1]),
            (vec![msg(10), msg(10), msg(JOIN_MAX + 1), msg(10), msg(10)], vec![2, 1, 2]),
            // a binary frame goes alone
            (vec![msg(10), binary.clone(), msg(10)], vec![1, 0, 1]),
            // batches fill up to JOIN_BYTES: 4 of 64 KiB do not fit (brackets, commas)
            (vec![msg(JOIN_MAX); 4], vec![3, 1]),
            // a batch of exactly JOIN_BYTES (brackets and commas counted); one byte more is not
            (vec![msg(JOIN_MAX - 1), msg(JOIN_MAX - 1), msg(JOIN_MAX - 1), msg(JOIN_MAX - 2)], vec![4]),
            (vec![msg(JOIN_MAX - 1); 4], vec![3, 1]),
            // and the next batch starts counting afresh
            ([vec![msg(JOIN_MAX - 1); 6], vec![msg(JOIN_MAX - 2)]].concat(), vec![3, 4]),
        ];
        for (input, shape) in cases {
            let out = run(&input);
            let got: Vec<usize> =
                out.iter().map(|m| if crate::protocol::is_frame(m) { 0 } else { members(m).len() }).collect();
            assert_eq!(got, shape, "{:?}", input.iter().map(Bytes::len).collect::<Vec<_>>());
            for m in &out {
                assert!(m.len() <= JOIN_BYTES || members(m).len() == 1, "a batch of {} bytes", m.len());
                assert!(m.first() != Some(&b'[') || members(m).len() > 1, "a lone message goes as it is, not as [it]");
            }
            let flat: Vec<Bytes> = out
                .iter()
                .flat_map(|m| if crate::protocol::is_frame(m) { vec![m.clone()] } else { members(m) })
                .collect();
            assert_eq!(flat, input, "every message once, in order");
        }
    }

    #[test]
    fn a_batch_is_the_json_array_of_its_messages() {
        let ms = [Bytes::from_static(br#"{"a":1}"#), Bytes::from_static(br#"{"b":[2]}"#)];
        assert_eq!(batch(&ms), br#"[{"a":1},{"b":[2]}]"#);
        assert_eq!(batch(&ms[..1]), br#"[{"a":1}]"#);
    }
}
