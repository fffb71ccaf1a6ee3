//! Binary frames: one JSON message plus raw attachments, for every transport that carries
//! bytes (the window's call endpoint, WebSocket binary messages, in-process connections).
//! The layout is documented in docs/binary.md; the SDK and the Python client read the same.
//!
//! ```text
//! 0x00 | H: u32 LE | N: u32 LE | N × u32 LE lengths | H bytes of JSON | attachments
//! ```
//!
//! Inside the JSON, `{"$bin": i}` stands for attachment `i` (the host's handlers put them
//! back; this module never looks inside the JSON).

use bytes::{Bytes, BytesMut};

/// The first byte of every binary frame: a JSON text never starts with NUL.
pub const FRAME_TAG: u8 = 0x00;
const HEADER: usize = 9;

/// Whether `data` is a binary frame (as opposed to a JSON text message).
pub fn is_frame(data: &[u8]) -> bool {
    data.first() == Some(&FRAME_TAG)
}

/// A decoded frame: the JSON message and the attachments, both views of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub json: Bytes,
    pub blobs: Vec<Bytes>,
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Not a frame, or lengths that do not add up to its size.
    Malformed(String),
    /// The attachments together exceed the limit (bytes).
    TooLarge { total: u64, max: usize },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Malformed(why) => write!(f, "malformed binary frame: {why}"),
            FrameError::TooLarge { total, max } => {
                write!(f, "the binary frame's attachments are {total} bytes; the limit is {max} bytes")
            }
        }
    }
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Read the header of a frame: the JSON length and each attachment's length. Enough to refuse
/// an oversized frame before its body is read (the window reads the first bytes only).
pub fn header(data: &[u8], max_blob_bytes: usize) -> Result<(usize, Vec<usize>), FrameError> {
    header_of(data, data.len(), max_blob_bytes)
}

/// `header`, reading `data` (at least the header and its length table, when the frame holds
/// them) of a frame `size` bytes long.
fn header_of(data: &[u8], size: usize, max_blob_bytes: usize) -> Result<(usize, Vec<usize>), FrameError> {
    if size < HEADER || data.len() < HEADER {
        return Err(FrameError::Malformed(format!("{size} bytes, shorter than its 9-byte header")));
    }
    if data[0] != FRAME_TAG {
        return Err(FrameError::Malformed(format!("its first byte is {:#04x}, not 0x00", data[0])));
    }
    let json = u32_at(data, 1) as usize;
    let n = u32_at(data, 5) as usize;
    let table = n.checked_mul(4).and_then(|t| t.checked_add(HEADER));
    let Some(table_end) = table.filter(|end| *end <= size && *end <= data.len()) else {
        return Err(FrameError::Malformed(format!("it announces {n} attachments but is {size} bytes long")));
    };
    let mut lens = Vec::with_capacity(n);
    let mut total: u64 = 0;
    for i in 0..n {
        let len = u32_at(data, HEADER + 4 * i);
        total += u64::from(len);
        lens.push(len as usize);
    }
    if total > max_blob_bytes as u64 {
        return Err(FrameError::TooLarge { total, max: max_blob_bytes });
    }
    let expected = table_end as u64 + json as u64 + total;
    if expected != size as u64 {
        return Err(FrameError::Malformed(format!(
            "its lengths add up to {expected} bytes but it is {size} bytes long"
        )));
    }
    Ok((json, lens))
}

/// Split a frame into its JSON message and attachments (views, no copy).
pub fn decode_frame(data: &Bytes, max_blob_bytes: usize) -> Result<Frame, FrameError> {
    let chunked = decode_chunks(std::slice::from_ref(data), max_blob_bytes)?;
    // One chunk in: every attachment is one view of it.
    let blobs = chunked.blobs.into_iter().map(|segments| concat(&segments)).collect();
    Ok(Frame { json: chunked.json, blobs })
}

/// A frame read as several chunks (a large request body is read in pieces, so that each can
/// be freed as soon as its bytes are copied on: docs/binary.md, "Memory"). Each attachment is
/// the views of the chunks it spans, in order; the JSON is joined (a copy only when it spans
/// chunks).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkedFrame {
    pub json: Bytes,
    pub blobs: Vec<Vec<Bytes>>,
}

/// `decode_frame` for a frame in `chunks`, back to back.
pub fn decode_chunks(chunks: &[Bytes], max_blob_bytes: usize) -> Result<ChunkedFrame, FrameError> {
    let total: usize = chunks.iter().map(Bytes::len).sum();
    let mut reader = Chunks { chunks, index: 0, offset: 0 };
    // The header and the length table: small, joined to be read as one.
    if total < HEADER {
        return Err(FrameError::Malformed(format!("{total} bytes, shorter than its 9-byte header")));
    }
    let head = concat(&reader.take(HEADER));
    let table_len = (u32_at(&head, 5) as usize).saturating_mul(4).min(total - HEADER);
    let table = concat(&reader.take(table_len));
    let mut whole = BytesMut::with_capacity(HEADER + table.len());
    whole.extend_from_slice(&head);
    whole.extend_from_slice(&table);
    // `header` checks everything against the real size; the table is all it reads.
    let (json_len, lens) = header_of(&whole, total, max_blob_bytes)?;
    let json = concat(&reader.take(json_len));
    let blobs = lens.into_iter().map(|len| reader.take(len)).collect();
    Ok(ChunkedFrame { json, blobs })
}

/// Views of the next bytes of a sequence of chunks.
struct Chunks<'a> {
    chunks: &'a [Bytes],
    index: usize,
    offset: usize,
}

impl Chunks<'_> {
    fn take(&mut self, mut n: usize) -> Vec<Bytes> {
        let mut out = Vec::new();
        while n > 0 && self.index < self.chunks.len() {
            let chunk = &self.chunks[self.index];
            let here = (chunk.len() - self.offset).min(n);
            if here > 0 {
                out.push(chunk.slice(self.offset..self.offset + here));
            }
            n -= here;
            self.offset += here;
            if self.offset == chunk.len() {
                self.index += 1;
                self.offset = 0;
            }
        }
        out
    }
}

/// The frame for `json` and `blobs`, as segments to write back to back: the header, the
/// JSON, then each attachment untouched (a 100 MiB result is never copied to be framed).
pub fn encode_frame(json: Bytes, blobs: &[Bytes]) -> Vec<Bytes> {
    let mut head = BytesMut::with_capacity(HEADER + 4 * blobs.len());
    head.extend_from_slice(&[FRAME_TAG]);
    head.extend_from_slice(&(json.len() as u32).to_le_bytes());
    head.extend_from_slice(&(blobs.len() as u32).to_le_bytes());
    for blob in blobs {
        head.extend_from_slice(&(blob.len() as u32).to_le_bytes());
    }
    let mut segments = Vec::with_capacity(blobs.len() + 2);
    segments.push(head.freeze());
    segments.push(json);
    segments.extend(blobs.iter().cloned());
    segments
}

/// Segments joined into one buffer (for a transport that sends one message).
pub fn concat(segments: &[Bytes]) -> Bytes {
    match segments {
        [one] => one.clone(),
        _ => {
            let mut all = BytesMut::with_capacity(segments.iter().map(Bytes::len).sum());
            for s in segments {
                all.extend_from_slice(s);
            }
            all.freeze()
        }
    }
}

/// A JSON message alone as a frame (no attachments): how an error is answered on a route
/// that expects frames.
pub fn json_frame(json: Vec<u8>) -> Vec<Bytes> {
    encode_frame(Bytes::from(json), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &[u8], blobs: &[&[u8]]) -> Bytes {
        let blobs: Vec<Bytes> = blobs.iter().map(|b| Bytes::copy_from_slice(b)).collect();
        concat(&encode_frame(Bytes::copy_from_slice(json), &blobs))
    }

    #[test]
    fn frames_round_trip_with_any_attachments() {
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"{}", &[]),
            (b"{\"a\":{\"$bin\":0}}", &[b""]),
            (b"[1]", &[b"\x00", b"\x89PNG\r\n\x1a\n\xff\xfe", b""]),
            (b"", &[b"x"]),
        ];
        for (json, blobs) in cases {
            let data = frame(json, blobs);
            assert!(is_frame(&data));
            let decoded = decode_frame(&data, 1 << 20).unwrap();
            assert_eq!(&decoded.json[..], *json);
            let got: Vec<&[u8]> = decoded.blobs.iter().map(|b| &b[..]).collect();
            assert_eq!(&got, blobs);
        }
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let data = frame(b"{}", &[b"abc"]);
        assert_eq!(&data[..], b"\x00\x02\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00{}abc");
    }

    #[test]
    fn frames_whose_lengths_do_not_add_up_are_refused() {
        let good = frame(b"{}", &[b"abc"]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("short header", good[..8].to_vec()),
            ("json text", b"{\"type\":\"call\"}".to_vec()),
            ("one byte missing", good[..good.len() - 1].to_vec()),
            ("one byte extra", [&good[..], b"x"].concat()),
            ("attachment table past the end", b"\x00\x00\x00\x00\x00\xff\xff\xff\xff".to_vec()),
            ("json length past the end", b"\x00\xff\xff\xff\xff\x00\x00\x00\x00".to_vec()),
        ];
        for (what, data) in cases {
            match decode_frame(&Bytes::from(data), 1 << 20) {
                Err(FrameError::Malformed(_)) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_frame_in_chunks_decodes_as_the_same_frame_cut_anywhere() {
        let data = frame(b"{\"a\":[1,2,3]}", &[b"\x89PNG\r\n", b"", b"0123456789"]);
        let whole = decode_frame(&data, 1 << 20).unwrap();
        for cut in 1..data.len() {
            for second in [cut, (cut + 3).min(data.len())] {
                let chunks = [data.slice(..cut), data.slice(cut..second), data.slice(second..)];
                let chunked = decode_chunks(&chunks, 1 << 20).unwrap();
                assert_eq!(chunked.json, whole.json, "cut at {cut}, {second}");
                let blobs: Vec<Bytes> = chunked.blobs.iter().map(|b| concat(b)).collect();
                assert_eq!(blobs, whole.blobs, "cut at {cut}, {second}");
            }
        }
        let mut short = data.to_vec();
        short.pop();
        let short = Bytes::from(short);
        for cut in 1..short.len() {
            let chunks = [short.slice(..cut), short.slice(cut..)];
            assert!(matches!(decode_chunks(&chunks, 1 << 20), Err(FrameError::Malformed(_))), "cut at {cut}");
        }
    }

    #[test]
    fn attachments_over_the_limit_are_refused_from_the_header_alone() {
        let data = frame(b"{}", &[b"abcd", b"ef"]);
        assert!(decode_frame(&data, 6).is_ok(), "exactly at the limit");
        assert_eq!(decode_frame(&data, 5), Err(FrameError::TooLarge { total: 6, max: 5 }));
        // The header and length table are enough to tell, before the body is there.
        assert_eq!(header(&data[..17], 5), Err(FrameError::TooLarge { total: 6, max: 5 }));
    }
}
