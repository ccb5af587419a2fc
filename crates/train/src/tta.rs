//! Class probabilities for a whole dataset, optionally averaged over test-time augmentations
//! (horizontal flips, or torchvision's ten crops).

use std::fmt;

use krust_data::augment::{center_crop, horizontal_flip, ten_crop, Image};
use krust_data::{Dataset, Samples};
use krust_nn::Module;
use krust_tensor::Tensor;

use crate::fit::predict;
use crate::{Result, TrainError};

/// Which views of each test image the predictions are averaged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestTimeAugmentation {
    /// The image as it is.
    #[default]
    None,
    /// The image and its mirror image.
    Flip,
    /// Centre crop of `height`×`width` (for models trained on random crops of that size).
    CenterCrop { height: usize, width: usize },
    /// Four corner crops and the centre crop of `height`×`width`, and the same of the mirror
    /// image (torchvision's `TenCrop`).
    TenCrop { height: usize, width: usize },
}

impl TestTimeAugmentation {
    /// Parses "none", "flip", "center-crop:HxW" or "ten-crop:HxW".
    pub fn parse(text: &str) -> Result<Self> {
        let size = |spec: &str| -> Option<(usize, usize)> {
            let (h, w) = spec.split_once('x')?;
            Some((h.parse().ok()?, w.parse().ok()?))
        };
        let bad = || {
            TrainError::Argument {
            argument: "test-time augmentation",
            why: format!(
                "{text:?} is not one of none, flip, center-crop:HxW, ten-crop:HxW (e.g. ten-crop:24x24)"
            ),
        }
        };
        Ok(match text.split_once(':') {
            None if text == "none" => Self::None,
            None if text == "flip" => Self::Flip,
            Some(("ten-crop", spec)) => {
                let (height, width) = size(spec).ok_or_else(bad)?;
                Self::TenCrop { height, width }
            }
            Some(("center-crop", spec)) => {
                let (height, width) = size(spec).ok_or_else(bad)?;
                Self::CenterCrop { height, width }
            }
            _ => return Err(bad()),
        })
    }

    /// The sample shape the model sees, given the stored one.
    pub fn view_shape(&self, stored: &[usize]) -> Vec<usize> {
        match (*self, stored) {
            (Self::CenterCrop { height, width } | Self::TenCrop { height, width }, [_, _, c]) => {
                vec![height, width, *c]
            }
            _ => stored.to_vec(),
        }
    }
}

impl fmt::Display for TestTimeAugmentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => write!(f, "none"),
            Self::Flip => write!(f, "flip"),
            Self::CenterCrop { height, width } => write!(f, "center-crop:{height}x{width}"),
            Self::TenCrop { height, width } => write!(f, "ten-crop:{height}x{width}"),
        }
    }
}

/// Rows that already look like probabilities (in [0, 1], summing to 1) stay as they are;
/// others (logits) go through a softmax, so views can be averaged as probabilities.
fn as_probabilities(output: Tensor) -> Result<Vec<f32>> {
    let classes = output.shape().last().copied().unwrap_or(1);
    let values = output.to_vec();
    let are_probabilities = classes > 1
        && values.chunks(classes).all(|row| {
            row.iter().all(|p| (0.0..=1.0).contains(p))
                && (row.iter().sum::<f32>() - 1.0).abs() < 1e-3
        });
    if are_probabilities || classes == 1 {
        Ok(values)
    } else {
        Ok(output.softmax(-1)?.to_vec())
    }
}

/// One view of every image of `data` (such as the centre crop a model trained on random
/// crops evaluates on), as a float dataset with the same targets.
pub fn map_images(data: &Dataset, view: impl Fn(&Image) -> Result<Image>) -> Result<Dataset> {
    let (h, w, c) = data.image_dims().ok_or_else(|| TrainError::Argument {
        argument: "test-time augmentation",
        why: format!("needs images, not samples shaped {:?}", data.sample_shape()),
    })?;
    let mut image = Image {
        height: h,
        width: w,
        channels: c,
        pixels: vec![0.0; data.sample_size()],
    };
    let mut out = Vec::new();
    let mut shape = vec![h, w, c];
    for index in 0..data.len() {
        data.write_sample(index, &mut image.pixels);
        let viewed = view(&image)?;
        shape = vec![viewed.height, viewed.width, viewed.channels];
        out.extend_from_slice(&viewed.pixels);
    }
    Ok(Dataset::new(
        "test-time views",
        Samples::Floats(out),
        shape,
        data.targets().clone(),
        data.class_names().to_vec(),
    )?)
}

/// The model's class probabilities for every sample of `data` (rows of `classes`), averaged
/// over the views `tta` names.
pub fn predict_probabilities(
    model: &dyn Module,
    data: &Dataset,
    batch_size: usize,
    tta: TestTimeAugmentation,
) -> Result<Vec<f32>> {
    let average = |runs: Vec<Vec<f32>>| -> Vec<f32> {
        let n = runs.len() as f32;
        let mut sum = vec![0.0; runs[0].len()];
        for run in &runs {
            for (s, v) in sum.iter_mut().zip(run) {
                *s += v / n;
            }
        }
        sum
    };
    let run =
        |d: &Dataset| -> Result<Vec<f32>> { as_probabilities(predict(model, d, batch_size)?) };
    match tta {
        TestTimeAugmentation::None => run(data),
        TestTimeAugmentation::Flip => {
            let flipped = map_images(data, |image| Ok(horizontal_flip(image)))?;
            Ok(average(vec![run(data)?, run(&flipped)?]))
        }
        TestTimeAugmentation::CenterCrop { height, width } => run(&map_images(data, |image| {
            Ok(center_crop(image, height, width)?)
        })?),
        TestTimeAugmentation::TenCrop { height, width } => {
            let mut runs = Vec::with_capacity(10);
            for k in 0..10 {
                let crops = map_images(data, |image| {
                    let mut all = ten_crop(image, height, width)?;
                    Ok(std::mem::replace(
                        &mut all[k],
                        Image {
                            height: 0,
                            width: 0,
                            channels: 0,
                            pixels: Vec::new(),
                        },
                    ))
                })?;
                runs.push(run(&crops)?);
            }
            Ok(average(runs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_rejects_unknown_names() {
        for text in ["none", "flip", "ten-crop:24x24", "center-crop:28x20"] {
            assert_eq!(
                TestTimeAugmentation::parse(text)
                    .expect("valid")
                    .to_string(),
                text
            );
        }
        let error = TestTimeAugmentation::parse("ten-crop").expect_err("no size");
        assert!(error.to_string().contains("ten-crop:HxW"), "{error}");
    }

    #[test]
    fn logits_become_probabilities_and_probabilities_stay() {
        let logits = Tensor::from_vec(vec![1, 3], vec![0.0, 0.0, 2.0f32.ln()]).expect("shape");
        let p = as_probabilities(logits).expect("softmax");
        assert!((p[2] - 0.5).abs() < 1e-6 && (p[0] - 0.25).abs() < 1e-6);
        let probs = Tensor::from_vec(vec![1, 2], vec![0.3, 0.7]).expect("shape");
        assert_eq!(as_probabilities(probs).expect("kept"), vec![0.3, 0.7]);
    }
}
