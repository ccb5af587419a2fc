//! TensorBoard event files written by krust itself (TFRecord framing around hand-encoded
//! `Event` protobufs) and Keras's `TensorBoard` callback that fills them while `fit` runs.
//!
//! Only the few protobuf fields scalars need are encoded, in field-number order and with
//! proto3's rule of leaving default values out, so the bytes are the same as TensorFlow's
//! and PyTorch's writers produce for the same event (pinned by
//! `fixtures/tensorboard/`, written by PyTorch's `SummaryWriter`).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::callbacks::{Callback, Control};
use crate::fit::Logs;
use crate::{Result, TrainError};

/// The version string TensorBoard expects in the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one table entry per byte value.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// The CRC-32C checksum TFRecord files use.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let crc = bytes.iter().fold(!0u32, |crc, &b| {
        CRC32C_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    });
    !crc
}

/// TFRecord's masked CRC: rotating and offsetting keeps a CRC of data that itself holds
/// CRCs from being trivially zero.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    crc32c(bytes).rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: length (u64 LE), masked CRC of the length, payload, masked CRC of payload.
pub fn tfrecord(payload: &[u8]) -> Vec<u8> {
    let length = (payload.len() as u64).to_le_bytes();
    let mut record = Vec::with_capacity(payload.len() + 16);
    record.extend_from_slice(&length);
    record.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    record.extend_from_slice(payload);
    record.extend_from_slice(&masked_crc32c(payload).to_le_bytes());
    record
}

/// Protobuf wire types used here.
const WIRE_VARINT: u64 = 0;
const WIRE_FIXED64: u64 = 1;
const WIRE_LENGTH_DELIMITED: u64 = 2;
const WIRE_FIXED32: u64 = 5;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u64) {
    put_varint(out, (field << 3) | wire_type);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, WIRE_LENGTH_DELIMITED);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `Event.wall_time` (1, double) and `Event.step` (2, int64), each left out when zero as
/// proto3 does.
fn event_header(wall_time: f64, step: i64) -> Vec<u8> {
    let mut event = Vec::new();
    if wall_time != 0.0 {
        put_key(&mut event, 1, WIRE_FIXED64);
        event.extend_from_slice(&wall_time.to_le_bytes());
    }
    if step != 0 {
        put_key(&mut event, 2, WIRE_VARINT);
        // int64 is encoded as its two's-complement bit pattern.
        put_varint(&mut event, step as u64);
    }
    event
}

/// The `Event` protobuf every file starts with: `file_version` (3) = "brain.Event:2".
pub fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut event = event_header(wall_time, 0);
    put_bytes(&mut event, 3, FILE_VERSION.as_bytes());
    event
}

/// An `Event` protobuf holding one scalar: `summary` (5) = Summary { value (1) = Value {
/// tag (1), simple_value (2, float) } }.
pub fn scalar_event(wall_time: f64, step: i64, tag: &str, value: f32) -> Vec<u8> {
    let mut summary_value = Vec::new();
    put_bytes(&mut summary_value, 1, tag.as_bytes());
    // simple_value sits in a oneof, so proto3 writes it even when it is 0.
    put_key(&mut summary_value, 2, WIRE_FIXED32);
    summary_value.extend_from_slice(&value.to_le_bytes());
    let mut summary = Vec::new();
    put_bytes(&mut summary, 1, &summary_value);
    let mut event = event_header(wall_time, step);
    put_bytes(&mut event, 5, &summary);
    event
}

/// Seconds since the Unix epoch, as TensorBoard's `wall_time`.
fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// This machine's name for event file names (TensorFlow puts `socket.gethostname()` there).
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| {
            if c == '/' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

/// Tells apart the event files one process opens within the same second.
static FILES_OPENED: AtomicUsize = AtomicUsize::new(0);

/// An open TensorBoard event file. Every event is written with one `write` call, so
/// TensorBoard sees it as soon as it is written and curves update live during training.
/// The file is a log that grows while training runs, so unlike krust's other outputs it is
/// appended to rather than written atomically; TensorBoard skips a torn last record.
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

impl EventWriter {
    /// Opens a new `events.out.tfevents.<unix secs>.<hostname>.<pid>.<n>` file in `dir`
    /// (created if missing; files already there are left alone, and TensorBoard merges
    /// them) and writes the file-version event.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| event_file_error(dir, e))?;
        let wall_time = now_seconds();
        let (host, pid) = (hostname(), std::process::id());
        loop {
            let n = FILES_OPENED.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                "events.out.tfevents.{}.{host}.{pid}.{n}",
                wall_time as u64
            ));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    let mut writer = Self { file, path };
                    writer.write_event(&file_version_event(wall_time))?;
                    return Ok(writer);
                }
                // Only another writer's file of the same name: take the next number.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(event_file_error(&path, e)),
            }
        }
    }

    /// Where the events go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `tag` = `value` at `step`, stamped with the current time.
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<()> {
        self.add_scalar_at(now_seconds(), tag, value, step)
    }

    /// Writes `tag` = `value` at `step` with a given wall time. TensorBoard stores scalars
    /// as float32, so `value` is rounded to it.
    pub fn add_scalar_at(
        &mut self,
        wall_time: f64,
        tag: &str,
        value: f64,
        step: i64,
    ) -> Result<()> {
        self.write_event(&scalar_event(wall_time, step, tag, value as f32))
    }

    fn write_event(&mut self, event: &[u8]) -> Result<()> {
        self.file
            .write_all(&tfrecord(event))
            .and_then(|()| self.file.flush())
            .map_err(|e| event_file_error(&self.path, e))
    }
}

fn event_file_error(path: &Path, source: std::io::Error) -> TrainError {
    TrainError::File {
        path: path.to_path_buf(),
        why: format!("cannot write TensorBoard events: {source}"),
    }
}

/// Keras's `TensorBoard` callback: epoch logs go to `log_dir/train/` as `epoch_<name>` and
/// `val_` logs to `log_dir/validation/` as `epoch_<name>` without the prefix, at step = the
/// 0-based epoch, so a resumed run (`initial_epoch` > 0) continues the curves. A run that
/// reuses a log directory adds new event files beside the old ones.
///
/// With `update_freq(n)`, n > 0, `batch_loss` is also written every n batches at step = the
/// number of batches trained so far (Keras's global batch counter), the batch's own loss
/// (Keras logs the epoch's running mean there). The counter restarts at 0 with every `fit`
/// unless `steps_per_epoch` is given, in which case it counts from
/// `initial_epoch * steps_per_epoch` and resumed runs continue it too.
pub struct TensorBoard {
    log_dir: PathBuf,
    update_freq: usize,
    steps_per_epoch: Option<usize>,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    batches_done: u64,
}

impl TensorBoard {
    /// Logs every epoch (Keras's `update_freq="epoch"`) into `log_dir`.
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        Self {
            log_dir: log_dir.into(),
            update_freq: 0,
            steps_per_epoch: None,
            train: None,
            validation: None,
            batches_done: 0,
        }
    }

    /// Also write `batch_loss` every `batches` batches (0, the default, writes epochs only).
    pub fn update_freq(mut self, batches: usize) -> Self {
        self.update_freq = batches;
        self
    }

    /// The number of batches in an epoch, so the batch step of a resumed run continues from
    /// `initial_epoch * steps` (default: unknown, the count starts at 0 each `fit`).
    pub fn steps_per_epoch(mut self, steps: usize) -> Self {
        self.steps_per_epoch = Some(steps);
        self
    }

    /// The writer in `slot`, opened in `dir` on first use.
    fn writer<'a>(slot: &'a mut Option<EventWriter>, dir: &Path) -> Result<&'a mut EventWriter> {
        let writer = match slot.take() {
            Some(writer) => writer,
            None => EventWriter::create(dir)?,
        };
        Ok(slot.insert(writer))
    }
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, _control: &mut Control) -> Result<()> {
        self.batches_done = 0;
        Self::writer(&mut self.train, &self.log_dir.join("train"))?;
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _control: &mut Control) -> Result<()> {
        if let Some(steps) = self.steps_per_epoch {
            self.batches_done = (epoch * steps) as u64;
        }
        Ok(())
    }

    fn on_batch_end(&mut self, _batch: usize, loss: f32, _control: &mut Control) -> Result<()> {
        self.batches_done += 1;
        if self.update_freq > 0 && self.batches_done.is_multiple_of(self.update_freq as u64) {
            let step = self.batches_done as i64;
            Self::writer(&mut self.train, &self.log_dir.join("train"))?.add_scalar(
                "batch_loss",
                f64::from(loss),
                step,
            )?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _control: &mut Control) -> Result<()> {
        for (name, value) in &logs.values {
            let (slot, subdir, name) = match name.strip_prefix("val_") {
                Some(name) => (&mut self.validation, "validation", name),
                None => (&mut self.train, "train", name.as_str()),
            };
            Self::writer(slot, &self.log_dir.join(subdir))?.add_scalar(
                &format!("epoch_{name}"),
                *value,
                epoch as i64,
            )?;
        }
        Ok(())
    }

    /// Closes the files, as Keras does; another `fit` with this callback opens new ones.
    fn on_train_end(&mut self, _control: &mut Control) -> Result<()> {
        self.train = None;
        self.validation = None;
        Ok(())
    }
}
