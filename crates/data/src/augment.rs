//! Seeded, composable image augmentation for training, and the crops of test-time augmentation.
//!
//! Images are `f32` channels-last (HWC) row-major, nominally in `[0, 1]` (bytes / 255).
//! Augmentation runs once per sample inside the loader thread, so every op works on one
//! image at a time, draws its randomness from a caller-supplied [`ChaCha8Rng`] (see
//! [`sample_rng`]) and writes into buffers kept in a [`Scratch`], so that a warmed-up
//! [`Pipeline::apply`] does not allocate.
//!
//! ```
//! use krust_data::augment::{sample_rng, Image, Pipeline, Scratch};
//!
//! let pipeline = Pipeline::parse("flip,crop:4,brightness:0.1")?;
//! let mut scratch = Scratch::default(); // one per loader thread
//! let mut image = Image::from_bytes(32, 32, 3, &[128u8; 32 * 32 * 3])?;
//! let mut rng = sample_rng(42, 0, 7); // seed, epoch, sample position
//! pipeline.apply(&mut image, &mut rng, &mut scratch)?;
//! assert_eq!(image.shape(), (32, 32, 3));
//! # Ok::<(), krust_data::DataError>(())
//! ```

use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::DataError;

/// The item syntax [`Pipeline::parse`] accepts, quoted in its errors.
pub(crate) const SPEC_SYNTAX: &str = "flip or hflip, vflip, crop:PADDING, \
resized-crop:MIN-MAX:HEIGHTxWIDTH, rotate:DEGREES, translate:FRACTION, brightness:DELTA, \
contrast:FACTOR, noise:STDDEV";

/// One image, channels-last (HWC) and row-major: the value of channel `k` at row `y`,
/// column `x` is `pixels[(y * width + x) * channels + k]`.
///
/// The fields are public for cheap hand-off to and from batch buffers; functions that take
/// an `&Image` check that `pixels.len() == height * width * channels` and return
/// [`DataError::ImageSizeMismatch`] otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub pixels: Vec<f32>,
}

impl Image {
    /// An image of the given shape over `pixels`, checking that their count matches.
    pub fn new(
        height: usize,
        width: usize,
        channels: usize,
        pixels: Vec<f32>,
    ) -> Result<Image, DataError> {
        let image = Image {
            height,
            width,
            channels,
            pixels,
        };
        image.check_size()?;
        Ok(image)
    }

    /// An image of bytes scaled to `[0, 1]` (byte / 255), as the batch buffers hold them.
    pub fn from_bytes(
        height: usize,
        width: usize,
        channels: usize,
        bytes: &[u8],
    ) -> Result<Image, DataError> {
        let mut image = Image {
            height: 0,
            width: 0,
            channels: 0,
            pixels: Vec::new(),
        };
        image.assign_bytes(height, width, channels, bytes)?;
        Ok(image)
    }

    /// Overwrites this image with `bytes` / 255 and the given shape, reusing the pixel
    /// buffer so that a loader thread can recycle one `Image` for every sample.
    pub fn assign_bytes(
        &mut self,
        height: usize,
        width: usize,
        channels: usize,
        bytes: &[u8],
    ) -> Result<(), DataError> {
        let expected = value_count(height, width, channels);
        if Some(bytes.len()) != expected {
            return Err(DataError::ImageSizeMismatch {
                height,
                width,
                channels,
                expected: expected.unwrap_or(usize::MAX),
                found: bytes.len(),
            });
        }
        self.height = height;
        self.width = width;
        self.channels = channels;
        self.pixels.clear();
        self.pixels
            .extend(bytes.iter().map(|&byte| f32::from(byte) / 255.0));
        Ok(())
    }

    /// `(height, width, channels)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.height, self.width, self.channels)
    }

    fn check_size(&self) -> Result<(), DataError> {
        let expected = value_count(self.height, self.width, self.channels);
        if Some(self.pixels.len()) == expected {
            Ok(())
        } else {
            Err(DataError::ImageSizeMismatch {
                height: self.height,
                width: self.width,
                channels: self.channels,
                expected: expected.unwrap_or(usize::MAX),
                found: self.pixels.len(),
            })
        }
    }

    fn check_not_empty(&self) -> Result<(), DataError> {
        if self.height == 0 || self.width == 0 || self.channels == 0 {
            return Err(DataError::EmptyImage {
                height: self.height,
                width: self.width,
                channels: self.channels,
            });
        }
        Ok(())
    }

    /// Values per row.
    fn row_len(&self) -> usize {
        self.width * self.channels
    }
}

fn value_count(height: usize, width: usize, channels: usize) -> Option<usize> {
    height.checked_mul(width)?.checked_mul(channels)
}

/// Reusable buffers for [`Pipeline::apply`]: keep one per loader thread.
///
/// Geometric ops write their output into `pixels` and then swap it with the image's
/// buffer, so after the first few samples of stable shape both buffers have the capacity
/// they need and augmenting allocates nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    pixels: Vec<f32>,
    channel_means: Vec<f64>,
    resize_columns: Vec<BilinearTap>,
}

/// One random image transformation. Parameters are validated by [`Pipeline::new`] (and
/// [`Pipeline::parse`]); each variant documents its range and the Keras layer it follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Augmentation {
    /// Adds one delta drawn uniformly from `[-max_delta, max_delta]` to every value, then
    /// clips to `[0, 1]`: Keras `RandomBrightness(factor=max_delta, value_range=(0, 1))`.
    /// `max_delta` lies in `[0, 1]`; 0 leaves the image unchanged. Spec: `brightness:0.2`.
    Brightness { max_delta: f32 },
    /// Per channel, maps `x` to `(x - mean) * c + mean`, where `mean` is that channel's
    /// mean over the image and one `c` is drawn uniformly from `[1 - factor, 1 + factor]`
    /// for the whole image, then clips to `[0, 1]`: Keras `RandomContrast(factor,
    /// value_range=(0, 1))`. `factor` lies in `[0, 1]`. Spec: `contrast:0.2`.
    Contrast { factor: f32 },
    /// Mirrors left–right with probability 0.5: Keras `RandomFlip("horizontal")`.
    /// Spec: `flip` or `hflip`.
    FlipHorizontal,
    /// Mirrors top–bottom with probability 0.5: Keras `RandomFlip("vertical")`. Spec: `vflip`.
    FlipVertical,
    /// Pads every side with `padding` zeros and crops a window of the original size at an
    /// offset drawn uniformly from `0..=2 * padding` along each axis (the classic CIFAR
    /// "random crop 32 with padding 4"). `padding = 0` leaves the image unchanged.
    /// Spec: `crop:4`.
    CropWithPadding { padding: usize },
    /// Scale jitter: resizes (bilinear, half-pixel centres, no antialiasing — like Keras
    /// `Resizing`'s default) so the short side is `L`, drawn uniformly from
    /// `min_side..=max_side`, keeping the aspect ratio (the long side is rounded), then
    /// crops a `height x width` window at a uniformly drawn offset. Only the cropped window
    /// is computed. The output is `height x width` whatever the input size; requires
    /// `0 < max(height, width) <= min_side <= max_side`. The evaluation counterpart is
    /// [`resize_short_side_center_crop`]. Spec: `resized-crop:32-40:32x32`.
    RandomResizedCrop {
        min_side: usize,
        max_side: usize,
        height: usize,
        width: usize,
    },
    /// Rotates about the image centre by an angle drawn uniformly from
    /// `[-max_degrees, max_degrees]` (positive is counter-clockwise, as in Keras), sampling
    /// bilinearly and filling outside the source with constant 0: Keras
    /// `RandomRotation(max_degrees / 360, fill_mode="constant", fill_value=0)` — note Keras's
    /// own default is `fill_mode="reflect"`. `max_degrees` lies in `[0, 180]`.
    /// Spec: `rotate:15`.
    Rotation { max_degrees: f32 },
    /// Shifts by whole pixels: `dy` uniform in `-floor(f·h)..=floor(f·h)` and `dx` uniform
    /// in `-floor(f·w)..=floor(f·w)`, positive moving content down and right, zero filled:
    /// Keras `RandomTranslation(f, f, fill_mode="constant")` rounded to whole pixels so no
    /// interpolation blurs the image. `max_fraction` lies in `[0, 1]`. Spec: `translate:0.1`.
    Translation { max_fraction: f32 },
    /// Adds independent `N(0, stddev²)` noise to every value without clipping, like Keras
    /// `GaussianNoise(stddev)` in training. `stddev` is finite and `>= 0`. Spec: `noise:0.05`.
    GaussianNoise { stddev: f32 },
}

impl Augmentation {
    /// The `(height, width, channels)` this op produces from an input of shape `input`:
    /// the input itself for every op but [`Augmentation::RandomResizedCrop`].
    pub fn output_shape(&self, input: (usize, usize, usize)) -> (usize, usize, usize) {
        match *self {
            Augmentation::RandomResizedCrop { height, width, .. } => (height, width, input.2),
            _ => input,
        }
    }

    /// Why the parameters are out of range, if they are.
    fn check_parameters(&self) -> Result<(), &'static str> {
        let unit_interval = |value: f32| (0.0..=1.0).contains(&value);
        match *self {
            Augmentation::Brightness { max_delta } if !unit_interval(max_delta) => {
                Err("max_delta must lie in [0, 1]")
            }
            Augmentation::Contrast { factor } if !unit_interval(factor) => {
                Err("factor must lie in [0, 1]")
            }
            // The crop offset is drawn as an isize in -padding..=padding.
            Augmentation::CropWithPadding { padding } if padding > (isize::MAX / 2) as usize => {
                Err("padding is too large")
            }
            Augmentation::RandomResizedCrop {
                min_side,
                max_side,
                height,
                width,
            } => {
                if height == 0 || width == 0 {
                    Err("crop height and width must be positive")
                } else if min_side < height.max(width) {
                    Err("min_side must be at least the crop's height and width, so the crop fits")
                } else if min_side > max_side {
                    Err("min_side must not exceed max_side")
                } else {
                    Ok(())
                }
            }
            Augmentation::Rotation { max_degrees } if !(0.0..=180.0).contains(&max_degrees) => {
                Err("max_degrees must lie in [0, 180]")
            }
            Augmentation::Translation { max_fraction } if !unit_interval(max_fraction) => {
                Err("max_fraction must lie in [0, 1]")
            }
            Augmentation::GaussianNoise { stddev } if !(stddev.is_finite() && stddev >= 0.0) => {
                Err("stddev must be finite and at least 0")
            }
            _ => Ok(()),
        }
    }

    /// Applies this op to a valid, non-empty image.
    fn apply(&self, image: &mut Image, rng: &mut ChaCha8Rng, scratch: &mut Scratch) {
        match *self {
            Augmentation::Brightness { max_delta } => {
                let delta = uniform_symmetric(rng, max_delta);
                for value in &mut image.pixels {
                    *value = (*value + delta).clamp(0.0, 1.0);
                }
            }
            Augmentation::Contrast { factor } => adjust_contrast(image, rng, factor, scratch),
            Augmentation::FlipHorizontal => {
                if rng.gen_bool(0.5) {
                    flip_horizontal_in_place(image);
                }
            }
            Augmentation::FlipVertical => {
                if rng.gen_bool(0.5) {
                    flip_vertical_in_place(image);
                }
            }
            Augmentation::CropWithPadding { padding } => {
                let (dy, dx) = draw_padded_crop_shift(rng, padding);
                shift_into(image, &mut scratch.pixels, dy, dx);
                std::mem::swap(&mut image.pixels, &mut scratch.pixels);
            }
            Augmentation::RandomResizedCrop {
                min_side,
                max_side,
                height,
                width,
            } => {
                let short_side = rng.gen_range(min_side..=max_side);
                let (resized_height, resized_width) = resized_to_short_side(image, short_side);
                let top = rng.gen_range(0..=resized_height.saturating_sub(height));
                let left = rng.gen_range(0..=resized_width.saturating_sub(width));
                let window = ResizedWindow {
                    resized_height,
                    resized_width,
                    top,
                    left,
                    height,
                    width,
                };
                resize_crop_into(image, &window, scratch);
                std::mem::swap(&mut image.pixels, &mut scratch.pixels);
                image.height = height;
                image.width = width;
            }
            Augmentation::Rotation { max_degrees } => {
                let degrees = uniform_symmetric(rng, max_degrees);
                rotate_into(image, &mut scratch.pixels, degrees);
                std::mem::swap(&mut image.pixels, &mut scratch.pixels);
            }
            Augmentation::Translation { max_fraction } => {
                let (dy, dx) = draw_translation(rng, image.height, image.width, max_fraction);
                // dst(y, x) = src(y - dy, x - dx): content moves by (+dy, +dx).
                shift_into(image, &mut scratch.pixels, -dy, -dx);
                std::mem::swap(&mut image.pixels, &mut scratch.pixels);
            }
            Augmentation::GaussianNoise { stddev } => {
                for value in &mut image.pixels {
                    let standard: f32 = rng.sample(StandardNormal);
                    *value += stddev * standard;
                }
            }
        }
    }
}

/// The [`Pipeline::parse`] syntax of this op; parsing it back gives the same op.
impl fmt::Display for Augmentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{}` on f32 prints the shortest text that parses back to the same value.
        match *self {
            Augmentation::Brightness { max_delta } => write!(f, "brightness:{max_delta}"),
            Augmentation::Contrast { factor } => write!(f, "contrast:{factor}"),
            Augmentation::FlipHorizontal => write!(f, "hflip"),
            Augmentation::FlipVertical => write!(f, "vflip"),
            Augmentation::CropWithPadding { padding } => write!(f, "crop:{padding}"),
            Augmentation::RandomResizedCrop {
                min_side,
                max_side,
                height,
                width,
            } => write!(f, "resized-crop:{min_side}-{max_side}:{height}x{width}"),
            Augmentation::Rotation { max_degrees } => write!(f, "rotate:{max_degrees}"),
            Augmentation::Translation { max_fraction } => write!(f, "translate:{max_fraction}"),
            Augmentation::GaussianNoise { stddev } => write!(f, "noise:{stddev}"),
        }
    }
}

/// A sequence of augmentations applied in order, with validated parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline {
    steps: Vec<Augmentation>,
}

impl Pipeline {
    /// A pipeline of `steps`, rejecting any whose parameters are out of the range its
    /// variant documents.
    pub fn new(steps: Vec<Augmentation>) -> Result<Pipeline, DataError> {
        for step in &steps {
            step.check_parameters()
                .map_err(|reason| DataError::InvalidAugmentation {
                    augmentation: step.to_string(),
                    reason,
                })?;
        }
        Ok(Pipeline { steps })
    }

    /// Parses the command-line form: comma-separated items, each one of `flip` (same as
    /// `hflip`), `hflip`, `vflip`, `crop:PADDING`, `resized-crop:MIN-MAX:HEIGHTxWIDTH` (or
    /// `resized-crop:SIDE:HEIGHTxWIDTH` for a fixed side), `rotate:DEGREES`,
    /// `translate:FRACTION`, `brightness:DELTA`, `contrast:FACTOR`, `noise:STDDEV`.
    /// Whitespace around items is ignored; an empty or blank string is the empty pipeline.
    pub fn parse(spec: &str) -> Result<Pipeline, DataError> {
        if spec.trim().is_empty() {
            return Ok(Pipeline::default());
        }
        let steps = spec
            .split(',')
            .map(|item| {
                let item = item.trim();
                let spec_error = |reason: String| DataError::AugmentationSpec {
                    item: item.to_string(),
                    reason,
                };
                let step = parse_item(item).map_err(spec_error)?;
                step.check_parameters()
                    .map_err(|reason| spec_error(reason.to_string()))?;
                Ok(step)
            })
            .collect::<Result<Vec<_>, DataError>>()?;
        Ok(Pipeline { steps })
    }

    /// The augmentations, in the order they run.
    pub fn steps(&self) -> &[Augmentation] {
        &self.steps
    }

    /// True when the pipeline leaves every image unchanged because it has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The `(height, width, channels)` that [`Pipeline::apply`] turns an `input`-shaped
    /// image into.
    pub fn output_shape(&self, input: (usize, usize, usize)) -> (usize, usize, usize) {
        self.steps
            .iter()
            .fold(input, |shape, step| step.output_shape(shape))
    }

    /// Applies every step in order to `image`, drawing from `rng` (make it with
    /// [`sample_rng`] so the result depends only on seed, epoch and sample position).
    ///
    /// `scratch` holds the buffers that geometric ops write into; keep one per thread and
    /// pass it on every call so that, once warm, this does not allocate. Errors if `image`'s
    /// pixel count does not match its shape, or (for a non-empty pipeline) it has no pixels.
    pub fn apply(
        &self,
        image: &mut Image,
        rng: &mut ChaCha8Rng,
        scratch: &mut Scratch,
    ) -> Result<(), DataError> {
        image.check_size()?;
        if self.steps.is_empty() {
            return Ok(());
        }
        image.check_not_empty()?;
        for step in &self.steps {
            step.apply(image, rng, scratch);
        }
        Ok(())
    }
}

/// The [`Pipeline::parse`] syntax, items joined by commas; parsing it back gives an equal
/// pipeline.
impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, step) in self.steps.iter().enumerate() {
            if position > 0 {
                f.write_str(",")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

/// One item of the spec, or why it is not one (its parameters are checked afterwards).
fn parse_item(item: &str) -> Result<Augmentation, String> {
    let (name, argument) = match item.split_once(':') {
        Some((name, argument)) => (name, Some(argument)),
        None => (item, None),
    };
    let needs_argument = |example: &str| {
        argument.ok_or_else(|| format!("`{name}` needs an argument, e.g. `{example}`"))
    };
    match name {
        "flip" | "hflip" | "vflip" => {
            if argument.is_some() {
                return Err(format!("`{name}` takes no argument"));
            }
            Ok(if name == "vflip" {
                Augmentation::FlipVertical
            } else {
                Augmentation::FlipHorizontal
            })
        }
        "crop" => Ok(Augmentation::CropWithPadding {
            padding: parse_whole_number(needs_argument("crop:4")?)?,
        }),
        "resized-crop" => {
            let argument = needs_argument("resized-crop:32-40:32x32")?;
            let (sides, crop) = argument
                .split_once(':')
                .ok_or_else(|| format!("`{argument}` is not MIN-MAX:HEIGHTxWIDTH"))?;
            let (min_side, max_side) = match sides.split_once('-') {
                Some((min, max)) => (parse_whole_number(min)?, parse_whole_number(max)?),
                None => {
                    let side = parse_whole_number(sides)?;
                    (side, side)
                }
            };
            let (height, width) = crop
                .split_once('x')
                .ok_or_else(|| format!("crop size `{crop}` is not HEIGHTxWIDTH"))?;
            Ok(Augmentation::RandomResizedCrop {
                min_side,
                max_side,
                height: parse_whole_number(height)?,
                width: parse_whole_number(width)?,
            })
        }
        "rotate" => Ok(Augmentation::Rotation {
            max_degrees: parse_real_number(needs_argument("rotate:15")?)?,
        }),
        "translate" => Ok(Augmentation::Translation {
            max_fraction: parse_real_number(needs_argument("translate:0.1")?)?,
        }),
        "brightness" => Ok(Augmentation::Brightness {
            max_delta: parse_real_number(needs_argument("brightness:0.2")?)?,
        }),
        "contrast" => Ok(Augmentation::Contrast {
            factor: parse_real_number(needs_argument("contrast:0.2")?)?,
        }),
        "noise" => Ok(Augmentation::GaussianNoise {
            stddev: parse_real_number(needs_argument("noise:0.05")?)?,
        }),
        "" => Err("empty item".to_string()),
        _ => Err(format!("unknown augmentation `{name}`")),
    }
}

fn parse_whole_number(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

fn parse_real_number(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("`{text}` is not a finite number")),
    }
}

/// An RNG for augmenting the sample at position `index` of epoch `epoch`, independent of
/// which thread does the work and of every other (epoch, index) pair.
///
/// The ChaCha key is the seed mixed with a constant of its own (so augmentation never
/// replays the shuffle or weight-initialization streams of the same seed) followed
/// by the epoch; the sample position selects the ChaCha stream.
pub fn sample_rng(seed: u64, epoch: usize, index: usize) -> ChaCha8Rng {
    const AUGMENT_DOMAIN: u64 = 0x4155_474d_454e_5431; // "AUGMENT1"
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&(seed ^ AUGMENT_DOMAIN).to_le_bytes());
    key[8..16].copy_from_slice(&(epoch as u64).to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index as u64);
    rng
}

/// A copy of `image` mirrored left–right.
///
/// Infallible by design: it mirrors every full run of `width * channels` values (a row)
/// and leaves a shorter trailing run as it is, so a mis-sized image cannot make it panic.
pub fn horizontal_flip(image: &Image) -> Image {
    let mut flipped = image.clone();
    flip_horizontal_in_place(&mut flipped);
    flipped
}

/// The `height x width` window at the centre of `image`; when the margin is odd the extra
/// pixel is left at the bottom/right, as Keras `CenterCrop` does (`(size - crop) // 2`).
pub fn center_crop(image: &Image, height: usize, width: usize) -> Result<Image, DataError> {
    check_crop_fits(image, height, width)?;
    Ok(crop(
        image,
        (image.height - height) / 2,
        (image.width - width) / 2,
        height,
        width,
    ))
}

/// The ten crops of test-time augmentation, in torchvision `TenCrop` order: top-left,
/// top-right, bottom-left, bottom-right and centre of `image`, then the same five crops
/// taken from the left–right mirrored image.
///
/// As in torchvision, entry 5 (top-left of the mirror) is the mirror of entry 1
/// (top-right), entry 6 mirrors entry 0, entry 7 mirrors 3, entry 8 mirrors 2, and entry 9
/// mirrors entry 4 when `image.width - width` is even.
pub fn ten_crop(image: &Image, height: usize, width: usize) -> Result<[Image; 10], DataError> {
    check_crop_fits(image, height, width)?;
    let mirrored = horizontal_flip(image);
    let five_crop = |source: &Image| {
        let bottom = source.height - height;
        let right = source.width - width;
        [
            crop(source, 0, 0, height, width),
            crop(source, 0, right, height, width),
            crop(source, bottom, 0, height, width),
            crop(source, bottom, right, height, width),
            crop(source, bottom / 2, right / 2, height, width),
        ]
    };
    let [a, b, c, d, e] = five_crop(image);
    let [f, g, h, i, j] = five_crop(&mirrored);
    Ok([a, b, c, d, e, f, g, h, i, j])
}

/// The deterministic evaluation counterpart of [`Augmentation::RandomResizedCrop`]:
/// resizes (bilinear, half-pixel centres) so the short side is `side`, keeping the aspect
/// ratio, and takes the centre `height x width` window (odd margins leave the extra pixel
/// bottom/right). Errors if the crop does not fit in the resized image.
pub fn resize_short_side_center_crop(
    image: &Image,
    side: usize,
    height: usize,
    width: usize,
) -> Result<Image, DataError> {
    image.check_size()?;
    image.check_not_empty()?;
    let (resized_height, resized_width) = resized_to_short_side(image, side);
    if height > resized_height || width > resized_width {
        return Err(DataError::CropTooLarge {
            crop_height: height,
            crop_width: width,
            height: resized_height,
            width: resized_width,
        });
    }
    let window = ResizedWindow {
        resized_height,
        resized_width,
        top: (resized_height - height) / 2,
        left: (resized_width - width) / 2,
        height,
        width,
    };
    let mut scratch = Scratch::default();
    resize_crop_into(image, &window, &mut scratch);
    Ok(Image {
        height,
        width,
        channels: image.channels,
        pixels: scratch.pixels,
    })
}

fn check_crop_fits(image: &Image, height: usize, width: usize) -> Result<(), DataError> {
    image.check_size()?;
    if height > image.height || width > image.width {
        return Err(DataError::CropTooLarge {
            crop_height: height,
            crop_width: width,
            height: image.height,
            width: image.width,
        });
    }
    Ok(())
}

/// The `height x width` window with top-left corner `(top, left)`, which must fit.
fn crop(image: &Image, top: usize, left: usize, height: usize, width: usize) -> Image {
    let channels = image.channels;
    let mut pixels = Vec::with_capacity(height * width * channels);
    for y in top..top + height {
        let start = (y * image.width + left) * channels;
        pixels.extend_from_slice(&image.pixels[start..start + width * channels]);
    }
    Image {
        height,
        width,
        channels,
        pixels,
    }
}

/// Uniform in `[-max, max]`; exactly 0 (without drawing) when `max` is 0.
fn uniform_symmetric(rng: &mut ChaCha8Rng, max: f32) -> f32 {
    if max > 0.0 {
        rng.gen_range(-max..=max)
    } else {
        0.0
    }
}

fn adjust_contrast(image: &mut Image, rng: &mut ChaCha8Rng, factor: f32, scratch: &mut Scratch) {
    let channels = image.channels;
    let means = &mut scratch.channel_means;
    means.clear();
    means.resize(channels, 0.0);
    // f64 sums: a 224x224 channel is 50k values, enough to lose digits in f32.
    for pixel in image.pixels.chunks_exact(channels) {
        for (sum, &value) in means.iter_mut().zip(pixel) {
            *sum += f64::from(value);
        }
    }
    let pixel_count = (image.height * image.width) as f64;
    for sum in means.iter_mut() {
        *sum /= pixel_count;
    }
    let contrast = if factor > 0.0 {
        rng.gen_range(1.0 - factor..=1.0 + factor)
    } else {
        1.0
    };
    for pixel in image.pixels.chunks_exact_mut(channels) {
        for (value, &mean) in pixel.iter_mut().zip(means.iter()) {
            let mean = mean as f32;
            *value = ((*value - mean) * contrast + mean).clamp(0.0, 1.0);
        }
    }
}

fn flip_horizontal_in_place(image: &mut Image) {
    let channels = image.channels;
    let row_len = image.row_len();
    if channels == 0 || row_len == 0 {
        return;
    }
    let width = image.width;
    for row in image.pixels.chunks_exact_mut(row_len) {
        for x in 0..width / 2 {
            let (left_part, right_part) = row.split_at_mut((width - 1 - x) * channels);
            left_part[x * channels..(x + 1) * channels]
                .swap_with_slice(&mut right_part[..channels]);
        }
    }
}

fn flip_vertical_in_place(image: &mut Image) {
    let row_len = image.row_len();
    let height = image.height;
    for y in 0..height / 2 {
        let (top_part, bottom_part) = image.pixels.split_at_mut((height - 1 - y) * row_len);
        top_part[y * row_len..(y + 1) * row_len].swap_with_slice(&mut bottom_part[..row_len]);
    }
}

/// The source offset `(dy, dx)` of a padded crop: the window starts at `0..=2 * padding`
/// in the padded image, i.e. at `-padding..=padding` in the original.
fn draw_padded_crop_shift(rng: &mut ChaCha8Rng, padding: usize) -> (isize, isize) {
    let padding = padding as isize;
    let dy = rng.gen_range(0..=2 * padding) - padding;
    let dx = rng.gen_range(0..=2 * padding) - padding;
    (dy, dx)
}

/// How far a translation moves the content, down and right.
fn draw_translation(
    rng: &mut ChaCha8Rng,
    height: usize,
    width: usize,
    max_fraction: f32,
) -> (isize, isize) {
    let max_dy = (max_fraction * height as f32).floor() as isize;
    let max_dx = (max_fraction * width as f32).floor() as isize;
    (
        rng.gen_range(-max_dy..=max_dy),
        rng.gen_range(-max_dx..=max_dx),
    )
}

/// Writes `output(y, x) = image(y + dy, x + dx)` into `output`, with 0 where that falls
/// outside the image: whole rows are copied at once.
fn shift_into(image: &Image, output: &mut Vec<f32>, dy: isize, dx: isize) {
    let (height, width, channels) = image.shape();
    output.clear();
    output.resize(image.pixels.len(), 0.0);
    let width_signed = width as isize;
    let first_x = (-dx).clamp(0, width_signed) as usize;
    let end_x = (width_signed - dx).clamp(0, width_signed) as usize;
    if first_x >= end_x {
        return;
    }
    let run = (end_x - first_x) * channels;
    let row_len = width * channels;
    for y in 0..height {
        let source_y = y as isize + dy;
        if source_y < 0 || source_y >= height as isize {
            continue;
        }
        let source_start =
            source_y as usize * row_len + (first_x as isize + dx) as usize * channels;
        let output_start = y * row_len + first_x * channels;
        output[output_start..output_start + run]
            .copy_from_slice(&image.pixels[source_start..source_start + run]);
    }
}

/// Writes `image` rotated counter-clockwise by `degrees` about its centre into `output`,
/// sampling bilinearly with constant 0 outside the source.
fn rotate_into(image: &Image, output: &mut Vec<f32>, degrees: f32) {
    let (height, width, channels) = image.shape();
    output.clear();
    output.resize(image.pixels.len(), 0.0);
    let (sin, cos) = degrees.to_radians().sin_cos();
    // Centre between the middle pixels, so 180° maps pixel centres onto pixel centres.
    let centre_y = (height as f32 - 1.0) / 2.0;
    let centre_x = (width as f32 - 1.0) / 2.0;
    // Inverse map: the output pixel at offset (dy, dx) from the centre reads the source at
    // the offset rotated clockwise, i.e. (dx sin + dy cos, dx cos - dy sin) in (y, x) with
    // y pointing down.
    for y in 0..height {
        let offset_y = y as f32 - centre_y;
        let row_source_y = centre_y + offset_y * cos;
        let row_source_x = centre_x - offset_y * sin;
        for x in 0..width {
            let offset_x = x as f32 - centre_x;
            let source_y = row_source_y + offset_x * sin;
            let source_x = row_source_x + offset_x * cos;
            let start = (y * width + x) * channels;
            sample_bilinear_zero_fill(
                image,
                source_y,
                source_x,
                &mut output[start..start + channels],
            );
        }
    }
}

/// Adds into `out` (zeroed, one value per channel) the bilinear sample of `image` at
/// `(source_y, source_x)`, neighbours outside the image counting as 0.
fn sample_bilinear_zero_fill(image: &Image, source_y: f32, source_x: f32, out: &mut [f32]) {
    let floor_y = source_y.floor();
    let floor_x = source_x.floor();
    let (height, width) = (image.height as isize, image.width as isize);
    let (y0, x0) = (floor_y as isize, floor_x as isize);
    if y0 < -1 || y0 >= height || x0 < -1 || x0 >= width {
        return;
    }
    let (fraction_y, fraction_x) = (source_y - floor_y, source_x - floor_x);
    let channels = image.channels;
    for (y, weight_y) in [(y0, 1.0 - fraction_y), (y0 + 1, fraction_y)] {
        if y < 0 || y >= height || weight_y == 0.0 {
            continue;
        }
        for (x, weight_x) in [(x0, 1.0 - fraction_x), (x0 + 1, fraction_x)] {
            let weight = weight_y * weight_x;
            if x < 0 || x >= width || weight == 0.0 {
                continue;
            }
            let start = (y as usize * image.width + x as usize) * channels;
            for (value, &source) in out.iter_mut().zip(&image.pixels[start..start + channels]) {
                *value += weight * source;
            }
        }
    }
}

/// The `(height, width)` of `image` resized so its short side is `side`, the long side
/// rounded to keep the aspect ratio (never below `side`).
fn resized_to_short_side(image: &Image, side: usize) -> (usize, usize) {
    let long_for = |long: usize, short: usize| {
        ((long as f64 * side as f64 / short as f64).round() as usize).max(side)
    };
    if image.height <= image.width {
        (side, long_for(image.width, image.height))
    } else {
        (long_for(image.height, image.width), side)
    }
}

/// Where to read one output coordinate from along one axis: two neighbours and the
/// weight of the second.
#[derive(Debug, Clone, Copy)]
struct BilinearTap {
    first: usize,
    second: usize,
    weight_second: f32,
}

/// Half-pixel-centre bilinear mapping (as `tf.image.resize` and PyTorch
/// `align_corners=False`) of coordinate `resized` along an axis resized from `source_len`
/// to `resized_len`, clamped at the borders.
fn bilinear_tap(resized: usize, resized_len: usize, source_len: usize) -> BilinearTap {
    let scale = source_len as f32 / resized_len as f32;
    let source = ((resized as f32 + 0.5) * scale - 0.5).clamp(0.0, (source_len - 1) as f32);
    let first = source.floor() as usize;
    BilinearTap {
        first,
        second: (first + 1).min(source_len - 1),
        weight_second: source - first as f32,
    }
}

/// A crop window of an image resized to `resized_height x resized_width`.
struct ResizedWindow {
    resized_height: usize,
    resized_width: usize,
    top: usize,
    left: usize,
    height: usize,
    width: usize,
}

/// Writes the `window` of the bilinearly resized `image` into `scratch.pixels`, computing
/// only the window's pixels.
fn resize_crop_into(image: &Image, window: &ResizedWindow, scratch: &mut Scratch) {
    let channels = image.channels;
    let columns = &mut scratch.resize_columns;
    columns.clear();
    columns.extend(
        (window.left..window.left + window.width)
            .map(|x| bilinear_tap(x, window.resized_width, image.width)),
    );
    let output = &mut scratch.pixels;
    output.clear();
    output.resize(window.height * window.width * channels, 0.0);
    let row_len = image.row_len();
    for (y, output_row) in output.chunks_exact_mut(window.width * channels).enumerate() {
        let row_tap = bilinear_tap(window.top + y, window.resized_height, image.height);
        let upper = &image.pixels[row_tap.first * row_len..(row_tap.first + 1) * row_len];
        let lower = &image.pixels[row_tap.second * row_len..(row_tap.second + 1) * row_len];
        for (column, output_pixel) in columns.iter().zip(output_row.chunks_exact_mut(channels)) {
            let (a, b) = (column.first * channels, column.second * channels);
            for (k, value) in output_pixel.iter_mut().enumerate() {
                let top = upper[a + k] + (upper[b + k] - upper[a + k]) * column.weight_second;
                let bottom = lower[a + k] + (lower[b + k] - lower[a + k]) * column.weight_second;
                *value = top + (bottom - top) * row_tap.weight_second;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `height x width x channels` image whose values are all distinct and in [0, 1].
    fn gradient_image(height: usize, width: usize, channels: usize) -> Image {
        let count = height * width * channels;
        let pixels = (0..count).map(|i| i as f32 / count as f32).collect();
        Image::new(height, width, channels, pixels).unwrap()
    }

    fn value_at(image: &Image, y: usize, x: usize, k: usize) -> f32 {
        image.pixels[(y * image.width + x) * image.channels + k]
    }

    fn apply_spec(spec: &str, image: &Image, rng: &mut ChaCha8Rng) -> Image {
        let mut output = image.clone();
        Pipeline::parse(spec)
            .unwrap()
            .apply(&mut output, rng, &mut Scratch::default())
            .unwrap();
        output
    }

    const EVERY_OP: &str = "hflip,vflip,crop:3,resized-crop:24-30:20x16,rotate:20,\
translate:0.2,brightness:0.3,contrast:0.4,noise:0.05";

    #[test]
    fn every_op_produces_its_output_shape() {
        let image = gradient_image(21, 27, 3);
        for step in Pipeline::parse(EVERY_OP).unwrap().steps() {
            let pipeline = Pipeline::new(vec![*step]).unwrap();
            for index in 0..20 {
                let output = apply_spec(&step.to_string(), &image, &mut sample_rng(1, 0, index));
                assert_eq!(
                    output.shape(),
                    pipeline.output_shape(image.shape()),
                    "{step}"
                );
                assert!(output.check_size().is_ok(), "{step}");
            }
        }
        let whole = Pipeline::parse(EVERY_OP).unwrap();
        assert_eq!(whole.output_shape((21, 27, 3)), (20, 16, 3));
        let output = apply_spec(EVERY_OP, &image, &mut sample_rng(1, 0, 0));
        assert_eq!(output.shape(), (20, 16, 3));
    }

    #[test]
    fn clipping_ops_keep_values_in_unit_range() {
        let image = gradient_image(16, 16, 3);
        let spec = "hflip,crop:2,rotate:30,translate:0.2,resized-crop:16-20:16x16,\
brightness:1,contrast:1";
        for index in 0..200 {
            let output = apply_spec(spec, &image, &mut sample_rng(3, 1, index));
            assert!(output.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn same_seed_epoch_and_index_give_the_same_image() {
        let image = gradient_image(12, 10, 3);
        let first = apply_spec(EVERY_OP, &image, &mut sample_rng(7, 2, 5));
        let second = apply_spec(EVERY_OP, &image, &mut sample_rng(7, 2, 5));
        assert_eq!(first, second);
    }

    #[test]
    fn different_index_epoch_or_seed_give_different_images() {
        let image = gradient_image(12, 10, 3);
        let reference = apply_spec(EVERY_OP, &image, &mut sample_rng(7, 2, 5));
        for (seed, epoch, index) in [(7, 2, 6), (7, 3, 5), (8, 2, 5)] {
            let other = apply_spec(EVERY_OP, &image, &mut sample_rng(seed, epoch, index));
            assert_ne!(reference, other, "{seed} {epoch} {index}");
        }
    }

    #[test]
    fn sample_rng_streams_differ_from_the_shuffle_stream_of_the_same_seed() {
        let mut augment = sample_rng(42, 0, 0);
        let mut shuffle = ChaCha8Rng::seed_from_u64(42 ^ 0x5348_5546_464c_4531);
        let mut plain = ChaCha8Rng::seed_from_u64(42);
        let drawn: u64 = augment.gen();
        assert_ne!(drawn, shuffle.gen::<u64>());
        assert_ne!(drawn, plain.gen::<u64>());
    }

    #[test]
    fn flipping_twice_is_the_identity() {
        let image = gradient_image(5, 7, 3);
        let mut twice = image.clone();
        flip_horizontal_in_place(&mut twice);
        assert_ne!(twice, image);
        flip_horizontal_in_place(&mut twice);
        assert_eq!(twice, image);
        flip_vertical_in_place(&mut twice);
        assert_ne!(twice, image);
        flip_vertical_in_place(&mut twice);
        assert_eq!(twice, image);
    }

    #[test]
    fn horizontal_flip_mirrors_columns_and_keeps_channel_order() {
        let image = gradient_image(3, 4, 2);
        let flipped = horizontal_flip(&image);
        for y in 0..3 {
            for x in 0..4 {
                for k in 0..2 {
                    assert_eq!(value_at(&flipped, y, x, k), value_at(&image, y, 3 - x, k));
                }
            }
        }
    }

    #[test]
    fn flips_happen_about_half_the_time() {
        let image = gradient_image(4, 4, 1);
        let mut scratch = Scratch::default();
        for (spec, mirror) in [
            ("hflip", horizontal_flip(&image)),
            ("vflip", {
                let mut m = image.clone();
                flip_vertical_in_place(&mut m);
                m
            }),
        ] {
            let pipeline = Pipeline::parse(spec).unwrap();
            let mut flipped = 0;
            for index in 0..1000 {
                let mut output = image.clone();
                pipeline
                    .apply(&mut output, &mut sample_rng(11, 0, index), &mut scratch)
                    .unwrap();
                if output == mirror {
                    flipped += 1;
                } else {
                    assert_eq!(output, image);
                }
            }
            assert!((450..=550).contains(&flipped), "{spec}: {flipped} of 1000");
        }
    }

    #[test]
    fn crop_with_padding_0_is_the_identity() {
        let image = gradient_image(6, 5, 3);
        for index in 0..10 {
            assert_eq!(
                apply_spec("crop:0", &image, &mut sample_rng(0, 0, index)),
                image
            );
        }
    }

    #[test]
    fn crop_with_padding_is_a_zero_filled_shift_of_at_most_padding() {
        let image = gradient_image(8, 8, 2);
        for index in 0..50 {
            let mut rng = sample_rng(5, 0, index);
            let (dy, dx) = draw_padded_crop_shift(&mut rng.clone(), 2);
            assert!(dy.abs() <= 2 && dx.abs() <= 2);
            let output = apply_spec("crop:2", &image, &mut rng);
            for y in 0..8 {
                for x in 0..8 {
                    let (source_y, source_x) = (y as isize + dy, x as isize + dx);
                    let inside = (0..8).contains(&source_y) && (0..8).contains(&source_x);
                    for k in 0..2 {
                        let expected = if inside {
                            value_at(&image, source_y as usize, source_x as usize, k)
                        } else {
                            0.0
                        };
                        assert_eq!(value_at(&output, y, x, k), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn rotation_with_max_0_is_the_identity() {
        let image = gradient_image(7, 6, 3);
        assert_eq!(
            apply_spec("rotate:0", &image, &mut sample_rng(0, 0, 0)),
            image
        );
    }

    #[test]
    fn rotation_by_90_degrees_turns_the_image_counter_clockwise() {
        // Square, so a quarter turn maps pixel centres onto pixel centres.
        let image = gradient_image(5, 5, 2);
        let mut rotated = Vec::new();
        rotate_into(&image, &mut rotated, 90.0);
        let rotated = Image::new(5, 5, 2, rotated).unwrap();
        for y in 0..5 {
            for x in 0..5 {
                for k in 0..2 {
                    // Counter-clockwise: the right column becomes the top row.
                    let expected = value_at(&image, x, 4 - y, k);
                    assert!((value_at(&rotated, y, x, k) - expected).abs() < 1e-5);
                }
            }
        }
        let mut half_turn = Vec::new();
        rotate_into(&image, &mut half_turn, 180.0);
        let mut both_flips = image.clone();
        flip_horizontal_in_place(&mut both_flips);
        flip_vertical_in_place(&mut both_flips);
        for (a, b) in half_turn.iter().zip(&both_flips.pixels) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn rotation_fills_corners_outside_the_source_with_0() {
        let image = Image::new(9, 9, 1, vec![1.0; 81]).unwrap();
        let mut rotated = Vec::new();
        rotate_into(&image, &mut rotated, 45.0);
        assert_eq!(rotated[0], 0.0);
        assert_eq!(rotated[4 * 9 + 4], 1.0);
    }

    #[test]
    fn translation_moves_content_by_the_drawn_offset_with_zero_fill() {
        let image = gradient_image(10, 10, 3);
        let mut moved_somewhere = false;
        for index in 0..20 {
            let mut rng = sample_rng(9, 0, index);
            let (dy, dx) = draw_translation(&mut rng.clone(), 10, 10, 0.3);
            assert!(dy.abs() <= 3 && dx.abs() <= 3);
            moved_somewhere |= dy != 0 || dx != 0;
            let output = apply_spec("translate:0.3", &image, &mut rng);
            let mut expected = Image::new(10, 10, 3, vec![0.0; 300]).unwrap();
            for y in 0..10isize {
                for x in 0..10isize {
                    let (to_y, to_x) = (y + dy, x + dx);
                    if (0..10).contains(&to_y) && (0..10).contains(&to_x) {
                        for k in 0..3 {
                            let to = (to_y as usize * 10 + to_x as usize) * 3 + k;
                            expected.pixels[to] = value_at(&image, y as usize, x as usize, k);
                        }
                    }
                }
            }
            assert_eq!(output, expected, "dy {dy} dx {dx}");
        }
        assert!(moved_somewhere);
    }

    #[test]
    fn brightness_with_max_delta_0_is_the_identity() {
        let image = gradient_image(4, 4, 3);
        assert_eq!(
            apply_spec("brightness:0", &image, &mut sample_rng(0, 0, 0)),
            image
        );
    }

    #[test]
    fn brightness_adds_one_delta_to_every_value() {
        let image = Image::new(2, 2, 1, vec![0.4, 0.5, 0.45, 0.55]).unwrap();
        let output = apply_spec("brightness:0.3", &image, &mut sample_rng(2, 0, 0));
        let delta = output.pixels[0] - image.pixels[0];
        assert!(delta.abs() <= 0.3 && delta != 0.0);
        for (after, before) in output.pixels.iter().zip(&image.pixels) {
            assert!((after - before - delta).abs() < 1e-6);
        }
    }

    #[test]
    fn contrast_keeps_each_channel_mean_when_nothing_clips() {
        // Values in [0.4, 0.6]: a factor up to 1.5 stays inside [0, 1].
        let image = Image::new(
            4,
            4,
            2,
            (0..32)
                .map(|i| 0.4 + 0.2 * ((i * 7) % 32) as f32 / 31.0)
                .collect(),
        )
        .unwrap();
        let channel_mean =
            |image: &Image, k: usize| image.pixels.iter().skip(k).step_by(2).sum::<f32>() / 16.0;
        for index in 0..10 {
            let output = apply_spec("contrast:0.5", &image, &mut sample_rng(4, 0, index));
            assert_ne!(output, image);
            for k in 0..2 {
                assert!((channel_mean(&output, k) - channel_mean(&image, k)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn gaussian_noise_has_the_requested_stddev_and_no_clipping() {
        let image = Image::new(64, 64, 3, vec![0.0; 64 * 64 * 3]).unwrap();
        let output = apply_spec("noise:0.1", &image, &mut sample_rng(6, 0, 0));
        let n = output.pixels.len() as f64;
        let mean = output.pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = output
            .pixels
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            (variance.sqrt() - 0.1).abs() < 0.005,
            "stddev {}",
            variance.sqrt()
        );
        assert!(mean.abs() < 0.005);
        assert!(output.pixels.iter().any(|&v| v < 0.0));
    }

    #[test]
    fn resized_crop_outputs_the_crop_size_from_any_input_size() {
        let pipeline = Pipeline::parse("resized-crop:32-40:32x32").unwrap();
        let mut scratch = Scratch::default();
        for (height, width) in [(28, 28), (32, 48), (64, 20), (224, 224)] {
            assert_eq!(pipeline.output_shape((height, width, 3)), (32, 32, 3));
            let mut image = gradient_image(height, width, 3);
            pipeline
                .apply(&mut image, &mut sample_rng(0, 0, height), &mut scratch)
                .unwrap();
            assert_eq!(image.shape(), (32, 32, 3));
            assert_eq!(image.pixels.len(), 32 * 32 * 3);
        }
    }

    #[test]
    fn resize_to_the_same_size_and_full_crop_is_the_identity() {
        let image = gradient_image(6, 9, 3);
        assert_eq!(
            resize_short_side_center_crop(&image, 6, 6, 9).unwrap(),
            image
        );
        assert_eq!(
            apply_spec(
                "resized-crop:6:6x6",
                &gradient_image(6, 6, 2),
                &mut sample_rng(0, 0, 0)
            ),
            gradient_image(6, 6, 2)
        );
    }

    #[test]
    fn resize_short_side_center_crop_of_a_constant_image_is_constant() {
        let image = Image::new(30, 50, 3, vec![0.25; 30 * 50 * 3]).unwrap();
        let output = resize_short_side_center_crop(&image, 40, 32, 36).unwrap();
        assert_eq!(output.shape(), (32, 36, 3));
        assert!(output.pixels.iter().all(|&v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn resize_doubling_matches_half_pixel_bilinear_by_hand() {
        // 1x2 -> 2x4 with half-pixel centres reads source x = -0.25, 0.25, 0.75, 1.25,
        // clamped to [0, 1]: weights 0, 0.25, 0.75, 1 of the second pixel.
        let image = Image::new(1, 2, 1, vec![0.0, 1.0]).unwrap();
        let output = resize_short_side_center_crop(&image, 2, 2, 4).unwrap();
        assert_eq!(
            output.pixels,
            vec![0.0, 0.25, 0.75, 1.0, 0.0, 0.25, 0.75, 1.0]
        );
    }

    #[test]
    fn resize_short_side_center_crop_rejects_a_crop_larger_than_the_resized_image() {
        let image = gradient_image(10, 10, 1);
        assert!(matches!(
            resize_short_side_center_crop(&image, 8, 9, 8),
            Err(DataError::CropTooLarge { .. })
        ));
    }

    #[test]
    fn ten_crop_corners_are_sub_rectangles_and_the_mirrored_five_are_mirror_images() {
        let image = gradient_image(7, 9, 3);
        let crops = ten_crop(&image, 3, 5).unwrap();
        let expected_corners = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)];
        for (crop_index, &(top, left)) in expected_corners.iter().enumerate() {
            let piece = &crops[crop_index];
            assert_eq!(piece.shape(), (3, 5, 3));
            for y in 0..3 {
                for x in 0..5 {
                    for k in 0..3 {
                        assert_eq!(
                            value_at(piece, y, x, k),
                            value_at(&image, top + y, left + x, k)
                        );
                    }
                }
            }
        }
        // torchvision order: five crops of the mirrored image, so its top-left is the
        // mirror of the original's top-right, and so on.
        for (mirrored, original) in [(5, 1), (6, 0), (7, 3), (8, 2), (9, 4)] {
            assert_eq!(crops[mirrored], horizontal_flip(&crops[original]));
        }
        assert_eq!(center_crop(&image, 3, 5).unwrap(), crops[4]);
    }

    #[test]
    fn crops_larger_than_the_image_are_errors() {
        let image = gradient_image(4, 4, 1);
        assert!(matches!(
            ten_crop(&image, 5, 2),
            Err(DataError::CropTooLarge { .. })
        ));
        assert!(matches!(
            center_crop(&image, 2, 5),
            Err(DataError::CropTooLarge { .. })
        ));
    }

    #[test]
    fn apply_rejects_images_whose_pixels_do_not_match_their_shape_or_are_empty() {
        let pipeline = Pipeline::parse("flip").unwrap();
        let mut rng = sample_rng(0, 0, 0);
        let mut scratch = Scratch::default();
        let mut wrong = Image {
            height: 2,
            width: 2,
            channels: 1,
            pixels: vec![0.0; 3],
        };
        assert!(matches!(
            pipeline.apply(&mut wrong, &mut rng, &mut scratch),
            Err(DataError::ImageSizeMismatch {
                expected: 4,
                found: 3,
                ..
            })
        ));
        let mut empty = Image::new(0, 3, 1, Vec::new()).unwrap();
        assert!(matches!(
            pipeline.apply(&mut empty, &mut rng, &mut scratch),
            Err(DataError::EmptyImage { .. })
        ));
        assert!(Pipeline::default()
            .apply(&mut empty, &mut rng, &mut scratch)
            .is_ok());
    }

    #[test]
    fn warm_apply_reuses_the_image_and_scratch_buffers() {
        let pipeline = Pipeline::parse("flip,crop:2,rotate:10,translate:0.1").unwrap();
        let mut scratch = Scratch::default();
        let mut image = gradient_image(32, 32, 3);
        pipeline
            .apply(&mut image, &mut sample_rng(0, 0, 0), &mut scratch)
            .unwrap();
        let buffers = [image.pixels.as_ptr(), scratch.pixels.as_ptr()];
        for index in 1..20 {
            image.assign_bytes(32, 32, 3, &[100; 32 * 32 * 3]).unwrap();
            pipeline
                .apply(&mut image, &mut sample_rng(0, 0, index), &mut scratch)
                .unwrap();
            assert!(buffers.contains(&image.pixels.as_ptr()));
            assert!(buffers.contains(&scratch.pixels.as_ptr()));
        }
    }

    #[test]
    fn from_bytes_scales_to_unit_range_and_checks_the_count() {
        let image = Image::from_bytes(1, 2, 1, &[0, 255]).unwrap();
        assert_eq!(image.pixels, vec![0.0, 1.0]);
        assert!(matches!(
            Image::from_bytes(2, 2, 1, &[0; 3]),
            Err(DataError::ImageSizeMismatch { .. })
        ));
        assert!(Image::new(1, 1, 2, vec![0.0]).is_err());
    }

    #[test]
    fn parse_accepts_every_item_and_display_round_trips() {
        let pipeline = Pipeline::parse(EVERY_OP).unwrap();
        assert_eq!(pipeline.steps().len(), 9);
        assert_eq!(pipeline.to_string(), EVERY_OP);
        assert_eq!(Pipeline::parse(&pipeline.to_string()).unwrap(), pipeline);

        let pipeline = Pipeline::parse(" flip , resized-crop:36:32x30, noise:0.1 ").unwrap();
        assert_eq!(
            pipeline.steps(),
            [
                Augmentation::FlipHorizontal,
                Augmentation::RandomResizedCrop {
                    min_side: 36,
                    max_side: 36,
                    height: 32,
                    width: 30
                },
                Augmentation::GaussianNoise { stddev: 0.1 },
            ]
        );
        assert_eq!(Pipeline::parse(&pipeline.to_string()).unwrap(), pipeline);
    }

    #[test]
    fn parse_of_an_empty_spec_is_the_empty_pipeline() {
        let pipeline = Pipeline::parse("  ").unwrap();
        assert!(pipeline.is_empty());
        assert_eq!(pipeline.to_string(), "");
        assert_eq!(pipeline.output_shape((5, 6, 7)), (5, 6, 7));
    }

    #[test]
    fn parse_errors_name_the_item_and_list_the_valid_names() {
        for (spec, offending, reason) in [
            ("flip,blur:3", "blur:3", "unknown augmentation `blur`"),
            ("crop:four", "crop:four", "not a whole number"),
            ("crop", "crop", "needs an argument"),
            ("hflip:1", "hflip:1", "takes no argument"),
            ("rotate:abc", "rotate:abc", "not a finite number"),
            ("noise:nan", "noise:nan", "not a finite number"),
            (
                "brightness:1.5",
                "brightness:1.5",
                "max_delta must lie in [0, 1]",
            ),
            (
                "contrast:-0.1",
                "contrast:-0.1",
                "factor must lie in [0, 1]",
            ),
            ("translate:2", "translate:2", "max_fraction"),
            ("rotate:200", "rotate:200", "max_degrees"),
            (
                "resized-crop:40-32:32x32",
                "resized-crop:40-32:32x32",
                "must not exceed",
            ),
            (
                "resized-crop:28-40:32x32",
                "resized-crop:28-40:32x32",
                "so the crop fits",
            ),
            (
                "resized-crop:32-40:32",
                "resized-crop:32-40:32",
                "not HEIGHTxWIDTH",
            ),
            (
                "resized-crop:32-40",
                "resized-crop:32-40",
                "MIN-MAX:HEIGHTxWIDTH",
            ),
            ("flip,,vflip", "", "empty item"),
        ] {
            let message = Pipeline::parse(spec).unwrap_err().to_string();
            assert!(message.contains(&format!("`{offending}`")), "{message}");
            assert!(message.contains(reason), "{message}");
            assert!(message.contains(SPEC_SYNTAX), "{message}");
        }
    }

    #[test]
    fn new_rejects_parameters_out_of_range() {
        let error = Pipeline::new(vec![Augmentation::GaussianNoise { stddev: -1.0 }])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("noise:-1") && error.contains("stddev"),
            "{error}"
        );
        assert!(Pipeline::new(vec![Augmentation::CropWithPadding {
            padding: usize::MAX / 4 + 1
        }])
        .is_err());
        assert!(Pipeline::new(vec![Augmentation::Rotation {
            max_degrees: f32::NAN
        }])
        .is_err());
    }

    /// Per-image cost; run with
    /// `cargo test -p krust-data --release augment -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, not correctness"]
    fn timing_per_image() {
        let cases = [
            ("flip,crop:2", (28, 28, 1)),
            ("flip,crop:2", (32, 32, 3)),
            ("flip,crop:4", (224, 224, 3)),
            ("rotate:15", (28, 28, 1)),
            ("rotate:15", (32, 32, 3)),
            ("translate:0.1", (32, 32, 3)),
            ("brightness:0.2,contrast:0.2", (32, 32, 3)),
            ("noise:0.05", (32, 32, 3)),
            ("resized-crop:32-40:32x32", (32, 32, 3)),
            ("resized-crop:256-288:224x224", (224, 224, 3)),
            ("rotate:15", (224, 224, 3)),
        ];
        for (spec, (height, width, channels)) in cases {
            let pipeline = Pipeline::parse(spec).unwrap();
            let source = gradient_image(height, width, channels);
            let mut image = source.clone();
            let mut scratch = Scratch::default();
            let repeats = (2_000_000 / source.pixels.len()).clamp(20, 20_000);
            let start = std::time::Instant::now();
            for index in 0..repeats {
                image.height = height;
                image.width = width;
                image.pixels.clear();
                image.pixels.extend_from_slice(&source.pixels);
                pipeline
                    .apply(&mut image, &mut sample_rng(0, 0, index), &mut scratch)
                    .unwrap();
            }
            let per_image = start.elapsed().as_secs_f64() / repeats as f64;
            println!(
                "{spec:<30} {height}x{width}x{channels}: {:.2} us/image",
                per_image * 1e6
            );
        }
    }
}
