//! Large frames posted in parts (docs/binary.md, "Memory"). WebKit holds a request body twice
//! in the host process before the endpoint reads it, so a 100 MiB frame posted whole costs
//! 200 MiB there on top of ours. The page posts a frame over `PART_BYTES` as parts, each its
//! own request with `UPLOAD_HEADER: <upload>;more`, then the last with `<upload>;last`; the
//! endpoint keeps the parts read so far here and routes the frame when the last arrives.
//! WebKit then holds at most two parts at a time.
//!
//! Pure: what the endpoint does with a part is decided here; reading it is `endpoint.rs`'s.

use std::collections::HashMap;

use bytes::Bytes;

use crate::ipc::ConnId;

/// The header naming a part: `<upload>;more` for a part with more to come, `<upload>;last`
/// for the part that completes the frame. `<upload>` is a decimal number the page chooses,
/// unique among its uploads in progress.
pub const UPLOAD_HEADER: &str = "X-AuroraView-Upload";

/// At most this many uploads in progress per document: a page that starts more is refused.
pub const MAX_OPEN_UPLOADS: usize = 16;

/// One part's header, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub upload: u32,
    pub last: bool,
}

/// The part named by a header value; `None` when it is not `<decimal u32>;more|last`.
pub fn parse_part(value: &str) -> Option<Part> {
    let (upload, kind) = value.trim().split_once(';')?;
    if upload.is_empty() || upload.len() > 10 || !upload.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let upload = upload.parse().ok()?;
    let last = match kind.trim() {
        "more" => false,
        "last" => true,
        _ => return None,
    };
    Some(Part { upload, last })
}

/// Why a part was refused (the upload it belonged to is forgotten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartRefusal {
    /// The parts would hold more than a frame may be (413).
    TooLarge,
    /// The page has `MAX_OPEN_UPLOADS` uploads in progress already (429).
    TooMany,
    /// A last part for an upload with no earlier part (400).
    Unknown,
}

impl PartRefusal {
    pub fn status(self) -> u16 {
        match self {
            PartRefusal::TooLarge => 413,
            PartRefusal::TooMany => 429,
            PartRefusal::Unknown => 400,
        }
    }
}

/// One page's uploads in progress. They belong to one connection (one document): a part from
/// another connection starts afresh, so a reloaded page never completes the old one's frame.
#[derive(Debug, Default)]
pub struct Uploads {
    conn: ConnId,
    open: HashMap<u32, Vec<Bytes>>,
    /// Bytes held across every open upload.
    held: usize,
}

impl Uploads {
    /// Whether a part of `len` bytes for `upload` may be read, before it is: `max` is the
    /// most a whole frame may be, and the page's uploads together hold at most that.
    pub fn admit(&mut self, conn: ConnId, part: Part, len: usize, max: usize) -> Result<(), PartRefusal> {
        self.adopt(conn);
        let exists = self.open.contains_key(&part.upload);
        if part.last && !exists {
            return Err(PartRefusal::Unknown);
        }
        if !exists && self.open.len() >= MAX_OPEN_UPLOADS {
            return Err(PartRefusal::TooMany);
        }
        let upload: usize = self.open.get(&part.upload).map_or(0, |parts| parts.iter().map(Bytes::len).sum());
        if upload.saturating_add(len) > max || self.held.saturating_add(len) > max {
            self.forget(part.upload);
            return Err(PartRefusal::TooLarge);
        }
        Ok(())
    }

    /// Keep a part with more to come (read in `chunks`).
    pub fn keep(&mut self, conn: ConnId, upload: u32, chunks: Vec<Bytes>, max: usize) -> Result<(), PartRefusal> {
        let len: usize = chunks.iter().map(Bytes::len).sum();
        self.admit(conn, Part { upload, last: false }, len, max)?;
        self.held += len;
        self.open.entry(upload).or_default().extend(chunks);
        Ok(())
    }

    /// The whole frame: the parts kept for `upload`, then the last part's `chunks`.
    pub fn complete(
        &mut self,
        conn: ConnId,
        upload: u32,
        chunks: Vec<Bytes>,
        max: usize,
    ) -> Result<Vec<Bytes>, PartRefusal> {
        let len: usize = chunks.iter().map(Bytes::len).sum();
        self.admit(conn, Part { upload, last: true }, len, max)?;
        let mut frame = self.open.remove(&upload).unwrap_or_default();
        self.held -= frame.iter().map(Bytes::len).sum::<usize>();
        frame.extend(chunks);
        Ok(frame)
    }

    /// Drop `upload`'s parts (a refused part, a failed read).
    pub fn forget(&mut self, upload: u32) {
        if let Some(parts) = self.open.remove(&upload) {
            self.held -= parts.iter().map(Bytes::len).sum::<usize>();
        }
    }

    /// Drop everything (the window closed).
    pub fn clear(&mut self) {
        self.open.clear();
        self.held = 0;
    }

    /// Bytes held across the uploads in progress.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held
    }

    fn adopt(&mut self, conn: ConnId) {
        if self.conn != conn {
            self.clear();
            self.conn = conn;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(sizes: &[usize]) -> Vec<Bytes> {
        sizes.iter().map(|&n| Bytes::from(vec![n as u8; n])).collect()
    }

    #[test]
    fn part_headers_parse_strictly() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<Part>)] = &[
            ("7;more", Some(Part { upload: 7, last: false })),
            ("7;last", Some(Part { upload: 7, last: true })),
            (" 0 ; last ", None),
            ("0;last", Some(Part { upload: 0, last: true })),
            ("4294967295;more", Some(Part { upload: u32::MAX, last: false })),
            ("4294967296;more", None),
            ("00000000001;more", None),
            ("7", None),
            ("7;", None),
            (";more", None),
            ("-1;more", None),
            ("+1;more", None),
            ("1.5;more", None),
            ("7;MORE", None),
            ("7;more;last", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(parse_part(value), *want, "{value:?}");
        }
    }

    #[test]
    fn parts_make_one_frame_in_order() {
        let mut uploads = Uploads::default();
        uploads.keep(1, 3, chunks(&[2, 3]), 100).unwrap();
        uploads.keep(1, 3, chunks(&[4]), 100).unwrap();
        assert_eq!(uploads.held(), 9);
        let frame = uploads.complete(1, 3, chunks(&[5]), 100).unwrap();
        let lens: Vec<usize> = frame.iter().map(Bytes::len).collect();
        assert_eq!(lens, [2, 3, 4, 5]);
        assert_eq!(uploads.held(), 0);
        // Completed: a second last part for it is unknown.
        assert_eq!(uploads.complete(1, 3, chunks(&[1]), 100), Err(PartRefusal::Unknown));
    }

    #[test]
    fn a_last_part_without_earlier_parts_is_refused() {
        let mut uploads = Uploads::default();
        assert_eq!(uploads.complete(1, 9, chunks(&[1]), 100), Err(PartRefusal::Unknown));
        assert_eq!(PartRefusal::Unknown.status(), 400);
    }

    #[test]
    fn the_limit_counts_the_whole_frame_and_every_upload_together() {
        let mut uploads = Uploads::default();
        uploads.keep(1, 1, chunks(&[60]), 100).unwrap();
        // Exactly at the limit is allowed; one byte over is refused and forgets the upload.
        assert_eq!(uploads.admit(1, Part { upload: 1, last: true }, 40, 100), Ok(()));
        assert_eq!(uploads.complete(1, 1, chunks(&[41]), 100), Err(PartRefusal::TooLarge));
        assert_eq!(uploads.held(), 0);
        assert_eq!(PartRefusal::TooLarge.status(), 413);
        // Two uploads together may not hold more than one frame may be.
        uploads.keep(1, 2, chunks(&[60]), 100).unwrap();
        assert_eq!(uploads.keep(1, 3, chunks(&[41]), 100), Err(PartRefusal::TooLarge));
        assert_eq!(uploads.held(), 60);
        uploads.keep(1, 3, chunks(&[40]), 100).unwrap();
        assert_eq!(uploads.held(), 100);
    }

    #[test]
    fn a_page_has_a_bounded_number_of_uploads_in_progress() {
        let mut uploads = Uploads::default();
        for upload in 0..MAX_OPEN_UPLOADS as u32 {
            uploads.keep(1, upload, chunks(&[1]), 1000).unwrap();
        }
        assert_eq!(uploads.keep(1, 99, chunks(&[1]), 1000), Err(PartRefusal::TooMany));
        assert_eq!(PartRefusal::TooMany.status(), 429);
        // More parts of an upload in progress are still welcome.
        uploads.keep(1, 0, chunks(&[1]), 1000).unwrap();
        uploads.forget(0);
        uploads.keep(1, 99, chunks(&[1]), 1000).unwrap();
    }

    #[test]
    fn another_document_never_completes_the_old_ones_frame() {
        let mut uploads = Uploads::default();
        uploads.keep(1, 5, chunks(&[10]), 100).unwrap();
        // The page reloaded (connection 2): its part 5 starts a new upload.
        assert_eq!(uploads.complete(2, 5, chunks(&[1]), 100), Err(PartRefusal::Unknown));
        assert_eq!(uploads.held(), 0);
        uploads.keep(2, 5, chunks(&[3]), 100).unwrap();
        let frame = uploads.complete(2, 5, chunks(&[1]), 100).unwrap();
        assert_eq!(frame.iter().map(Bytes::len).sum::<usize>(), 4);
    }
}
