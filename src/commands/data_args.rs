//! The dataset options `krust train` and `krust evaluate` share, and loading what they name.

use clap::{Args, ValueEnum};
use krust::data::arrays::{load_arrays, load_npz_split};
use krust::data::cifar::{load_cifar10, load_cifar100, Cifar100Label};
use krust::data::fashion_mnist::{load_fashion_mnist, shipped_subset_dir, SYSTEM_DIR};
use krust::data::image_folder::{
    folder_image_format, load_image_folder, load_image_folder_split, ImageFolderOptions,
};
use krust::data::{Dataset, TrainTest};
use krust::nn::saving::{InputSpec, ValueScaling};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatasetKind {
    /// Decide from what `--data` holds (IDX files, CIFAR batches, train/ and test/ image
    /// folders, an .npz file); Fashion-MNIST when `--data` is not given.
    Auto,
    /// Fashion-MNIST or MNIST IDX files (gzipped or not).
    Idx,
    Cifar10,
    /// CIFAR-100 with its 100 fine labels.
    Cifar100,
    /// CIFAR-100 with its 20 coarse labels.
    Cifar100Coarse,
    /// Image folders: `DIR/train/<class>/*.jpg|png` and `DIR/test/<class>/...`.
    Folder,
    /// An .npz archive with x_train, y_train, x_test, y_test (like keras.datasets files).
    Npz,
}

#[derive(Args, Clone)]
pub struct DataArgs {
    /// Dataset location: a directory (IDX, CIFAR or image folders) or an .npz file. Default:
    /// Fashion-MNIST, the system copy if installed, else the subset shipped with krust; with
    /// `--dataset cifar10`/`cifar100`, ./cifar-10-batches-bin or ./cifar-100-binary.
    #[arg(long, alias = "data-dir")]
    pub data: Option<PathBuf>,
    /// What `--data` holds.
    #[arg(long, value_enum, default_value = "auto")]
    pub dataset: DatasetKind,
    /// Training inputs as .npy (with --y); test data from --test-x/--test-y.
    #[arg(long, requires = "y", conflicts_with = "data")]
    pub x: Option<PathBuf>,
    /// Training targets as .npy: integer class labels, or float values for regression.
    #[arg(long, requires = "x")]
    pub y: Option<PathBuf>,
    #[arg(long, requires_all = ["test_y", "x"])]
    pub test_x: Option<PathBuf>,
    #[arg(long, requires = "test_x")]
    pub test_y: Option<PathBuf>,
    /// Image folders: resize every photo to HEIGHTxWIDTH on load. Default: the images' own
    /// size when they all share one, else 64x64 (said in one line); for `krust evaluate`, the
    /// size the model was trained at.
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<(usize, usize)>,
    /// Image folders: read photos as one gray channel. Default: gray when every image is
    /// grayscale, else RGB; for `krust evaluate`, the model's colour mode.
    #[arg(long, conflicts_with = "rgb")]
    pub grayscale: bool,
    /// Image folders: read photos as RGB even when they are all grayscale.
    #[arg(long)]
    pub rgb: bool,
    /// Image folders: skip images that cannot be decoded (each is reported) instead of
    /// stopping at the first.
    #[arg(long)]
    pub skip_corrupt: bool,
}

/// The image size an image folder gets when its images differ in size and `--image-size` is
/// not given.
pub const DEFAULT_IMAGE_SIZE: (usize, usize) = (64, 64);

/// The largest side `--image-size` accepts: a 4096x4096 RGB image is already 192 MiB of
/// float32 per photo.
pub const MAX_IMAGE_SIDE: usize = 4096;

/// Parses "HxW" (or a single "S" for SxS), each side from 1 to `MAX_IMAGE_SIDE`.
pub fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let parse = |s: &str| {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| (1..=MAX_IMAGE_SIDE).contains(&n))
            .ok_or_else(|| {
                format!("{text:?} is not HEIGHTxWIDTH with sides from 1 to {MAX_IMAGE_SIDE}")
            })
    };
    match text.split_once(['x', 'X']) {
        Some((h, w)) => Ok((parse(h)?, parse(w)?)),
        None => {
            let s = parse(text)?;
            Ok((s, s))
        }
    }
}

/// The training and test data the options name, with a one-line description.
pub fn load(args: &DataArgs, seed: u64) -> Result<(TrainTest, String), Box<dyn std::error::Error>> {
    load_for(args, seed, None)
}

/// What a model trained on `data` records about its inputs: the sample shape, images' size
/// and colour mode, byte scaling, and the class names of a classifier.
pub fn input_spec(data: &TrainTest) -> InputSpec {
    let scaling = if data.train.is_bytes() {
        ValueScaling::DivideBy255
    } else {
        ValueScaling::None
    };
    InputSpec::new(
        data.train.sample_shape(),
        scaling,
        data.train.class_names().to_vec(),
    )
}

/// [`load`], with image folders read as `model` (the input description of the model the data
/// is for, stored in `model_path`) was trained: its size, colour mode and class order.
fn load_for(
    args: &DataArgs,
    seed: u64,
    model: Option<(&InputSpec, &Path)>,
) -> Result<(TrainTest, String), Box<dyn std::error::Error>> {
    if let (Some(x), Some(y)) = (&args.x, &args.y) {
        let train = load_arrays(x, Some(y), None, None)?;
        let test = match (&args.test_x, &args.test_y) {
            (Some(tx), Some(ty)) => load_arrays(tx, Some(ty), None, None)?,
            _ => {
                return Err(
                    "--x/--y need test data too: give --test-x and --test-y (krust reports test metrics)"
                        .into(),
                )
            }
        };
        let what = format!("arrays {} / {}", x.display(), y.display());
        return Ok((TrainTest { train, test }, what));
    }
    let default_path;
    let path = match (&args.data, args.dataset) {
        (Some(path), _) => path,
        (None, DatasetKind::Auto | DatasetKind::Idx) => {
            let (dir, what) = default_fashion_mnist();
            return Ok((load_fashion_mnist(&dir)?, what));
        }
        (None, kind) => {
            default_path = default_location(kind)?;
            &default_path
        }
    };
    let kind = match args.dataset {
        DatasetKind::Auto => detect(path)?,
        kind => kind,
    };
    let what = format!("{} from {}", kind_name(kind), path.display());
    let data = match kind {
        DatasetKind::Auto | DatasetKind::Idx => load_fashion_mnist(path)?,
        DatasetKind::Cifar10 => load_cifar10(path)?,
        DatasetKind::Cifar100 => load_cifar100(path, Cifar100Label::Fine)?,
        DatasetKind::Cifar100Coarse => load_cifar100(path, Cifar100Label::Coarse)?,
        DatasetKind::Npz => load_npz_split(path)?,
        DatasetKind::Folder => {
            let folder_options = folder_options(args, path, model)?;
            let (data, skipped) = if path.join("train").is_dir() {
                load_image_folder_split(path, &folder_options)?
            } else {
                // One folder: hold out a seeded 20% as the test set.
                let (all, skipped) = load_image_folder(path, &folder_options)?;
                (split_shuffled(&all, 0.2, seed)?, skipped)
            };
            for file in &skipped {
                eprintln!("warning: skipped corrupt image {}", file.display());
            }
            data
        }
    };
    Ok((data, what))
}

/// Loads the test split only, for `krust evaluate`; image folders are read as `model` (the
/// input description stored in the model file `model_path`) says, when it has one.
pub fn load_test(
    args: &DataArgs,
    model: Option<(&InputSpec, &Path)>,
) -> Result<(Dataset, String), Box<dyn std::error::Error>> {
    if let (Some(x), Some(y)) = (&args.test_x, &args.test_y) {
        let what = format!("arrays {} / {}", x.display(), y.display());
        return Ok((load_arrays(x, Some(y), None, None)?, what));
    }
    let (data, what) = load_for(args, 0, model)?;
    Ok((data.test, format!("the test split of {what}")))
}

/// How an image folder at `path` is read: the flags; else the model's stored size, colour
/// mode and classes (a flag that contradicts them is an error); else the images' own size
/// and colour mode when they share them, `DEFAULT_IMAGE_SIZE` in RGB otherwise.
fn folder_options(
    args: &DataArgs,
    path: &Path,
    model: Option<(&InputSpec, &Path)>,
) -> Result<ImageFolderOptions, Box<dyn std::error::Error>> {
    let flag_channels = match (args.grayscale, args.rgb) {
        (true, _) => Some(1),
        (_, true) => Some(3),
        _ => None,
    };
    let mut options = ImageFolderOptions {
        skip_corrupt: args.skip_corrupt,
        ..ImageFolderOptions::default()
    };
    if let Some((spec, model_path)) = model {
        if let Some((height, width, channels)) = spec.image_dims() {
            let model = model_path.display();
            if let Some((h, w)) = args.image_size.filter(|&size| size != (height, width)) {
                return Err(format!(
                    "--image-size {h}x{w} contradicts {model}, which was trained on {height}x{width} images (leave --image-size out to use that)"
                )
                .into());
            }
            if let Some(c) = flag_channels.filter(|&c| c != channels) {
                let (flag, mode) = match c {
                    1 => ("--grayscale", "RGB"),
                    _ => ("--rgb", "grayscale"),
                };
                return Err(format!(
                    "{flag} contradicts {model}, which was trained on {mode} images (leave {flag} out to use that)"
                )
                .into());
            }
            options.height = height;
            options.width = width;
            options.channels = channels;
            if !spec.class_names.is_empty() {
                options.class_names = Some(spec.class_names.clone());
            }
            return Ok(options);
        }
    }
    let detected = match (args.image_size, flag_channels) {
        (Some(_), Some(_)) => None,
        _ => Some(folder_image_format(path)?),
    };
    let (height, width) = match (args.image_size, &detected) {
        (Some(size), _) => size,
        (None, Some(format)) => match format.size {
            Some((h, w)) if h <= MAX_IMAGE_SIDE && w <= MAX_IMAGE_SIDE => (h, w),
            // No readable image: the loader says so, naming the folder.
            None if format.images == 0 => DEFAULT_IMAGE_SIZE,
            own => {
                let (h, w) = DEFAULT_IMAGE_SIZE;
                let why = match own {
                    Some((oh, ow)) => format!("are {oh}x{ow}, over the {MAX_IMAGE_SIDE} limit"),
                    None => format!("have {} different sizes", format.distinct_sizes),
                };
                eprintln!(
                    "note: the images in {} {why}; resizing all to {h}x{w} (--image-size HxW chooses)",
                    path.display()
                );
                (h, w)
            }
        },
        (None, None) => DEFAULT_IMAGE_SIZE,
    };
    options.height = height;
    options.width = width;
    options.channels = flag_channels
        .or(detected.map(|format| format.channels))
        .unwrap_or(3);
    Ok(options)
}

fn kind_name(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Auto | DatasetKind::Idx => "IDX images",
        DatasetKind::Cifar10 => "CIFAR-10",
        DatasetKind::Cifar100 => "CIFAR-100 (fine labels)",
        DatasetKind::Cifar100Coarse => "CIFAR-100 (coarse labels)",
        DatasetKind::Folder => "image folders",
        DatasetKind::Npz => "an .npz archive",
    }
}

/// Where `--dataset KIND` without `--data` looks: the folder the official CIFAR archive
/// extracts to, in the current directory. Folders and .npz archives have no default place.
fn default_location(kind: DatasetKind) -> Result<PathBuf, String> {
    let flag = kind
        .to_possible_value()
        .map_or(String::new(), |v| v.get_name().to_string());
    let dir = match kind {
        DatasetKind::Cifar10 => "cifar-10-batches-bin",
        DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse => "cifar-100-binary",
        _ => {
            return Err(format!(
                "--dataset {flag} needs --data: {} have no default location",
                kind_name(kind)
            ))
        }
    };
    let path = PathBuf::from(dir);
    if path.is_dir() {
        return Ok(path);
    }
    let here = std::env::current_dir().map_or_else(|_| ".".into(), |d| d.display().to_string());
    Err(format!(
        "--dataset {flag} without --data: krust looked for {} in {here}/{dir} (where the official binary archive extracts) and found nothing; give --data DIR",
        kind_name(kind)
    ))
}

/// Fashion-MNIST: the system copy if installed, else the shipped subset.
fn default_fashion_mnist() -> (PathBuf, String) {
    if Path::new(SYSTEM_DIR).is_dir() {
        return (
            PathBuf::from(SYSTEM_DIR),
            format!("the full Fashion-MNIST installed at {SYSTEM_DIR}"),
        );
    }
    let dir = shipped_subset_dir();
    let dir = dir.canonicalize().unwrap_or(dir);
    let what = format!(
        "the Fashion-MNIST subset shipped with krust ({}); `apt-get install dataset-fashion-mnist` for the full set",
        dir.display()
    );
    (dir, what)
}

/// Guesses the dataset kind from the files at `path`.
fn detect(path: &Path) -> Result<DatasetKind, String> {
    if path.is_file() {
        return match path.extension().and_then(|e| e.to_str()) {
            Some("npz") => Ok(DatasetKind::Npz),
            _ => Err(format!(
                "--data {}: a file must be an .npz archive (for .npy arrays use --x/--y)",
                path.display()
            )),
        };
    }
    if !path.is_dir() {
        return Err(format!(
            "--data {}: no such file or directory",
            path.display()
        ));
    }
    let has = |name: &str| path.join(name).exists() || path.join(format!("{name}.gz")).exists();
    let kind = if has("train-images-idx3-ubyte") {
        DatasetKind::Idx
    } else if has("data_batch_1.bin") || path.join("cifar-10-batches-bin").is_dir() {
        DatasetKind::Cifar10
    } else if has("train.bin") || path.join("cifar-100-binary").is_dir() {
        DatasetKind::Cifar100
    } else {
        DatasetKind::Folder
    };
    Ok(kind)
}

/// A seeded shuffled split into train and test.
pub fn split_shuffled(
    all: &Dataset,
    test_fraction: f64,
    seed: u64,
) -> Result<TrainTest, Box<dyn std::error::Error>> {
    let order = krust::data::batches::epoch_permutation(all.len(), seed, usize::MAX);
    let test_count = ((all.len() as f64) * test_fraction).round() as usize;
    if test_count == 0 || test_count >= all.len() {
        return Err(format!(
            "{} images are too few to hold out {:.0}% as a test set",
            all.len(),
            test_fraction * 100.0
        )
        .into());
    }
    Ok(TrainTest {
        test: all.subset(&order[..test_count]),
        train: all.subset(&order[test_count..]),
    })
}
