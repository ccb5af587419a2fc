//! Argument checks shared by every metric, so each error is worded the same way everywhere.

use crate::MetricsError;

/// Errors unless `left` and `right` have the same length.
pub(crate) fn same_length(
    left: &'static str,
    left_len: usize,
    right: &'static str,
    right_len: usize,
) -> Result<(), MetricsError> {
    if left_len == right_len {
        Ok(())
    } else {
        Err(MetricsError::LengthMismatch {
            left,
            left_len,
            right,
            right_len,
        })
    }
}

/// Errors when `len` is zero.
pub(crate) fn not_empty(what: &'static str, len: usize) -> Result<(), MetricsError> {
    if len == 0 {
        Err(MetricsError::Empty { what })
    } else {
        Ok(())
    }
}

/// Errors when `num_classes` is zero.
pub(crate) fn positive_num_classes(num_classes: usize) -> Result<(), MetricsError> {
    if num_classes == 0 {
        Err(MetricsError::InvalidArgument {
            name: "num_classes",
            value: 0,
            reason: "at least one class is needed",
        })
    } else {
        Ok(())
    }
}

/// Checks that `values` is a non-empty row-major `rows × num_classes` matrix; returns `rows`.
pub(crate) fn row_count(
    what: &'static str,
    values: &[f32],
    num_classes: usize,
) -> Result<usize, MetricsError> {
    positive_num_classes(num_classes)?;
    not_empty(what, values.len())?;
    if !values.len().is_multiple_of(num_classes) {
        return Err(MetricsError::NotRowMajor {
            what,
            len: values.len(),
            num_classes,
        });
    }
    Ok(values.len() / num_classes)
}

/// Errors on the first label that is not below `num_classes`.
pub(crate) fn labels_in_range(
    what: &'static str,
    labels: &[u32],
    num_classes: usize,
) -> Result<(), MetricsError> {
    match labels
        .iter()
        .enumerate()
        .find(|(_, &label)| label as usize >= num_classes)
    {
        Some((index, &label)) => Err(MetricsError::LabelOutOfRange {
            what,
            index,
            label,
            num_classes,
        }),
        None => Ok(()),
    }
}

/// Errors on the first NaN or infinite value.
pub(crate) fn all_finite(what: &'static str, values: &[f32]) -> Result<(), MetricsError> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(MetricsError::NotFinite { what, index, value }),
        None => Ok(()),
    }
}
