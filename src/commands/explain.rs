//! `krust classify --explain DIR`: a Grad-CAM heat map of each photo's predicted class,
//! blended over the photo as the model saw it (resized and cropped), written as
//! `DIR/<photo stem>.gradcam.png`.

use krust::nn::AnyModel;
use krust::zoo::gradcam::{grad_cam, last_feature_map_layer};
use krust::zoo::preprocess::{decode_photo, Preprocessing};
use std::path::{Path, PathBuf};

/// Writes one heat map per `(photo, predicted class)` into `dir` (created if missing) and
/// returns the written paths.
pub fn explain_photos(
    model: &AnyModel,
    preprocessing: &Preprocessing,
    predictions: &[(PathBuf, usize)],
    dir: &Path,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let layer = last_feature_map_layer(model).ok_or(
        "--explain: the model has no convolutional feature map (a layer with a height × width output) to explain with",
    )?;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("--explain {}: cannot create the folder: {e}", dir.display()))?;
    let mut written = Vec::with_capacity(predictions.len());
    for (photo, class) in predictions {
        let image = decode_photo(photo)?;
        let cropped = preprocessing
            .resize_and_crop(&image)
            .map_err(|why| format!("{}: cannot preprocess: {why}", photo.display()))?;
        let input = preprocessing
            .apply(&image)
            .map_err(|why| format!("{}: cannot preprocess: {why}", photo.display()))?;
        let heat = grad_cam(model, &input, *class, &layer)?;
        let stem = photo
            .file_stem()
            .map_or_else(|| "photo".into(), |s| s.to_string_lossy());
        let path = dir.join(format!("{stem}.gradcam.png"));
        let (width, height) = cropped.dimensions();
        krust::plot::heat_overlay(
            &path,
            cropped.as_raw(),
            (width as usize, height as usize),
            &heat.to_vec(),
        )?;
        written.push(path);
    }
    Ok(written)
}
