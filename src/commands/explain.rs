//! `krust classify --explain DIR`: a Grad-CAM heat map of each photo's predicted class,
//! blended over the photo as the model saw it (resized and cropped), written as
//! `DIR/<photo stem>.gradcam.png`.

use super::model_inputs::image_batch;
use krust::nn::saving::InputSpec;
use krust::nn::AnyModel;
use krust::tensor::Tensor;
use krust::zoo::gradcam::{grad_cam, last_feature_map_layer};
use krust::zoo::preprocess::{decode_photo, Preprocessing};
use std::path::{Path, PathBuf};

/// A photo as the model takes it, and as the heat map is drawn over it: the input, RGB bytes
/// and their `(width, height)`.
type Prepared = (Tensor, Vec<u8>, (usize, usize));

/// How a photo becomes the model's input, and the picture its heat map is drawn over.
pub enum Preparation<'a> {
    /// A pretrained zoo model's resize, centre crop and normalization; the map is drawn over
    /// the cropped photo.
    Zoo(&'a Preprocessing),
    /// A krust model file's recorded image size and colour mode; the map is drawn over the
    /// photo at that size, as the model saw it.
    File {
        inputs: Option<&'a InputSpec>,
        model_path: &'a Path,
    },
}

impl Preparation<'_> {
    /// The model's `(1, h, w, c)` input for `photo`, and the RGB bytes of the picture of it
    /// with their `(width, height)`.
    fn prepare(&self, photo: &Path) -> Result<Prepared, Box<dyn std::error::Error>> {
        match self {
            Preparation::Zoo(preprocessing) => {
                let image = decode_photo(photo)?;
                let cannot = |why| format!("{}: cannot preprocess: {why}", photo.display());
                let shown = preprocessing.resize_and_crop(&image).map_err(cannot)?;
                let input = preprocessing.apply(&image).map_err(cannot)?;
                let (width, height) = shown.dimensions();
                Ok((input, shown.into_raw(), (width as usize, height as usize)))
            }
            Preparation::File { inputs, model_path } => {
                let input = image_batch(*inputs, model_path, &[photo.to_path_buf()])?;
                let &[_, h, w, c] = input.shape() else {
                    return Err(format!("{}: not an image batch", photo.display()).into());
                };
                // Grey inputs are shown grey; values are the photo's bytes / 255.
                let values = input.to_vec();
                let pixels: Vec<u8> = values
                    .chunks(c)
                    .flat_map(|p| {
                        let byte = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
                        match p {
                            [g] => [byte(*g); 3],
                            _ => [byte(p[0]), byte(p[1]), byte(p[2])],
                        }
                    })
                    .collect();
                Ok((input, pixels, (w, h)))
            }
        }
    }
}

/// Writes one heat map per `(photo, predicted class)` into `dir` (created if missing) and
/// returns the written paths.
pub fn explain_photos(
    model: &AnyModel,
    preparation: &Preparation,
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
        let (input, shown, size) = preparation.prepare(photo)?;
        let heat = grad_cam(model, &input, *class, &layer)?;
        let stem = photo
            .file_stem()
            .map_or_else(|| "photo".into(), |s| s.to_string_lossy());
        let path = dir.join(format!("{stem}.gradcam.png"));
        krust::plot::heat_overlay(&path, &shown, size, &heat.to_vec())?;
        written.push(path);
    }
    Ok(written)
}
