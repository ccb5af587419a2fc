//! The input pipeline a pretrained network was trained with: resize the short side, crop the
//! centre, scale to [0, 1] and normalize per channel, giving one channels-last float batch.

use crate::ZooError;
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use krust_tensor::Tensor;
use std::path::Path;

/// torchvision's ImageNet statistics (of RGB pixels in [0, 1]).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// How a photo becomes a model input: `resize` is the short side after resizing, `crop` the
/// centre crop (height, width), then `(pixel / 255 - mean) / std` per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocessing {
    pub resize: u32,
    pub crop: (u32, u32),
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocessing {
    /// torchvision's evaluation transform for ImageNet classifiers: `Resize(256)` (bilinear,
    /// antialiased as PIL does), `CenterCrop(224)`, `ToTensor`, `Normalize(mean, std)`.
    pub const TORCHVISION: Preprocessing = Preprocessing {
        resize: 256,
        crop: (224, 224),
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
    };

    /// EfficientNet-Lite's: the same resize and crop, but the statistics its TensorFlow
    /// training used, mean 127 and standard deviation 128 on 0..255 pixels (the Lite builder's
    /// MEAN_RGB/STDDEV_RGB), i.e. 127/255 and 128/255 on [0, 1].
    pub const EFFICIENTNET_LITE: Preprocessing = Preprocessing {
        resize: 256,
        crop: (224, 224),
        mean: [127.0 / 255.0; 3],
        std: [128.0 / 255.0; 3],
    };

    /// Reads a JPEG or PNG photo (format from its content) and preprocesses it into a
    /// (1, crop height, crop width, 3) batch.
    pub fn load(&self, path: &Path) -> Result<Tensor, ZooError> {
        let image = decode_photo(path)?;
        self.apply(&image)
            .map_err(|why| ZooError::file(path, format!("cannot preprocess: {why}")))
    }

    /// Resizes and crops `image` as torchvision does, then normalizes.
    pub fn apply(&self, image: &RgbImage) -> Result<Tensor, String> {
        let cropped = self.resize_and_crop(image)?;
        let (w, h) = cropped.dimensions();
        let data: Vec<f32> = cropped
            .pixels()
            .flat_map(|p| {
                (0..3).map(move |c| (f32::from(p.0[c]) / 255.0 - self.mean[c]) / self.std[c])
            })
            .collect();
        Tensor::from_vec([1, h as usize, w as usize, 3], data).map_err(|e| e.to_string())
    }

    /// The resized, centre-cropped 8-bit image (what `apply` normalizes).
    pub fn resize_and_crop(&self, image: &RgbImage) -> Result<RgbImage, String> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Err("the image is empty".into());
        }
        if self.resize == 0 || self.crop.0 == 0 || self.crop.1 == 0 {
            return Err("resize and crop sizes must be positive".into());
        }
        // torchvision's Resize(int): the short side becomes `resize`, the long side
        // int(resize * long / short), truncated.
        let (new_w, new_h) = if w <= h {
            let long = (u64::from(self.resize) * u64::from(h) / u64::from(w)) as u32;
            (self.resize, long)
        } else {
            let long = (u64::from(self.resize) * u64::from(w) / u64::from(h)) as u32;
            (long, self.resize)
        };
        let resized = if (new_w, new_h) == (w, h) {
            image.clone()
        } else {
            // Triangle is bilinear; like PIL, the image crate widens the filter by the scale
            // factor when shrinking, so downscaling is antialiased as torchvision's PIL path is.
            DynamicImage::ImageRgb8(image.clone())
                .resize_exact(new_w, new_h, FilterType::Triangle)
                .into_rgb8()
        };
        let (crop_h, crop_w) = self.crop;
        if crop_h > new_h || crop_w > new_w {
            return Err(format!(
                "the crop {crop_h}x{crop_w} is larger than the resized image {new_h}x{new_w}"
            ));
        }
        let top = round_half_even(f64::from(new_h - crop_h) / 2.0);
        let left = round_half_even(f64::from(new_w - crop_w) / 2.0);
        Ok(image::imageops::crop_imm(&resized, left, top, crop_w, crop_h).to_image())
    }
}

/// Python's round(): halves go to the even neighbour (torchvision's CenterCrop offsets).
fn round_half_even(x: f64) -> u32 {
    let r = x.round();
    let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    r as u32
}

/// Decodes a JPEG or PNG photo into RGB, naming the file when it cannot.
pub fn decode_photo(path: &Path) -> Result<RgbImage, ZooError> {
    let bytes =
        std::fs::read(path).map_err(|e| ZooError::file(path, format!("cannot read: {e}")))?;
    let image = image::load_from_memory(&bytes).map_err(|e| {
        ZooError::file(
            path,
            format!("cannot decode the image (JPEG or PNG expected): {e}"),
        )
    })?;
    Ok(image.into_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_crop_offsets_round_halves_to_even_as_python_does() {
        assert_eq!(round_half_even(0.5), 0);
        assert_eq!(round_half_even(1.5), 2);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.0), 3);
        assert_eq!(round_half_even(16.0), 16);
    }

    #[test]
    fn short_side_becomes_256_and_the_long_side_is_truncated() {
        let image = RgbImage::new(451, 300);
        let p = Preprocessing {
            crop: (256, 256),
            ..Preprocessing::TORCHVISION
        };
        // 256 * 451 / 300 = 384.85 -> 384; the crop then takes the middle 256 columns.
        let out = p.resize_and_crop(&image).unwrap();
        assert_eq!(out.dimensions(), (256, 256));
        let t = Preprocessing::TORCHVISION.apply(&image).unwrap();
        assert_eq!(t.shape(), &[1, 224, 224, 3]);
    }

    #[test]
    fn a_uniform_grey_image_normalizes_to_the_expected_constant() {
        let image = RgbImage::from_pixel(300, 300, image::Rgb([127, 127, 127]));
        let t = Preprocessing::EFFICIENTNET_LITE.apply(&image).unwrap();
        assert!(t.to_vec().iter().all(|v| v.abs() < 1e-6));
    }

    #[test]
    fn a_crop_larger_than_the_image_is_an_error() {
        let p = Preprocessing {
            resize: 100,
            crop: (224, 224),
            ..Preprocessing::TORCHVISION
        };
        assert!(p.resize_and_crop(&RgbImage::new(50, 40)).is_err());
    }
}
