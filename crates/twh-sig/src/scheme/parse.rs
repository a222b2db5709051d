//! Bounded, allocation-free parsing of hostile header values.
//!
//! Everything works on the raw header bytes: nothing is validated twice and
//! nothing is copied except the message id, which [`crate::Verified`] owns.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{MAX_ID_LEN, MAX_SIGNATURE_HEADER_LEN, MAX_SIGNATURES};
use crate::error::VerifyError;

/// A header the verifier reads: its name and how errors spell it.
pub(crate) type Wanted = (HeaderName, &'static str);

/// Maps with more values than this are searched by hash instead of by scan.
const LINEAR_SCAN_MAX: usize = 32;

pub(crate) const fn malformed(name: &'static str, reason: &'static str) -> VerifyError {
    VerifyError::MalformedHeader { name, reason }
}

/// The single value of each `wanted` header, if present.
///
/// Refuses a repeated header and a value over [`MAX_SIGNATURE_HEADER_LEN`].
/// Small maps (the usual case: a request's dozen headers) are scanned once,
/// which is cheaper than one hash lookup per wanted header.
pub(crate) fn find_headers<'h, const K: usize>(
    headers: &'h HeaderMap,
    wanted: &[Wanted; K],
) -> Result<[Option<&'h [u8]>; K], VerifyError> {
    let mut found: [Option<&'h HeaderValue>; K] = [None; K];
    if headers.len() <= LINEAR_SCAN_MAX {
        for (name, value) in headers {
            let name = name.as_str();
            if let Some(i) = wanted.iter().position(|(w, _)| w.as_str() == name) {
                if found[i].replace(value).is_some() {
                    return Err(malformed(wanted[i].1, "header appears more than once"));
                }
            }
        }
    } else {
        for (slot, (header, name)) in found.iter_mut().zip(wanted) {
            let mut values = headers.get_all(header).iter();
            *slot = values.next();
            if values.next().is_some() {
                return Err(malformed(name, "header appears more than once"));
            }
        }
    }
    let mut out: [Option<&'h [u8]>; K] = [None; K];
    for ((slot, value), (_, name)) in out.iter_mut().zip(found).zip(wanted) {
        if let Some(value) = value {
            if value.len() > MAX_SIGNATURE_HEADER_LEN {
                return Err(malformed(name, "longer than 8 KiB"));
            }
            *slot = Some(value.as_bytes());
        }
    }
    Ok(out)
}

/// A required header's value, or [`VerifyError::MissingHeader`].
pub(crate) fn required<'h>(
    value: Option<&'h [u8]>,
    name: &'static str,
) -> Result<&'h [u8], VerifyError> {
    value.ok_or(VerifyError::MissingHeader { name })
}

/// An id header value: non-empty, at most [`MAX_ID_LEN`] bytes, visible ASCII.
pub(crate) fn parse_id(name: &'static str, value: &[u8]) -> Result<String, VerifyError> {
    if value.is_empty() {
        return Err(malformed(name, "empty id"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(malformed(name, "id longer than 256 bytes"));
    }
    // A `HeaderValue` holds no control characters but tab; refuse obs-text too.
    match std::str::from_utf8(value) {
        Ok(id) if id.is_ascii() => Ok(id.to_owned()),
        _ => Err(malformed(name, "id is not visible ASCII")),
    }
}

/// Strict unix-seconds timestamp: canonical decimal, no sign, no leading
/// zeros, no spaces, at most ten digits. Thirteen digits read as milliseconds.
pub(crate) fn parse_timestamp(name: &'static str, bytes: &[u8]) -> Result<u64, VerifyError> {
    if bytes.is_empty() {
        return Err(malformed(name, "empty timestamp"));
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(malformed(
            name,
            "timestamp is not plain decimal unix seconds",
        ));
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return Err(malformed(name, "timestamp has a leading zero"));
    }
    if bytes.len() == 13 {
        return Err(VerifyError::TimestampInMilliseconds);
    }
    if bytes.len() > 10 {
        return Err(malformed(name, "timestamp out of range"));
    }
    let mut value = 0_u64;
    for b in bytes {
        value = value * 10 + u64::from(b - b'0');
    }
    Ok(value)
}

/// Up to [`MAX_SIGNATURES`] decoded signatures of `N` bytes, on the stack.
pub(crate) struct Tags<const N: usize> {
    buf: [[u8; N]; MAX_SIGNATURES],
    len: usize,
}

impl<const N: usize> Tags<N> {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [[0; N]; MAX_SIGNATURES],
            len: 0,
        }
    }

    /// Add a decoded signature; the caller has already bounded the entry count.
    pub(crate) fn push(&mut self, tag: [u8; N]) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = tag;
            self.len += 1;
        }
    }

    pub(crate) fn as_slice(&self) -> &[[u8; N]] {
        &self.buf[..self.len]
    }

    pub(crate) const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Standard base64 alphabet value of each byte; 0xFF for bytes outside it.
const B64_VALUE: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [0xFF_u8; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Decode exactly `N` bytes of canonical padded standard base64, or `None`.
///
/// The length is checked before decoding; the output is a fixed array (no
/// allocation). Canonical means: `=` padding present exactly where needed and
/// the unused low bits of the last character zero, so every signature has one
/// spelling. Equivalent to the `base64` crate's `STANDARD` engine (tested).
pub(crate) fn decode_b64<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != N.div_ceil(3) * 4 {
        return None;
    }
    let sextet = |c: u8| u32::from(B64_VALUE[usize::from(c)]);
    let (quads, tail) = text.split_at(N / 3 * 4);
    let mut out = [0_u8; N];
    // Invalid characters map to 0xFF; OR-ing every value lets one test catch them.
    let mut seen = 0_u32;
    for (quad, dst) in quads.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let (a, b, c, d) = (
            sextet(quad[0]),
            sextet(quad[1]),
            sextet(quad[2]),
            sextet(quad[3]),
        );
        seen |= a | b | c | d;
        let n = (a << 18) | (b << 12) | (c << 6) | d;
        dst.copy_from_slice(&n.to_be_bytes()[1..]);
    }
    let rest = &mut out[N / 3 * 3..];
    match *tail {
        [] => {}
        // "XY==": one byte; the low 4 bits of Y must be zero (canonical).
        [x, y, b'=', b'='] if rest.len() == 1 => {
            let (a, b) = (sextet(x), sextet(y));
            seen |= a | b | ((b & 0x0F) << 8);
            rest[0] = ((a << 2) | (b >> 4)).to_be_bytes()[3];
        }
        // "XYZ=": two bytes; the low 2 bits of Z must be zero (canonical).
        [x, y, z, b'='] if rest.len() == 2 => {
            let (a, b, c) = (sextet(x), sextet(y), sextet(z));
            seen |= a | b | c | ((c & 0x03) << 8);
            let n = (a << 18) | (b << 12) | (c << 6);
            rest.copy_from_slice(&n.to_be_bytes()[1..3]);
        }
        _ => return None,
    }
    (seen < 64).then_some(out)
}

/// Decode exactly 32 bytes of lowercase hex (64 chars), or `None`.
///
/// Only lowercase is accepted (every platform sends lowercase), so each
/// signature has exactly one spelling and any bit flip changes its meaning.
pub(crate) fn decode_hex32(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 || text.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    let mut out = [0_u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::decode_b64;

    /// Our fixed-size decoder agrees with the `base64` crate's canonical decoder.
    fn agrees<const N: usize>(text: &[u8]) {
        let ours = decode_b64::<N>(text);
        let theirs = STANDARD
            .decode(text)
            .ok()
            .filter(|v| v.len() == N && text.len() == N.div_ceil(3) * 4);
        assert_eq!(
            ours.map(|a| a.to_vec()),
            theirs,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }

    #[test]
    fn b64_matches_reference_on_valid_and_mutated_input() {
        let mut seed = 0x1234_5678_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..64).map(|_| next() as u8).collect();
            for (len, text) in [
                (32, STANDARD.encode(&bytes[..32])),
                (64, STANDARD.encode(&bytes)),
            ] {
                let mut variants = vec![text.clone().into_bytes()];
                for _ in 0..4 {
                    let mut m = text.clone().into_bytes();
                    let i = next() as usize % m.len();
                    m[i] ^= 1 << (next() % 8);
                    variants.push(m);
                }
                variants.push(text.trim_end_matches('=').as_bytes().to_vec());
                for v in variants {
                    if len == 32 {
                        agrees::<32>(&v);
                    } else {
                        agrees::<64>(&v);
                    }
                }
            }
        }
        for n in 0..70_usize {
            let text = STANDARD.encode(vec![0xAB_u8; n]);
            agrees::<1>(text.as_bytes());
            agrees::<2>(text.as_bytes());
            agrees::<32>(text.as_bytes());
        }
    }
}
