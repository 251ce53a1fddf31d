//! Cuts a raw H.264 byte stream (Annex B: NAL units behind `00 00 01` start codes, as
//! `screenrecord --output-format=h264` and `ffmpeg -f h264` write it) into access units,
//! one per picture, which is what a browser's decoder takes as one chunk.
//!
//! Written here because no crate does this incrementally on a live pipe: the parsers on
//! crates.io (h264-reader and the like) decode headers, not frame boundaries in a stream
//! that arrives in arbitrary pieces.
//!
//! A decoder can only start at a key picture with the parameter sets before it. Android's
//! encoder writes its SPS and PPS once, at the start; so every key picture is sent with the
//! latest parameter sets in front, and a viewer joining late starts cleanly.

const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SEI: u8 = 6;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// Annex B bytes of the picture, parameter sets first when it is a key picture.
    pub data: Vec<u8>,
    pub key: bool,
}

#[derive(Default)]
pub struct Splitter {
    /// Bytes not yet cut into whole NAL units (from the last start code on).
    pending: Vec<u8>,
    /// NAL units of the picture being gathered (each with its start code).
    unit: Vec<Vec<u8>>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

fn nal_type(nal: &[u8]) -> u8 {
    let header = start_code_len(nal).and_then(|n| nal.get(n)).copied().unwrap_or(0);
    header & 0x1f
}

fn start_code_len(data: &[u8]) -> Option<usize> {
    match data {
        [0, 0, 1, ..] => Some(3),
        [0, 0, 0, 1, ..] => Some(4),
        _ => None,
    }
}

/// Where the next start code at or after `from` begins.
fn find_start(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 {
            if data[i + 2] == 1 {
                // A four-byte start code's leading zero belongs to it, not to the last unit.
                return Some(if i > from && data[i - 1] == 0 { i - 1 } else { i });
            }
            if data[i + 2] == 0 {
                i += 1;
                continue;
            }
        }
        i += 1;
    }
    None
}

fn is_vcl(kind: u8) -> bool {
    kind == NAL_SLICE || kind == NAL_IDR
}

/// Whether a slice starts a new picture: `first_mb_in_slice` is 0, written as the single
/// bit `1` at the top of the slice header.
fn first_slice_of_picture(nal: &[u8]) -> bool {
    let skip = start_code_len(nal).unwrap_or(0) + 1;
    nal.get(skip).is_some_and(|b| b & 0x80 != 0)
}

impl Splitter {
    /// Takes the next bytes of the stream; returns the pictures they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<AccessUnit> {
        self.pending.extend_from_slice(bytes);
        let mut done = Vec::new();
        let Some(first) = find_start(&self.pending, 0) else { return done };
        let mut at = first;
        while let Some(next) = find_start(&self.pending, at + 3) {
            let nal = self.pending[at..next].to_vec();
            self.take_nal(nal, &mut done);
            at = next;
        }
        self.pending.drain(..at);
        done
    }

    /// Ends the picture being gathered, when the stream paused after a whole picture: a
    /// picture is otherwise known complete only when the next one begins, a frame late.
    pub fn flush(&mut self) -> Vec<AccessUnit> {
        let mut done = Vec::new();
        if find_start(&self.pending, 0) == Some(0) && self.pending.len() > 4 {
            let nal = std::mem::take(&mut self.pending);
            self.take_nal(nal, &mut done);
        }
        done.extend(self.finish_unit());
        done
    }

    /// Whether the last thing seen was picture data, so that a pause means a whole picture.
    pub fn ends_in_picture(&self) -> bool {
        find_start(&self.pending, 0) == Some(0) && is_vcl(nal_type(&self.pending))
    }

    fn take_nal(&mut self, nal: Vec<u8>, done: &mut Vec<AccessUnit>) {
        let kind = nal_type(&nal);
        let unit_has_picture = self.unit.iter().any(|n| is_vcl(nal_type(n)));
        let starts_unit = match kind {
            NAL_AUD | NAL_SPS | NAL_PPS | NAL_SEI => unit_has_picture,
            k if is_vcl(k) => unit_has_picture && first_slice_of_picture(&nal),
            _ => false,
        };
        if starts_unit {
            done.extend(self.finish_unit());
        }
        match kind {
            NAL_SPS => self.sps = Some(nal.clone()),
            NAL_PPS => self.pps = Some(nal.clone()),
            _ => {}
        }
        self.unit.push(nal);
    }

    fn finish_unit(&mut self) -> Option<AccessUnit> {
        if !self.unit.iter().any(|n| is_vcl(nal_type(n))) {
            return None;
        }
        let nals = std::mem::take(&mut self.unit);
        let key = nals.iter().any(|n| nal_type(n) == NAL_IDR);
        let mut data = Vec::with_capacity(nals.iter().map(Vec::len).sum::<usize>() + 64);
        if key && !nals.iter().any(|n| nal_type(n) == NAL_SPS) {
            for set in [&self.sps, &self.pps].into_iter().flatten() {
                data.extend_from_slice(set);
            }
        }
        for nal in nals {
            data.extend_from_slice(&nal);
        }
        Some(AccessUnit { data, key })
    }

    /// The codec string a browser's decoder is configured with (`avc1.PPCCLL`), from the
    /// stream's sequence parameter set once seen.
    pub fn codec(&self) -> Option<String> {
        let sps = self.sps.as_ref()?;
        let body = &sps[start_code_len(sps)? + 1..];
        let [profile, constraints, level, ..] = body else { return None };
        Some(format!("avc1.{profile:02x}{constraints:02x}{level:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nal(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, kind];
        v.extend_from_slice(body);
        v
    }

    fn stream() -> Vec<u8> {
        [
            nal(NAL_SPS, &[0x42, 0xc0, 0x1f, 0xaa]),
            nal(NAL_PPS, &[0xce, 0x3c]),
            nal(NAL_IDR | 0x60, &[0x88, 1, 2, 3]),
            nal(NAL_SLICE | 0x40, &[0x9a, 4, 5]),
            nal(NAL_SLICE | 0x40, &[0x9a, 6, 7]),
            nal(NAL_IDR | 0x60, &[0x88, 8, 9]),
        ]
        .concat()
    }

    #[test]
    fn pictures_come_out_whole_in_any_pieces() {
        let data = stream();
        for piece in [1, 2, 3, 7, data.len()] {
            let mut s = Splitter::default();
            let mut units: Vec<AccessUnit> = data.chunks(piece).flat_map(|c| s.push(c)).collect();
            units.extend(s.flush());
            assert_eq!(units.len(), 4, "piece size {piece}");
            assert!(units[0].key && !units[1].key && !units[2].key && units[3].key);
            assert!(units[0].data.starts_with(&nal(NAL_SPS, &[0x42, 0xc0, 0x1f, 0xaa])));
            assert_eq!(units[1].data, nal(NAL_SLICE | 0x40, &[0x9a, 4, 5]));
            assert_eq!(s.codec().as_deref(), Some("avc1.42c01f"));
        }
    }

    #[test]
    fn a_later_key_picture_carries_the_parameter_sets_it_needs() {
        let mut s = Splitter::default();
        let mut units = s.push(&stream());
        units.extend(s.flush());
        let last = units.last().unwrap();
        assert!(last.data.starts_with(&nal(NAL_SPS, &[0x42, 0xc0, 0x1f, 0xaa])));
        assert!(last.data.ends_with(&nal(NAL_IDR | 0x60, &[0x88, 8, 9])));
    }

    #[test]
    fn a_slice_continuing_its_picture_stays_in_it() {
        let data = [nal(NAL_IDR | 0x60, &[0x88, 1]), nal(NAL_IDR | 0x60, &[0x40, 2]), nal(NAL_SLICE, &[0x80])].concat();
        let mut s = Splitter::default();
        let mut units = s.push(&data);
        units.extend(s.flush());
        assert_eq!(units.len(), 2);
        assert!(units[0].key);
    }
}
