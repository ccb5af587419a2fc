//! Reader for a directory of JPEG/PNG photos with one sub-folder per class, like Keras's
//! `image_dataset_from_directory` and torchvision's `ImageFolder`.
//!
//! Class folders sorted by name give the class indices; the files under each (searched
//! recursively, sorted by path, hidden entries skipped) are decoded in parallel, converted to
//! RGB or grayscale and resized to one fixed size, so every sample has the same shape.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use rayon::prelude::*;

use crate::{DataError, Dataset, TrainTest};

/// Extensions read as images (compared case-insensitively); other files are ignored.
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];
/// Told to the user with every decode error in a folder, so one bad file is not a dead end.
const SKIP_CORRUPT_HINT: &str = " (pass --skip-corrupt to skip undecodable images)";

/// How [`load_image_folder`] decodes and sizes the photos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFolderOptions {
    /// Height every image is resized to. Keras's default `image_size` is (256, 256).
    pub height: usize,
    /// Width every image is resized to.
    pub width: usize,
    /// 3 for RGB (alpha dropped, grayscale replicated), 1 for grayscale.
    pub channels: usize,
    /// Skip images that fail to decode (and report them) instead of failing.
    pub skip_corrupt: bool,
    /// The classes, in label order, when they are already known (the training set's names
    /// when loading its test folder). Every sub-folder must be one of them; some may be
    /// missing. `None` takes the sorted sub-folder names.
    pub class_names: Option<Vec<String>>,
}

impl Default for ImageFolderOptions {
    /// Keras's defaults: 256x256 RGB, failing on corrupt images, classes inferred.
    fn default() -> Self {
        Self {
            height: 256,
            width: 256,
            channels: 3,
            skip_corrupt: false,
            class_names: None,
        }
    }
}

/// Loads every JPEG and PNG under the class sub-folders of `dir` as a byte dataset of
/// `[height, width, channels]` images, labelled by class folder, in sorted path order.
///
/// Returns the dataset and the images skipped as corrupt (empty unless
/// `options.skip_corrupt`). Resizing is bilinear (`FilterType::Triangle`), which, unlike
/// TensorFlow's default, also smooths when shrinking, so pixels differ slightly from Keras's.
pub fn load_image_folder(
    dir: &Path,
    options: &ImageFolderOptions,
) -> Result<(Dataset, Vec<PathBuf>), DataError> {
    check_options(options)?;
    let class_folders = class_folders(dir)?;
    let class_names = options
        .class_names
        .clone()
        .unwrap_or_else(|| class_folders.clone());
    let mut files: Vec<(PathBuf, u32)> = Vec::new();
    for folder in &class_folders {
        let Some(label) = class_names.iter().position(|name| name == folder) else {
            return Err(DataError::UnknownClassFolder {
                dir: dir.to_path_buf(),
                name: folder.clone(),
                known: class_names.join(", "),
            });
        };
        let mut found = Vec::new();
        collect_image_files(&dir.join(folder), &mut found)?;
        found.sort();
        files.extend(found.into_iter().map(|path| (path, label as u32)));
    }
    if files.is_empty() {
        return Err(DataError::NoImages {
            dir: dir.to_path_buf(),
            class_folders: class_folders.len(),
        });
    }
    check_memory(dir, files.len(), options)?;

    // `collect` on an indexed parallel iterator keeps the input order, so the dataset does
    // not depend on thread timing.
    let decoded: Vec<Result<Vec<u8>, DataError>> = files
        .par_iter()
        .map(|(path, _)| {
            decode_resized(path, options.height, options.width, options.channels)
                .map_err(|error| with_hint(error, SKIP_CORRUPT_HINT))
        })
        .collect();

    let sample_size = options.height * options.width * options.channels;
    let mut pixels = Vec::with_capacity(files.len() * sample_size);
    let mut labels = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    for ((path, label), result) in files.into_iter().zip(decoded) {
        match result {
            Ok(image) => {
                pixels.extend_from_slice(&image);
                labels.push(label);
            }
            Err(DataError::CorruptImage { .. }) if options.skip_corrupt => skipped.push(path),
            Err(error) => return Err(error),
        }
    }
    if labels.is_empty() {
        return Err(DataError::NoImages {
            dir: dir.to_path_buf(),
            class_folders: class_folders.len(),
        });
    }
    let dataset = Dataset::images(
        &dir.display().to_string(),
        pixels,
        (options.height, options.width, options.channels),
        labels,
        class_names,
    )?;
    Ok((dataset, skipped))
}

/// Loads `root/train` and `root/test`, the test folder labelled with the training set's
/// class names (so a class missing from the test folder keeps its index). Returns both sets
/// and the images skipped as corrupt in either.
pub fn load_image_folder_split(
    root: &Path,
    options: &ImageFolderOptions,
) -> Result<(TrainTest, Vec<PathBuf>), DataError> {
    let (train, mut skipped) = load_image_folder(&root.join("train"), options)?;
    let test_options = ImageFolderOptions {
        class_names: Some(train.class_names().to_vec()),
        ..options.clone()
    };
    let (test, test_skipped) = load_image_folder(&root.join("test"), &test_options)?;
    skipped.extend(test_skipped);
    Ok((TrainTest { train, test }, skipped))
}

/// Decodes one photo (JPEG or PNG) into `height * width * channels` HWC bytes, as
/// [`load_image_folder`] would, for classifying a single image.
pub fn load_image_file(
    path: &Path,
    height: usize,
    width: usize,
    channels: usize,
) -> Result<Vec<u8>, DataError> {
    check_size(height, width, channels)?;
    decode_resized(path, height, width, channels)
}

/// What the images under a folder have in common, from their headers alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderImageFormat {
    /// `(height, width)` when every image has that size; `None` when sizes differ.
    pub size: Option<(usize, usize)>,
    /// 1 when every image is grayscale, else 3.
    pub channels: usize,
    /// How many distinct sizes the images have.
    pub distinct_sizes: usize,
    /// How many images were read (those whose header cannot be read are left to the loader,
    /// which reports them).
    pub images: usize,
}

/// Reads the header of every JPEG/PNG under `dir` (recursively, hidden entries skipped) and
/// tells whether they share one size and are all grayscale, so a folder can be loaded at its
/// own size and colour mode. No pixel data is decoded.
pub fn folder_image_format(dir: &Path) -> Result<FolderImageFormat, DataError> {
    require_dir(dir)?;
    let mut files = Vec::new();
    collect_image_files(dir, &mut files)?;
    let headers: Vec<Option<((u32, u32), bool)>> =
        files.par_iter().map(|path| image_header(path)).collect();
    let mut sizes: Vec<(u32, u32)> = Vec::new();
    let mut all_gray = true;
    let mut images = 0;
    for (dimensions, gray) in headers.into_iter().flatten() {
        images += 1;
        all_gray &= gray;
        if !sizes.contains(&dimensions) {
            sizes.push(dimensions);
        }
    }
    let size = match sizes[..] {
        [(width, height)] => Some((height as usize, width as usize)),
        _ => None,
    };
    Ok(FolderImageFormat {
        size,
        channels: if all_gray && images > 0 { 1 } else { 3 },
        distinct_sizes: sizes.len(),
        images,
    })
}

/// `((width, height), grayscale)` from an image file's header, `None` when it cannot be read.
fn image_header(path: &Path) -> Option<((u32, u32), bool)> {
    use image::{ColorType, ImageDecoder};
    let decoder = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    let gray = matches!(
        decoder.color_type(),
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16
    );
    Some((decoder.dimensions(), gray))
}

/// Refuses a folder whose decoded images (held twice while they are gathered) would not fit in
/// the available memory, before any is decoded: a huge `--image-size` is an error, not an
/// allocation failure.
fn check_memory(dir: &Path, images: usize, options: &ImageFolderOptions) -> Result<(), DataError> {
    let Some(available) = krust_tensor::buffer::available_memory_bytes() else {
        return Ok(());
    };
    let (height, width, channels) = (options.height, options.width, options.channels);
    let needed = [images, height, width, channels, 2]
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n as u64))
        .unwrap_or(u64::MAX);
    if needed > available {
        return Err(DataError::OutOfMemory {
            dir: dir.to_path_buf(),
            images,
            height,
            width,
            channels,
            needed,
            available,
        });
    }
    Ok(())
}

fn check_options(options: &ImageFolderOptions) -> Result<(), DataError> {
    check_size(options.height, options.width, options.channels)
}

fn check_size(height: usize, width: usize, channels: usize) -> Result<(), DataError> {
    for (name, value) in [("height", height), ("width", width)] {
        if value == 0 || u32::try_from(value).is_err() {
            return Err(DataError::InvalidArgument {
                name,
                value,
                reason: "an image side must be at least 1 pixel (and fit in 32 bits)",
            });
        }
    }
    if channels != 1 && channels != 3 {
        return Err(DataError::InvalidArgument {
            name: "channels",
            value: channels,
            reason: "images are read as grayscale (1) or RGB (3)",
        });
    }
    Ok(())
}

/// An error naming `dir` unless it is a directory.
fn require_dir(dir: &Path) -> Result<(), DataError> {
    if dir.is_dir() {
        return Ok(());
    }
    let dir = dir.to_path_buf();
    Err(if dir.exists() {
        DataError::NotADirectory { dir }
    } else {
        DataError::MissingDirectory { dir }
    })
}

/// Names of the non-hidden sub-folders of `dir`, sorted.
fn class_folders(dir: &Path) -> Result<Vec<String>, DataError> {
    require_dir(dir)?;
    let mut names = Vec::new();
    for entry in read_dir(dir)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Class folders may be symbolic links (a dataset assembled from elsewhere), so this
        // follows them; the walk below does not, as Keras's `follow_links=False`.
        if !is_hidden(&name) && entry.path().is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Appends the image files under `dir`, recursively, skipping hidden entries and not
/// following symbolic links to directories (which could loop).
fn collect_image_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    for entry in read_dir(dir)? {
        let name = entry.file_name();
        if is_hidden(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        if kind.is_dir() {
            collect_image_files(&path, out)?;
        } else if (kind.is_file() || (kind.is_symlink() && path.is_file())) && is_image(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>, DataError> {
    let io_error = |source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::read_dir(dir)
        .map_err(io_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error)
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|extension| IMAGE_EXTENSIONS.contains(&extension.as_str()))
}

fn with_hint(error: DataError, hint: &'static str) -> DataError {
    match error {
        DataError::CorruptImage { path, reason, .. } => {
            DataError::CorruptImage { path, reason, hint }
        }
        other => other,
    }
}

/// Reads and decodes `path` (format guessed from its content, not its name), converts it to
/// `channels` and resizes it to `height` x `width`.
fn decode_resized(
    path: &Path,
    height: usize,
    width: usize,
    channels: usize,
) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let image = image::load_from_memory(&bytes).map_err(|error| DataError::CorruptImage {
        path: path.to_path_buf(),
        reason: error.to_string(),
        hint: "",
    })?;
    // Sides were checked to fit in u32 by `check_size`.
    let (width, height) = (width as u32, height as u32);
    let rgb: RgbImage = image.into_rgb8();
    let rgb = if rgb.dimensions() == (width, height) {
        rgb
    } else {
        DynamicImage::ImageRgb8(rgb)
            .resize_exact(width, height, FilterType::Triangle)
            .into_rgb8()
    };
    Ok(if channels == 1 {
        rgb.pixels().map(|pixel| luma(pixel.0)).collect()
    } else {
        rgb.into_raw()
    })
}

/// ITU-R BT.601 luma, the weights PIL's `convert("L")` and TensorFlow's
/// `rgb_to_grayscale` use (the `image` crate's own conversion uses BT.709), in 16-bit fixed
/// point: the weights sum to 65536, so a gray pixel keeps its value exactly.
fn luma([red, green, blue]: [u8; 3]) -> u8 {
    let weighted = 19_595 * u32::from(red) + 38_470 * u32::from(green) + 7_471 * u32::from(blue);
    ((weighted + (1 << 15)) >> 16) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::TempDir;
    use image::{ImageFormat, Rgb};

    #[test]
    fn a_folder_whose_images_would_not_fit_in_memory_is_refused_before_decoding() {
        let huge = options(4096, 4096, 3);
        let error = check_memory(Path::new("photos"), 1_000_000, &huge).unwrap_err();
        assert!(matches!(error, DataError::OutOfMemory { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("photos") && text.contains("--image-size"),
            "{text}"
        );
        check_memory(Path::new("photos"), 10, &options(64, 64, 3)).unwrap();
    }

    fn options(height: usize, width: usize, channels: usize) -> ImageFolderOptions {
        ImageFolderOptions {
            height,
            width,
            channels,
            ..ImageFolderOptions::default()
        }
    }

    /// Writes a `width` x `height` image filled with `color` at `dir/relative` (folders
    /// created), in the format its extension names.
    fn write_image(dir: &Path, relative: &str, (width, height): (u32, u32), color: [u8; 3]) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create folders");
        let image = RgbImage::from_pixel(width, height, Rgb(color));
        let format = ImageFormat::from_path(&path).expect("known extension");
        image.save_with_format(&path, format).expect("write image");
    }

    fn pixel(dataset: &Dataset, index: usize) -> &[u8] {
        &dataset.sample_bytes(index).expect("bytes")[..dataset.image_dims().expect("image").2]
    }

    #[test]
    fn folder_format_tells_a_shared_size_and_grayscale_from_headers() {
        let root = TempDir::new("image-folder-format");
        let gray = |dir: &Path, relative: &str| {
            let path = dir.join(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            image::GrayImage::from_pixel(5, 3, image::Luma([90]))
                .save(&path)
                .expect("write gray image");
        };
        gray(root.path(), "a/one.png");
        gray(root.path(), "b/two.png");
        let format = folder_image_format(root.path()).unwrap();
        assert_eq!(format.size, Some((3, 5)), "height 3, width 5");
        assert_eq!(format.channels, 1);
        assert_eq!(format.images, 2);
        // A colour image of the same size makes the folder RGB; another size makes it mixed.
        write_image(root.path(), "b/three.png", (5, 3), [1, 2, 3]);
        let format = folder_image_format(root.path()).unwrap();
        assert_eq!((format.size, format.channels), (Some((3, 5)), 3));
        write_image(root.path(), "a/four.jpg", (7, 7), [1, 2, 3]);
        let format = folder_image_format(root.path()).unwrap();
        assert_eq!((format.size, format.distinct_sizes), (None, 2));
        assert!(folder_image_format(&root.path().join("missing")).is_err());
    }

    #[test]
    fn sorted_class_folders_give_labels_and_images_are_resized() {
        let root = TempDir::new("folder-classes");
        write_image(root.path(), "dog/b.png", (4, 2), [0, 0, 255]);
        write_image(root.path(), "dog/a.PNG", (3, 3), [0, 255, 0]);
        write_image(root.path(), "cat/x.png", (2, 2), [255, 0, 0]);
        write_image(root.path(), "cat/nested/y.jpeg", (8, 8), [200, 200, 200]);
        let (data, skipped) = load_image_folder(root.path(), &options(2, 2, 3)).expect("loads");
        assert!(skipped.is_empty());
        assert_eq!(data.class_names(), &["cat".to_string(), "dog".to_string()]);
        assert_eq!(data.labels(), Some(&[0, 0, 1, 1][..]));
        assert_eq!(data.image_dims(), Some((2, 2, 3)));
        // cat/nested/y.jpeg sorts before cat/x.png; dog/a.PNG before dog/b.png.
        assert!(pixel(&data, 0).iter().all(|&v| v.abs_diff(200) <= 3));
        assert_eq!(pixel(&data, 1), &[255, 0, 0]);
        assert_eq!(pixel(&data, 2), &[0, 255, 0]);
        assert_eq!(pixel(&data, 3), &[0, 0, 255]);
    }

    #[test]
    fn hidden_files_hidden_folders_and_other_extensions_are_ignored() {
        let root = TempDir::new("folder-ignored");
        write_image(root.path(), "a/.hidden.png", (2, 2), [1, 1, 1]);
        write_image(root.path(), "a/.cache/in-hidden.png", (2, 2), [1, 1, 1]);
        write_image(root.path(), "a/kept.jpg", (2, 2), [9, 9, 9]);
        write_image(root.path(), ".git/objects.png", (2, 2), [1, 1, 1]);
        std::fs::write(root.path().join("a/notes.txt"), "not an image").expect("write");
        std::fs::write(root.path().join("README.png"), "top-level file").expect("write");
        let (data, _) = load_image_folder(root.path(), &options(2, 2, 3)).expect("loads");
        assert_eq!(data.len(), 1);
        assert_eq!(data.class_names(), &["a".to_string()]);
    }

    #[test]
    fn grayscale_uses_bt601_luma() {
        let root = TempDir::new("folder-gray");
        write_image(root.path(), "red/r.png", (2, 3), [255, 0, 0]);
        write_image(root.path(), "gray/g.png", (2, 3), [77, 77, 77]);
        let (data, _) = load_image_folder(root.path(), &options(3, 2, 1)).expect("loads");
        assert_eq!(data.image_dims(), Some((3, 2, 1)));
        assert_eq!(data.sample_bytes(0), Some(&[77; 6][..]), "gray stays gray");
        // 0.299 * 255 = 76.2
        assert_eq!(data.sample_bytes(1), Some(&[76; 6][..]));
    }

    #[test]
    fn corrupt_jpeg_error_names_the_path_and_suggests_skipping() {
        let root = TempDir::new("folder-corrupt");
        write_image(root.path(), "a/good.png", (2, 2), [5, 5, 5]);
        write_image(root.path(), "b/good.png", (2, 2), [6, 6, 6]);
        let bad = root.path().join("b/broken.jpg");
        std::fs::write(&bad, b"\xff\xd8\xff\xe0 not really a jpeg").expect("write");
        let error = load_image_folder(root.path(), &options(2, 2, 3)).expect_err("corrupt");
        let message = error.to_string();
        assert!(matches!(error, DataError::CorruptImage { .. }), "{message}");
        assert!(message.contains(&bad.display().to_string()), "{message}");
        assert!(message.contains("--skip-corrupt"), "{message}");
        assert!(message.contains("Jpeg"), "the decoder's reason: {message}");

        let skipping = ImageFolderOptions {
            skip_corrupt: true,
            ..options(2, 2, 3)
        };
        let (data, skipped) = load_image_folder(root.path(), &skipping).expect("skips");
        assert_eq!(skipped, vec![bad]);
        assert_eq!(data.len(), 2);
        assert_eq!(data.labels(), Some(&[0, 1][..]));
        assert_eq!(pixel(&data, 1), &[6, 6, 6]);
    }

    #[test]
    fn single_file_decodes_and_reports_corruption_without_the_folder_hint() {
        let root = TempDir::new("single-file");
        write_image(root.path(), "photo.png", (5, 4), [10, 20, 30]);
        let bytes = load_image_file(&root.path().join("photo.png"), 2, 3, 3).expect("decodes");
        assert_eq!(bytes.len(), 18);
        assert_eq!(&bytes[..3], &[10, 20, 30]);
        let bad = root.write("bad.png", b"\x89PNG\r\n\x1a\n garbage");
        let message = load_image_file(&bad, 2, 2, 3)
            .expect_err("corrupt")
            .to_string();
        assert!(message.contains("bad.png") && message.contains("cannot decode"));
        assert!(!message.contains("--skip-corrupt"), "{message}");
        let error = load_image_file(&root.path().join("photo.png"), 2, 2, 4).expect_err("rgba");
        assert!(matches!(
            error,
            DataError::InvalidArgument {
                name: "channels",
                ..
            }
        ));
    }

    #[test]
    fn given_class_names_fix_the_labels_and_reject_unknown_folders() {
        let root = TempDir::new("folder-known-classes");
        write_image(root.path(), "dog/d.png", (2, 2), [1, 2, 3]);
        let known = ImageFolderOptions {
            class_names: Some(vec!["cat".into(), "dog".into(), "frog".into()]),
            ..options(2, 2, 3)
        };
        let (data, _) = load_image_folder(root.path(), &known).expect("a subset of classes");
        assert_eq!(data.labels(), Some(&[1][..]));
        assert_eq!(data.num_classes(), 3);

        write_image(root.path(), "horse/h.png", (2, 2), [1, 2, 3]);
        let error = load_image_folder(root.path(), &known).expect_err("horse is unknown");
        let message = error.to_string();
        assert!(
            message.contains("unknown class name 'horse'")
                && message.contains(&root.path().display().to_string())
                && message.contains("the classes are: cat, dog, frog"),
            "{message}"
        );
    }

    #[test]
    fn train_test_split_labels_the_test_folder_with_the_training_classes() {
        let root = TempDir::new("folder-split");
        write_image(root.path(), "train/ant/1.png", (2, 2), [1, 1, 1]);
        write_image(root.path(), "train/bee/1.png", (2, 2), [2, 2, 2]);
        write_image(root.path(), "train/cow/1.png", (2, 2), [3, 3, 3]);
        write_image(root.path(), "test/cow/1.png", (2, 2), [3, 3, 3]);
        let (data, skipped) =
            load_image_folder_split(root.path(), &options(2, 2, 3)).expect("loads");
        assert!(skipped.is_empty());
        assert_eq!(data.train.labels(), Some(&[0, 1, 2][..]));
        assert_eq!(data.test.labels(), Some(&[2][..]));
        assert_eq!(data.test.class_names(), data.train.class_names());

        write_image(root.path(), "test/dog/1.png", (2, 2), [4, 4, 4]);
        let error = load_image_folder_split(root.path(), &options(2, 2, 3)).expect_err("dog");
        assert!(error.to_string().contains("'dog'"), "{error}");
    }

    #[test]
    fn empty_or_missing_folders_are_clear_errors() {
        let root = TempDir::new("folder-empty");
        let error = load_image_folder(root.path(), &options(2, 2, 3)).expect_err("empty");
        assert!(
            matches!(
                error,
                DataError::NoImages {
                    class_folders: 0,
                    ..
                }
            ),
            "{error}"
        );
        std::fs::create_dir_all(root.path().join("cat")).expect("create");
        root.write("cat-notes.txt", b"");
        let message = load_image_folder(root.path(), &options(2, 2, 3))
            .expect_err("no images")
            .to_string();
        assert!(
            message.contains("no JPEG or PNG images") && message.contains("1 class sub-folders"),
            "{message}"
        );
        let error =
            load_image_folder(&root.path().join("absent"), &options(2, 2, 3)).expect_err("missing");
        assert!(
            matches!(error, DataError::MissingDirectory { .. }),
            "{error}"
        );
        let error = load_image_folder(root.path(), &options(0, 2, 3)).expect_err("zero height");
        assert!(matches!(
            error,
            DataError::InvalidArgument { name: "height", .. }
        ));
    }

    #[test]
    fn all_images_corrupt_and_skipped_is_still_an_error() {
        let root = TempDir::new("folder-all-corrupt");
        std::fs::create_dir_all(root.path().join("a")).expect("create");
        root.write("a/broken.png", b"nope");
        let skipping = ImageFolderOptions {
            skip_corrupt: true,
            ..options(2, 2, 3)
        };
        let error = load_image_folder(root.path(), &skipping).expect_err("nothing left");
        assert!(matches!(error, DataError::NoImages { .. }), "{error}");
    }
}
