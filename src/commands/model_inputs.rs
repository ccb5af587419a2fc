//! Inputs prepared as a model file's stored description says (see
//! `krust::nn::saving::InputSpec`), and a classifier's outputs read as named class
//! probabilities, for `krust predict` and `krust classify`.

use krust::data::image_folder::load_image_file;
use krust::nn::architecture::ends_in_softmax;
use krust::nn::saving::InputSpec;
use krust::nn::AnyModel;
use krust::tensor::Tensor;
use krust::zoo::pretrained::probabilities;
use std::path::{Path, PathBuf};

type BoxError = Box<dyn std::error::Error>;

/// Whether `path` names a JPEG or PNG file (by its extension).
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

/// The photos decoded at the stored image size and colour mode and scaled by 1/255, as in
/// training: one `(photos, height, width, channels)` batch.
pub fn image_batch(
    inputs: Option<&InputSpec>,
    model_path: &Path,
    photos: &[PathBuf],
) -> Result<Tensor, BoxError> {
    let (height, width, channels) = inputs.and_then(InputSpec::image_dims).ok_or_else(|| {
        format!(
            "{}: the model file records no image size and colour mode (saved by an older krust, or not trained on images), so krust cannot prepare photos for it; give a .npy batch to `krust predict` instead",
            model_path.display()
        )
    })?;
    let mut values = Vec::with_capacity(photos.len() * height * width * channels);
    for photo in photos {
        let bytes = load_image_file(photo, height, width, channels)?;
        values.extend(bytes.iter().map(|&b| f32::from(b) / 255.0));
    }
    Ok(Tensor::from_vec(
        vec![photos.len(), height, width, channels],
        values,
    )?)
}

/// The class probabilities of each row of a classifier's `(n, classes)` output: the output
/// itself when the model ends in a softmax, the softmax of its logits otherwise (as
/// `krust train` decides `from_logits`).
pub fn class_probabilities(model: &AnyModel, output: &Tensor) -> Vec<Vec<f32>> {
    if ends_in_softmax(model) {
        let classes = output.shape().last().copied().unwrap_or(1).max(1);
        output
            .to_vec()
            .chunks(classes)
            .map(<[f32]>::to_vec)
            .collect()
    } else {
        probabilities(output)
    }
}

/// The stored class names when they name every output of `output`, a classifier's
/// `(n, classes)` batch.
pub fn class_names<'a>(inputs: Option<&'a InputSpec>, output: &Tensor) -> Option<&'a [String]> {
    let names = &inputs?.class_names;
    let shape = output.shape();
    (shape.len() == 2 && shape[1] == names.len() && names.len() > 1).then_some(&names[..])
}
