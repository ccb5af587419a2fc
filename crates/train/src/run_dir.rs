//! Where a training run writes its files.

use std::path::{Path, PathBuf};

/// The first `<root>/<stem>-<n>` (n = 1, 2, ...) that does not exist yet, where `stem` is the
/// model's name or its file's stem, so no earlier run is overwritten.
pub fn next_run_dir(root: &Path, model: &str) -> PathBuf {
    let stem = Path::new(model)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "model".into());
    (1..)
        .map(|n| root.join(format!("{stem}-{n}")))
        .find(|dir| !dir.exists())
        .expect("some run number is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_numbered_from_one_and_never_reuse_a_directory() {
        let root = std::env::temp_dir().join(format!("krust-run-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(next_run_dir(&root, "lenet5"), root.join("lenet5-1"));
        std::fs::create_dir_all(root.join("lenet5-1")).unwrap();
        std::fs::create_dir_all(root.join("lenet5-2")).unwrap();
        assert_eq!(next_run_dir(&root, "lenet5"), root.join("lenet5-3"));
        // A model file is named by its stem.
        assert_eq!(
            next_run_dir(&root, "some/where/best.krust"),
            root.join("best-1")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
