//! BLAKE2b (RFC 7693) with a 64-byte digest and no key: the hash the Python SDK names its
//! operations with (`hashlib.blake2b(text).hexdigest()`). No crate of the dependency tree has
//! it, and ids are a few dozen bytes once per operation, so the plain reference algorithm is
//! all that is needed.

const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

const BLOCK: usize = 128;
const DIGEST: usize = 64;

/// The 64-byte BLAKE2b digest of `data`.
pub(crate) fn digest(data: &[u8]) -> [u8; DIGEST] {
    // Parameter block: digest length 64, no key, fanout 1, depth 1.
    let mut h = IV;
    h[0] ^= 0x0101_0000 ^ DIGEST as u64;
    let mut offset = 0usize;
    // Every block but the last is compressed as it comes; the last one (possibly empty, or
    // a full block) is compressed with the final flag.
    while data.len() - offset > BLOCK {
        compress(
            &mut h,
            &data[offset..offset + BLOCK],
            (offset + BLOCK) as u128,
            false,
        );
        offset += BLOCK;
    }
    let mut last = [0u8; BLOCK];
    last[..data.len() - offset].copy_from_slice(&data[offset..]);
    compress(&mut h, &last, data.len() as u128, true);
    let mut out = [0u8; DIGEST];
    for (chunk, word) in out.chunks_exact_mut(8).zip(h) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// The digest as lowercase hex (`hexdigest()`).
pub(crate) fn hex_digest(data: &[u8]) -> String {
    digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn compress(h: &mut [u64; 8], block: &[u8], bytes_so_far: u128, last: bool) {
    let mut m = [0u64; 16];
    for (word, chunk) in m.iter_mut().zip(block.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= bytes_so_far as u64;
    v[13] ^= (bytes_so_far >> 64) as u64;
    if last {
        v[14] = !v[14];
    }
    for s in &SIGMA {
        mix(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

fn mix(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

#[cfg(test)]
mod tests {
    use super::hex_digest;

    /// Digests computed with Python's `hashlib.blake2b(text.encode()).hexdigest()`.
    #[test]
    fn digests_match_pythons_hashlib() {
        let cases = [
            ("", "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"),
            ("1", "1ced8f5be2db23a6513eba4d819c73806424748a7bc6fa0d792cc1c7d1775a9778e894aa91413f6eb79ad5ae2f871eafcc78797e4c82af6d1cbfb1a294a10d10"),
            ("abc", "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"),
        ];
        for (text, expected) in cases {
            assert_eq!(hex_digest(text.as_bytes()), expected, "{text:?}");
        }
        // Two blocks (200 bytes), exactly one full block (128) and exactly two (256).
        assert_eq!(
            hex_digest(&[b'x'; 200]),
            "949668855c1886ab93efa9b12a4a9907dc8ecf4196b764e1e12f89d54070976ca7fdb16a8286e05f37b76e5d1e6ae417b892034093a13e79afd45db041c4c609"
        );
        assert_eq!(
            hex_digest(&[b'y'; 128]),
            "71a796ac8d94e4f83af8d4698529be647007fef7effd29fdbd6f121c952611452aab9034e15ade1e9931923e857bac166e9f90979354684d11e956fc2248a294"
        );
        assert_eq!(
            hex_digest(&[b'z'; 256]),
            "4f0932d7459894b9139cdffead759c24048c4a9a0c70a9eb6a8aa5f5460215eb609375cdd6b604163abfd284063167c356ad76079def165bb22710c58210a3a7"
        );
    }
}
