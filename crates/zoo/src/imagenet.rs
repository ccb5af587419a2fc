//! The 1000 ImageNet-1k class names, in class-index order, built into the binary.
//!
//! Source: torchvision 0.29's `models/_meta.py` (BSD-3-Clause), written out by
//! `tools/make_imagenet_classes.py`.

use std::sync::OnceLock;

const CLASSES_TXT: &str = include_str!("../data/imagenet_classes.txt");

/// The class names; index i is the label of output i of an ImageNet classifier.
pub fn imagenet_classes() -> &'static [&'static str] {
    static CLASSES: OnceLock<Vec<&'static str>> = OnceLock::new();
    CLASSES.get_or_init(|| CLASSES_TXT.lines().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_1000_names_in_torchvision_order() {
        let c = imagenet_classes();
        assert_eq!(c.len(), 1000);
        assert_eq!(c[0], "tench");
        assert_eq!(c[285], "Egyptian cat");
        assert_eq!(c[967], "espresso");
        assert_eq!(c[999], "toilet tissue");
    }
}
