//! Reader for the IDX format of MNIST-style datasets (gzipped or raw; unsigned-byte data only).
//!
//! An IDX file is two zero bytes, a type code, the rank, one big-endian `u32` per dimension,
//! then the data in row-major order. The upstream datasets ship gzipped, so the reader
//! detects gzip by its magic bytes rather than by file extension.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::DataError;

/// The first two bytes of every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// IDX type code for unsigned bytes, the only element type the image datasets use.
const UNSIGNED_BYTE: u8 = 0x08;
/// Highest rank accepted; image datasets use 3 (count, height, width) or 4 (with channels).
const MAX_RANK: usize = 4;
/// Largest data section accepted (2 GiB): a header with absurd dims is rejected before
/// anything is allocated for it.
pub const MAX_DATA_BYTES: usize = 1 << 31;
/// Initial buffer for decompressed data: the real size is only known once the stream ends,
/// so a lying header must not make us reserve gigabytes up front.
const GZIP_INITIAL_CAPACITY: usize = 64 << 20;

/// An n-dimensional array of unsigned bytes read from an IDX file, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Whether the bytes come straight from the file or through gzip; decides how read errors
/// are reported and what we know about the size in advance.
#[derive(Clone, Copy)]
enum Encoding {
    Raw { file_len: u64 },
    Gzip,
}

/// Reads an unsigned-byte IDX file, gzipped (detected by the magic bytes `1f 8b`) or raw.
///
/// Never panics on malformed input: a short header, wrong magic, unsupported type code or
/// rank, dims larger than [`MAX_DATA_BYTES`], truncated or trailing data and corrupt gzip
/// streams all come back as a [`DataError`] naming `path`.
pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut magic = [0u8; 2];
    let magic_len = read_up_to(&mut file, &mut magic).map_err(io_error)?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;

    if magic_len == GZIP_MAGIC.len() && magic == GZIP_MAGIC {
        let decoder = MultiGzDecoder::new(BufReader::new(file));
        read_idx_stream(path, decoder, Encoding::Gzip)
    } else {
        read_idx_stream(path, BufReader::new(file), Encoding::Raw { file_len })
    }
}

fn read_idx_stream<R: Read>(
    path: &Path,
    mut reader: R,
    encoding: Encoding,
) -> Result<IdxArray, DataError> {
    let stream_error = |source| match encoding {
        Encoding::Gzip => DataError::CorruptGzip {
            path: path.to_path_buf(),
            source,
        },
        Encoding::Raw { .. } => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
    };

    let mut magic = [0u8; 4];
    let found = read_up_to(&mut reader, &mut magic).map_err(stream_error)?;
    if found < magic.len() {
        return Err(DataError::ShortHeader {
            path: path.to_path_buf(),
            needed: magic.len(),
            found,
        });
    }
    let [zero0, zero1, type_code, rank] = magic;
    if zero0 != 0 || zero1 != 0 {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            first: zero0,
            second: zero1,
        });
    }
    if type_code != UNSIGNED_BYTE {
        return Err(DataError::UnsupportedTypeCode {
            path: path.to_path_buf(),
            code: type_code,
        });
    }
    let rank_usize = usize::from(rank);
    if rank_usize == 0 || rank_usize > MAX_RANK {
        return Err(DataError::UnsupportedRank {
            path: path.to_path_buf(),
            rank,
        });
    }

    let header_len = magic.len() + 4 * rank_usize;
    let mut dim_bytes = [0u8; 4 * MAX_RANK];
    let dim_bytes = &mut dim_bytes[..4 * rank_usize];
    let found = read_up_to(&mut reader, dim_bytes).map_err(stream_error)?;
    if found < dim_bytes.len() {
        return Err(DataError::ShortHeader {
            path: path.to_path_buf(),
            needed: header_len,
            found: magic.len() + found,
        });
    }
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|be| u32::from_be_bytes([be[0], be[1], be[2], be[3]]) as usize)
        .collect();

    let expected = dims
        .iter()
        .try_fold(1usize, |bytes, &dim| bytes.checked_mul(dim))
        .filter(|&bytes| bytes <= MAX_DATA_BYTES);
    let Some(expected) = expected else {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            dims,
            limit: MAX_DATA_BYTES,
        });
    };

    let capacity = match encoding {
        Encoding::Raw { file_len } => {
            // The file size is known: report a size mismatch without reading or allocating.
            let data_len = file_len.saturating_sub(header_len as u64);
            if data_len < expected as u64 {
                return Err(DataError::Truncated {
                    path: path.to_path_buf(),
                    dims,
                    expected,
                    // data_len < expected <= MAX_DATA_BYTES, so it fits in usize.
                    found: data_len as usize,
                });
            }
            if data_len > expected as u64 {
                return Err(DataError::TrailingBytes {
                    path: path.to_path_buf(),
                    dims,
                    expected,
                    found: data_len,
                });
            }
            expected
        }
        Encoding::Gzip => expected.min(GZIP_INITIAL_CAPACITY),
    };

    let mut data = Vec::with_capacity(capacity);
    reader
        .by_ref()
        .take(expected as u64)
        .read_to_end(&mut data)
        .map_err(stream_error)?;
    if data.len() < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dims,
            expected,
            found: data.len(),
        });
    }
    // Reading to the end also makes the gzip decoder verify the stream's CRC and length.
    let extra = io::copy(&mut reader, &mut io::sink()).map_err(stream_error)?;
    if extra > 0 {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            dims,
            expected,
            found: expected as u64 + extra,
        });
    }
    Ok(IdxArray { dims, data })
}

/// Fills as much of `buf` as the reader has, returning how many bytes were read; unlike
/// `read_exact`, a short read is not an error, so callers can say how short it was.
fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{gzip_bytes, idx_bytes, TempDir};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn sample_idx() -> Vec<u8> {
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 10) as u8).collect();
        idx_bytes(&[2, 3, 4], &data)
    }

    #[test]
    fn gzipped_and_raw_copies_give_identical_arrays() {
        let dir = TempDir::new("idx-gzip-raw");
        let raw = dir.write("sample-idx3-ubyte", &sample_idx());
        // A misleading extension: detection goes by magic bytes, not by name.
        let gzipped = dir.write("sample-idx3-ubyte.raw", &gzip_bytes(&sample_idx()));
        let from_raw = read_idx(&raw).expect("raw IDX reads");
        let from_gzip = read_idx(&gzipped).expect("gzipped IDX reads");
        assert_eq!(from_raw, from_gzip);
        assert_eq!(from_raw.dims, vec![2, 3, 4]);
        assert_eq!(from_raw.data.len(), 24);
        assert_eq!(from_raw.data[5], 50);
    }

    #[test]
    fn rank_one_file_reads() {
        let dir = TempDir::new("idx-rank1");
        let path = dir.write("labels", &idx_bytes(&[3], &[7, 8, 9]));
        let array = read_idx(&path).expect("rank-1 IDX reads");
        assert_eq!(array.dims, vec![3]);
        assert_eq!(array.data, vec![7, 8, 9]);
    }

    #[test]
    fn truncated_data_errors_saying_truncated_and_the_path() {
        let dir = TempDir::new("idx-truncated");
        let mut bytes = sample_idx();
        bytes.truncate(bytes.len() - 5);
        for (name, contents) in [
            ("short-raw", bytes.clone()),
            ("short-gz", gzip_bytes(&bytes)),
        ] {
            let path = dir.write(name, &contents);
            let error = read_idx(&path).expect_err("truncated data must fail");
            let message = error.to_string();
            assert!(
                matches!(
                    error,
                    DataError::Truncated {
                        expected: 24,
                        found: 19,
                        ..
                    }
                ),
                "{message}"
            );
            assert!(message.contains("truncated"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(
                message.contains("24") && message.contains("19"),
                "{message}"
            );
        }
    }

    #[test]
    fn trailing_bytes_error_with_expected_and_found_sizes() {
        let dir = TempDir::new("idx-trailing");
        let mut bytes = sample_idx();
        bytes.extend_from_slice(&[1, 2, 3]);
        for (name, contents) in [("long-raw", bytes.clone()), ("long-gz", gzip_bytes(&bytes))] {
            let path = dir.write(name, &contents);
            let error = read_idx(&path).expect_err("trailing data must fail");
            let message = error.to_string();
            assert!(
                matches!(
                    error,
                    DataError::TrailingBytes {
                        expected: 24,
                        found: 27,
                        ..
                    }
                ),
                "{message}"
            );
            assert!(message.contains("trailing bytes"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }

    #[test]
    fn bad_magic_errors() {
        let dir = TempDir::new("idx-magic");
        let mut bytes = sample_idx();
        bytes[1] = 0x42;
        let path = dir.write("bad-magic", &bytes);
        let error = read_idx(&path).expect_err("bad magic must fail");
        assert!(
            matches!(error, DataError::BadMagic { second: 0x42, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("not an IDX file"), "{error}");
        assert!(error.to_string().contains("bad-magic"), "{error}");
    }

    #[test]
    fn unsupported_type_code_errors_naming_the_code() {
        let dir = TempDir::new("idx-type");
        let mut bytes = sample_idx();
        bytes[2] = 0x0d; // float32
        let path = dir.write("floats", &bytes);
        let error = read_idx(&path).expect_err("float IDX is unsupported");
        assert!(
            matches!(error, DataError::UnsupportedTypeCode { code: 0x0d, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("0x0d"), "{error}");
    }

    #[test]
    fn rank_zero_and_rank_five_error() {
        let dir = TempDir::new("idx-rank");
        for rank in [0u8, 5] {
            let mut bytes = vec![0, 0, UNSIGNED_BYTE, rank];
            bytes.resize(bytes.len() + 4 * usize::from(rank), 0);
            let path = dir.write(&format!("rank{rank}"), &bytes);
            let error = read_idx(&path).expect_err("rank out of range must fail");
            assert!(
                matches!(error, DataError::UnsupportedRank { rank: r, .. } if r == rank),
                "{error}"
            );
        }
    }

    #[test]
    fn file_shorter_than_header_errors() {
        let dir = TempDir::new("idx-short-header");
        let cases: [&[u8]; 4] = [&[], &[0, 0], &[0, 0, 8, 3, 0, 0, 0, 2], &[0x1f]];
        for (i, bytes) in cases.into_iter().enumerate() {
            let path = dir.write(&format!("short{i}"), bytes);
            let error = read_idx(&path).expect_err("short header must fail");
            assert!(matches!(error, DataError::ShortHeader { .. }), "{error}");
            assert!(
                error.to_string().contains("shorter than its IDX header"),
                "{error}"
            );
        }
    }

    #[test]
    fn truncated_gzip_stream_errors_as_corrupt_gzip() {
        let dir = TempDir::new("idx-gzip-cut");
        let data: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let gzipped = gzip_bytes(&idx_bytes(&[10, 20, 20], &data));
        // Cut inside the deflate data, and cut only the 8-byte CRC/size trailer.
        for cut in [gzipped.len() / 2, gzipped.len() - 4] {
            let path = dir.write(&format!("cut{cut}.gz"), &gzipped[..cut]);
            let error = read_idx(&path).expect_err("cut gzip must fail");
            assert!(matches!(error, DataError::CorruptGzip { .. }), "{error}");
            assert!(error.to_string().contains("corrupt gzip stream"), "{error}");
            assert!(
                error.to_string().contains(&path.display().to_string()),
                "{error}"
            );
        }
    }

    #[test]
    fn gzip_with_wrong_crc_errors_as_corrupt_gzip() {
        let dir = TempDir::new("idx-gzip-crc");
        let mut gzipped = gzip_bytes(&sample_idx());
        let crc_at = gzipped.len() - 8;
        gzipped[crc_at] ^= 0xff;
        let path = dir.write("bad-crc.gz", &gzipped);
        let error = read_idx(&path).expect_err("bad CRC must fail");
        assert!(matches!(error, DataError::CorruptGzip { .. }), "{error}");
    }

    #[test]
    fn dims_over_two_gibibytes_or_overflowing_error_before_allocating() {
        let dir = TempDir::new("idx-huge");
        let cases: [&[u32]; 3] = [
            &[50_000, 50_000],
            &[u32::MAX, u32::MAX, u32::MAX, u32::MAX],
            &[65_536, 32_769],
        ];
        for (i, dims) in cases.into_iter().enumerate() {
            let bytes = idx_bytes(dims, &[1, 2, 3]);
            for (kind, contents) in [("raw", bytes.clone()), ("gz", gzip_bytes(&bytes))] {
                let path = dir.write(&format!("huge{i}-{kind}"), &contents);
                let error = read_idx(&path).expect_err("absurd dims must fail");
                assert!(matches!(error, DataError::TooLarge { .. }), "{error}");
            }
        }
    }

    #[test]
    fn missing_file_errors_naming_the_path() {
        let dir = TempDir::new("idx-missing");
        let path = dir.path().join("nothing-here-idx1-ubyte");
        let error = read_idx(&path).expect_err("missing file must fail");
        assert!(matches!(error, DataError::Io { .. }), "{error}");
        assert!(
            error.to_string().contains("nothing-here-idx1-ubyte"),
            "{error}"
        );
    }

    #[test]
    fn random_bytes_of_many_lengths_never_panic() {
        let dir = TempDir::new("idx-fuzz");
        let mut rng = ChaCha8Rng::seed_from_u64(2026);
        let mut outcomes = [0usize; 2];
        for case in 0..400 {
            let len = rng.gen_range(0..200);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            match case % 4 {
                // Pure garbage.
                0 => {}
                // A valid header, random dims (often huge), then garbage of random length.
                1 | 2 => {
                    let rank = rng.gen_range(0..=5u8);
                    let mut header = vec![0, 0, UNSIGNED_BYTE, rank];
                    for _ in 0..rank {
                        let dim: u32 = if rng.gen_bool(0.5) {
                            rng.gen_range(0..6)
                        } else {
                            rng.gen()
                        };
                        header.extend_from_slice(&dim.to_be_bytes());
                    }
                    header.extend_from_slice(&bytes);
                    bytes = header;
                    if case % 4 == 2 {
                        bytes = gzip_bytes(&bytes);
                    }
                }
                // Gzip magic followed by garbage, or a real gzip stream with a flipped byte.
                _ => {
                    if rng.gen_bool(0.5) {
                        bytes.splice(0..0, GZIP_MAGIC);
                    } else {
                        bytes = gzip_bytes(&sample_idx());
                        let at = rng.gen_range(0..bytes.len());
                        bytes[at] ^= rng.gen_range(1..=255u8);
                    }
                }
            }
            let path = dir.write(&format!("case{case}"), &bytes);
            let outcome = read_idx(&path);
            if let Ok(array) = &outcome {
                let product: usize = array.dims.iter().product();
                assert_eq!(array.data.len(), product, "case {case}");
            }
            outcomes[usize::from(outcome.is_ok())] += 1;
        }
        // Most random inputs are invalid; a few with tiny dims are valid by chance.
        assert!(outcomes[0] > 300, "outcomes {outcomes:?}");
    }
}
