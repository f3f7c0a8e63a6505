//! The Dropbox `content_hash`: SHA-256 over the concatenated SHA-256 digests of
//! 4 MiB blocks, as lower-case hex. Streaming, so downloads can be verified on the fly without
//! buffering a file (ARCHITECTURE.md, "engines").

use sha2::{Digest, Sha256};

/// Dropbox hashes content in blocks of exactly 4 MiB; only the last block may be shorter.
const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// Length of a finished hash: 32 digest bytes as two hex digits each.
pub const CONTENT_HASH_HEX_LEN: usize = 64;

/// Streaming Dropbox content hasher: feed bytes in any chunking with [`update`](Self::update),
/// then [`finalize`](Self::finalize) to get the 64-character lower-case hex hash.
#[derive(Clone, Debug, Default)]
pub struct ContentHasher {
    inner: BlockHasher<BLOCK_SIZE>,
}

impl ContentHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    pub fn finalize(self) -> String {
        self.inner.finalize()
    }
}

/// The content hash of a whole in-memory buffer.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut hasher = ContentHasher::new();
    hasher.update(bytes);
    hasher.finalize()
}

/// The algorithm with the block size as a parameter, so property tests can cross many block
/// boundaries with small inputs; production code only ever uses `BLOCK_SIZE`.
#[derive(Clone, Debug, Default)]
struct BlockHasher<const BLOCK: usize> {
    overall: Sha256,
    block: Sha256,
    block_len: usize,
}

impl<const BLOCK: usize> BlockHasher<BLOCK> {
    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = data.len().min(BLOCK - self.block_len);
            self.block.update(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            // Flush eagerly (as rclone's dbhash does): a full block is final, and an input of
            // exactly N blocks must not grow an empty trailing block.
            if self.block_len == BLOCK {
                self.flush_block();
            }
        }
    }

    fn flush_block(&mut self) {
        let digest = self.block.finalize_reset();
        self.overall.update(digest.as_slice());
        self.block_len = 0;
    }

    fn finalize(mut self) -> String {
        if self.block_len > 0 {
            self.flush_block();
        }
        // Empty input means zero blocks, i.e. SHA-256 of the empty string.
        lower_hex(self.overall.finalize().as_slice())
    }
}

/// sha2 0.11 digests do not implement `LowerHex`, and a hex crate is not worth a dependency.
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

impl crate::pipelined_hash::StreamHasher for ContentHasher {
    fn feed(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition (4 MiB blocks, the last one shorter, none for empty input) written as
    /// plainly as possible, to check the streaming code against.
    fn reference_hash(data: &[u8], block: usize) -> String {
        let mut concatenated = Vec::new();
        for chunk in data.chunks(block) {
            concatenated.extend_from_slice(Sha256::digest(chunk).as_slice());
        }
        lower_hex(Sha256::digest(&concatenated).as_slice())
    }

    fn hash_in_chunks(data: &[u8], chunk_size: usize) -> String {
        let mut hasher = ContentHasher::new();
        for chunk in data.chunks(chunk_size) {
            hasher.update(chunk);
        }
        hasher.finalize()
    }

    /// Bytes that differ from block to block, so a mixed-up block order changes the hash.
    fn patterned(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    const MIB: usize = 1024 * 1024;

    #[test]
    fn matches_every_reference_vector_of_repeated_a() {
        // Known answers from rclone's dbhash_test.go, re-checked with Python.
        let vectors = [
            (
                0,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                1,
                "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42",
            ),
            (
                2,
                "01e0655fb754d10418a73760f57515f4903b298e6d67dda6bf0987fa79c22c88",
            ),
            (
                4096,
                "8620913d33852befe09f16fff8fd75f77a83160d29f76f07e0276e9690903035",
            ),
            (
                4_194_303,
                "647c8627d70f7a7d13ce96b1e7710a771a55d41a62c3da490d92e56044d311fa",
            ),
            (
                4_194_304,
                "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3",
            ),
            (
                4_194_305,
                "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92",
            ),
            (
                8_388_607,
                "83b30cf4fb5195b04a937727ae379cf3d06673bf8f77947f6a92858536e8369c",
            ),
            (
                8_388_608,
                "e08b3ba1f538804075c5f939accdeaa9efc7b5c01865c94a41e78ca6550a88e7",
            ),
            (
                8_388_609,
                "02c8a4aefc2bfc9036f89a7098001865885938ca580e5c9e5db672385edd303c",
            ),
        ];
        let longest = vec![b'A'; vectors.last().map_or(0, |&(len, _)| len)];
        for (len, expected) in vectors {
            assert_eq!(
                content_hash(&longest[..len]),
                expected,
                "{len} bytes of 'A'"
            );
        }
    }

    #[test]
    fn empty_input_is_sha256_of_nothing() {
        assert_eq!(
            ContentHasher::new().finalize(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hashes_abc() {
        assert_eq!(
            content_hash(b"abc"),
            "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"
        );
    }

    #[test]
    fn output_is_64_lowercase_hex_digits() {
        let hash = content_hash(b"smartimage");
        assert_eq!(hash.len(), CONTENT_HASH_HEX_LEN);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn exactly_one_block_has_no_trailing_empty_block() {
        let data = patterned(BLOCK_SIZE);
        let one_block = lower_hex(Sha256::digest(Sha256::digest(&data)).as_slice());
        assert_eq!(content_hash(&data), one_block);
    }

    #[test]
    fn one_shot_and_chunked_agree_just_past_block_boundaries() {
        for len in [4 * MIB + 7, 8 * MIB + 7] {
            let data = patterned(len);
            let expected = reference_hash(&data, BLOCK_SIZE);
            assert_eq!(content_hash(&data), expected, "one-shot, {len} bytes");
            assert_eq!(
                hash_in_chunks(&data, 4096),
                expected,
                "4 KiB chunks, {len} bytes"
            );
        }
    }

    #[test]
    fn chunk_size_never_changes_the_hash() {
        let data = patterned(8 * MIB + 7);
        let expected = content_hash(&data);
        for chunk_size in [7, 4095, 65536, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1] {
            assert_eq!(
                hash_in_chunks(&data, chunk_size),
                expected,
                "chunks of {chunk_size}"
            );
        }
    }

    #[test]
    fn single_byte_updates_across_a_block_boundary() {
        // Byte-at-a-time over the whole 8 MiB is slow in debug builds; the boundary is what matters,
        // so feed the first block in one go and the bytes around the seam one by one.
        let data = patterned(BLOCK_SIZE + 4096);
        let seam = BLOCK_SIZE - 4096;
        let mut hasher = ContentHasher::new();
        hasher.update(&data[..seam]);
        for byte in &data[seam..] {
            hasher.update(std::slice::from_ref(byte));
        }
        assert_eq!(hasher.finalize(), content_hash(&data));
    }

    #[test]
    fn small_inputs_byte_by_byte_match_one_shot() {
        let data = patterned(10_000);
        assert_eq!(hash_in_chunks(&data, 1), content_hash(&data));
    }

    const SMALL_BLOCK: usize = 64;

    proptest! {
        #[test]
        fn random_chunk_boundaries_match_the_definition(
            data in proptest::collection::vec(any::<u8>(), 0..(SMALL_BLOCK * 6)),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let mut cut_points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            cut_points.sort_unstable();
            let mut hasher = BlockHasher::<SMALL_BLOCK>::default();
            let mut start = 0;
            for cut in cut_points.into_iter().chain([data.len()]) {
                hasher.update(&data[start..cut]);
                start = cut;
            }
            prop_assert_eq!(hasher.finalize(), reference_hash(&data, SMALL_BLOCK));
        }
    }
}
