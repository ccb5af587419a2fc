//! Temporary directories and IDX/gzip byte builders shared by this crate's tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::write::GzEncoder;
use flate2::Compression;

/// A fresh directory under the system temp dir, removed with its contents on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> Self {
        // Tests run in parallel threads and possibly several processes: pid plus a counter
        // keeps names unique.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "krust-data-test-{}-{unique}-{label}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// An unsigned-byte IDX file with the given dims and data (which need not match the dims).
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let rank = u8::try_from(dims.len()).expect("rank fits in a byte");
    let mut bytes = vec![0, 0, 0x08, rank];
    for dim in dims {
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

pub fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// A version-1.0 `.npy` file with a hand-written header, so tests can produce any dtype,
/// byte order or memory order numpy can (`data` need not match the shape).
pub fn npy_bytes(descr: &str, fortran_order: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let order = if fortran_order { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    // numpy pads the header with spaces and a newline so the data starts 64-byte aligned.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Little-endian bytes of f32 values, as in a `<f4` array.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A `.npz` archive holding `name.npy` for each `(name, npy bytes)`; deflated like
/// `numpy.savez_compressed`, or stored like `numpy.savez`.
pub fn npz_bytes(arrays: &[(&str, Vec<u8>)], deflated: bool) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let method = if deflated {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, npy) in arrays {
        writer
            .start_file(
                format!("{name}.npy"),
                SimpleFileOptions::default().compression_method(method),
            )
            .expect("start zip entry");
        writer.write_all(npy).expect("write zip entry");
    }
    writer.finish().expect("finish zip").into_inner()
}
