//! The one error type of krust-metrics: every variant names the argument at fault.

/// Everything that can go wrong computing a metric from user-supplied slices.
///
/// Display is one line naming the argument (as the caller spelled it in the signature) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error("{left} has {left_len} entries but {right} has {right_len}")]
    LengthMismatch {
        left: &'static str,
        left_len: usize,
        right: &'static str,
        right_len: usize,
    },

    #[error("{what} is empty: a metric over zero samples is undefined")]
    Empty { what: &'static str },

    #[error("{what} has {len} entries, not a multiple of num_classes = {num_classes}")]
    NotRowMajor {
        what: &'static str,
        len: usize,
        num_classes: usize,
    },

    #[error("{what}[{index}] = {label} is not below num_classes = {num_classes}")]
    LabelOutOfRange {
        what: &'static str,
        index: usize,
        label: u32,
        num_classes: usize,
    },

    #[error("class {class} is not below num_classes = {num_classes}")]
    ClassOutOfRange { class: u32, num_classes: usize },

    #[error("{what}[{index}] is {value}, but a finite number is required")]
    NotFinite {
        what: &'static str,
        index: usize,
        value: f32,
    },

    #[error("ROC AUC is undefined when only one class is present ({positives} positives, {negatives} negatives)")]
    SingleClass { positives: usize, negatives: usize },

    #[error("invalid argument {name} = {value}: {reason}")]
    InvalidArgument {
        name: &'static str,
        value: usize,
        reason: &'static str,
    },
}
