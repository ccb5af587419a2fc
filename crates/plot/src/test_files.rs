//! Where tests write their PNGs, and the checks every written PNG must pass.
//!
//! Set `KRUST_PLOT_PREVIEW_DIR` to keep the images in a directory of your choice for
//! looking at them; otherwise they go to a per-process directory under the system temp dir.

use std::path::{Path, PathBuf};

/// A fresh directory for one test's output.
pub(crate) fn output_dir(test_name: &str) -> PathBuf {
    let base = match std::env::var_os("KRUST_PLOT_PREVIEW_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("krust-plot-tests-{}", std::process::id())),
    };
    let dir = base.join(test_name);
    std::fs::create_dir_all(&dir).expect("test output directory can be created");
    dir
}

/// Decodes the PNG at `path`, checks its size, and checks that it is not blank: at least 1%
/// of its pixels differ from white and it uses more than two colours.
pub(crate) fn assert_png(path: &Path, width: u32, height: u32) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{} is not a readable PNG: {e}", path.display()))
        .to_rgb8();
    assert_eq!(
        image.dimensions(),
        (width, height),
        "size of {}",
        path.display()
    );
    let inked = image.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(
        inked * 100 >= (width * height) as usize,
        "{} is nearly blank ({inked} non-white pixels)",
        path.display()
    );
    let mut colors: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colors.sort_unstable();
    colors.dedup();
    assert!(
        colors.len() > 2,
        "{} has only {} colours",
        path.display(),
        colors.len()
    );
}

/// The directory holds no leftover temporary files.
pub(crate) fn assert_no_temporary_files(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("test output directory is readable")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Fashion-MNIST's class names: long, with a slash and a space, so they test label layout.
pub(crate) const FASHION_MNIST_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
