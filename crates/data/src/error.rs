//! The one error type of krust-data: every variant names the file, directory or argument at fault.

use std::path::PathBuf;

/// Everything that can go wrong reading a dataset, planning batches or augmenting images.
///
/// Display is one line that names the path (or argument) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: corrupt gzip stream: {source}", path.display())]
    CorruptGzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: file is shorter than its IDX header ({needed} bytes needed, {found} found)", path.display())]
    ShortHeader {
        path: PathBuf,
        needed: usize,
        found: usize,
    },

    #[error("{}: not an IDX file: magic starts with {first:#04x} {second:#04x}, expected 0x00 0x00", path.display())]
    BadMagic {
        path: PathBuf,
        first: u8,
        second: u8,
    },

    #[error("{}: unsupported IDX type code {code:#04x} (only 0x08, unsigned byte, is supported)", path.display())]
    UnsupportedTypeCode { path: PathBuf, code: u8 },

    #[error("{}: IDX rank {rank} is not supported (expected 1 to 4)", path.display())]
    UnsupportedRank { path: PathBuf, rank: u8 },

    #[error("{}: IDX dims {dims:?} describe more than {limit} bytes of data", path.display())]
    TooLarge {
        path: PathBuf,
        dims: Vec<usize>,
        limit: usize,
    },

    #[error("{}: truncated: dims {dims:?} need {expected} data bytes, found {found}", path.display())]
    Truncated {
        path: PathBuf,
        dims: Vec<usize>,
        expected: usize,
        found: usize,
    },

    #[error("{}: trailing bytes: dims {dims:?} need {expected} data bytes, found {found}", path.display())]
    TrailingBytes {
        path: PathBuf,
        dims: Vec<usize>,
        expected: usize,
        found: u64,
    },

    #[error("{}: expected {what} (rank {expected_rank}), found dims {dims:?}", path.display())]
    WrongRank {
        path: PathBuf,
        what: &'static str,
        expected_rank: usize,
        dims: Vec<usize>,
    },

    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        images_path: PathBuf,
        labels_path: PathBuf,
        images: usize,
        labels: usize,
    },

    #[error("{}: label at index {index} is {value}, not below num_classes = {num_classes}", path.display())]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        value: u32,
        num_classes: usize,
    },

    #[error("data directory {} does not exist", dir.display())]
    MissingDirectory { dir: PathBuf },

    #[error("data directory {} is not a directory", dir.display())]
    NotADirectory { dir: PathBuf },

    #[error("data directory {} has no {file} (looked for {file}.gz and {file})", dir.display())]
    MissingFile { dir: PathBuf, file: &'static str },

    #[error("data directory {}: train images are {train_height}x{train_width} but test images are {test_height}x{test_width}", dir.display())]
    SplitShapeMismatch {
        dir: PathBuf,
        train_height: usize,
        train_width: usize,
        test_height: usize,
        test_width: usize,
    },

    #[error("{}: truncated: {found} bytes is not a whole number of {record_size}-byte records ({records} whole records = {} bytes, then {} bytes of a partial record)", path.display(), records * record_size, found - records * record_size)]
    TruncatedRecords {
        path: PathBuf,
        records: usize,
        record_size: usize,
        found: usize,
    },

    #[error("{}: holds no records", path.display())]
    NoRecords { path: PathBuf },

    #[error("data directory {} has no {file} (looked for {file} and {file}.gz in {} and in its sub-folder {subfolder}/)", dir.display(), dir.display())]
    MissingDatasetFile {
        dir: PathBuf,
        file: String,
        subfolder: &'static str,
    },

    #[error("{}: lists {found} class names, expected {expected}", path.display())]
    ClassNameCount {
        path: PathBuf,
        found: usize,
        expected: usize,
    },

    #[error("unknown class name '{name}' in {}; the classes are: {known}", dir.display())]
    UnknownClassFolder {
        dir: PathBuf,
        name: String,
        known: String,
    },

    #[error("{}: cannot decode image: {reason}{hint}", path.display())]
    CorruptImage {
        path: PathBuf,
        reason: String,
        hint: &'static str,
    },

    #[error("image folder {}: no JPEG or PNG images found ({class_folders} class sub-folders; expected one sub-folder per class holding .jpg, .jpeg or .png files)", dir.display())]
    NoImages { dir: PathBuf, class_folders: usize },

    #[error("image folder {}: {images} images of {height}x{width}x{channels} need {} MiB in memory, more than the {} MiB available; choose a smaller --image-size", dir.display(), needed / (1 << 20), available / (1 << 20))]
    OutOfMemory {
        dir: PathBuf,
        images: usize,
        height: usize,
        width: usize,
        channels: usize,
        needed: u64,
        available: u64,
    },

    #[error("{}: not a .npy or .npz file (it starts with {start:?}, expected \"\\x93NUMPY\" or a zip archive)", path.display())]
    NotNumpy { path: PathBuf, start: String },

    #[error("{array}: corrupt .npy data: {why}")]
    CorruptArray { array: String, why: String },

    #[error("{}: corrupt .npz archive: {why}", path.display())]
    CorruptArchive { path: PathBuf, why: String },

    #[error(
        "{array}: unsupported dtype {dtype} (expected a float32/float64, integer or bool array)"
    )]
    UnsupportedDtype { array: String, dtype: String },

    #[error("{}: no array named '{key}' (the archive holds: {available})", path.display())]
    MissingArrayKey {
        path: PathBuf,
        key: String,
        available: String,
    },

    #[error("{array}: {why}")]
    BadArray { array: String, why: String },

    #[error("x ({x_array}) has {x_count} samples but y ({y_array}) has {y_count}")]
    ArrayLengthMismatch {
        x_array: String,
        y_array: String,
        x_count: usize,
        y_count: usize,
    },

    #[error("invalid argument {name} = {value}: {reason}")]
    InvalidArgument {
        name: &'static str,
        value: usize,
        reason: &'static str,
    },

    #[error("{source_name}: {why}")]
    Inconsistent { source_name: String, why: String },

    #[error("unknown class name {name:?}; the classes are: {known}")]
    UnknownClass { name: String, known: String },

    #[error("invalid {argument}: {why}")]
    BadValue { argument: &'static str, why: String },

    #[error(
        "augmentation `{item}`: {reason} (valid items: {})",
        crate::augment::SPEC_SYNTAX
    )]
    AugmentationSpec { item: String, reason: String },

    #[error("augmentation `{augmentation}`: {reason}")]
    InvalidAugmentation {
        augmentation: String,
        reason: &'static str,
    },

    #[error("image says {height}x{width}x{channels} = {expected} values but holds {found}")]
    ImageSizeMismatch {
        height: usize,
        width: usize,
        channels: usize,
        expected: usize,
        found: usize,
    },

    #[error(
        "image is {height}x{width}x{channels}: augmenting needs at least one pixel and one channel"
    )]
    EmptyImage {
        height: usize,
        width: usize,
        channels: usize,
    },

    #[error("cannot crop {crop_height}x{crop_width} out of a {height}x{width} image")]
    CropTooLarge {
        crop_height: usize,
        crop_width: usize,
        height: usize,
        width: usize,
    },
}
