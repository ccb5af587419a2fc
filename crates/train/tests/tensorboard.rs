//! TensorBoard event files: a small reader here (TFRecord framing with both CRCs checked,
//! then the protobuf fields of `Event`) decodes the file PyTorch's `SummaryWriter` wrote into
//! `fixtures/tensorboard/` (by `tools/make_tensorboard_fixture.py`; versions in its
//! `scalars.json`), krust's writer must re-encode those events byte for byte, and a real `fit`
//! run with the `TensorBoard` callback must leave Keras's tags and steps.

use std::path::{Path, PathBuf};

use krust_data::{Dataset, Samples, Targets};
use krust_nn::layers::{Dense, Input};
use krust_nn::losses::SparseCategoricalCrossentropy;
use krust_nn::optimizers::Sgd;
use krust_nn::Sequential;
use krust_train::tensorboard::{crc32c, file_version_event, masked_crc32c, scalar_event, tfrecord};
use krust_train::{fit, EventWriter, FitConfig, TensorBoard};

/// One protobuf field: its number, its value, and the bytes it took (key included).
struct Field<'a> {
    number: u64,
    value: FieldValue<'a>,
    raw: &'a [u8],
}

enum FieldValue<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Fixed32([u8; 4]),
    Bytes(&'a [u8]),
}

fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
    }
    panic!("varint longer than 10 bytes");
}

fn fields(message: &[u8]) -> Vec<Field<'_>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < message.len() {
        let start = at;
        let key = read_varint(message, &mut at);
        let value = match key & 7 {
            0 => FieldValue::Varint(read_varint(message, &mut at)),
            1 => {
                at += 8;
                FieldValue::Fixed64(message[at - 8..at].try_into().expect("8 bytes"))
            }
            2 => {
                let len = read_varint(message, &mut at) as usize;
                at += len;
                FieldValue::Bytes(&message[at - len..at])
            }
            5 => {
                at += 4;
                FieldValue::Fixed32(message[at - 4..at].try_into().expect("4 bytes"))
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push(Field {
            number: key >> 3,
            value,
            raw: &message[start..at],
        });
    }
    out
}

/// The TFRecords of an event file, checking the length's and the payload's masked CRCs.
fn records(file: &[u8]) -> Vec<&[u8]> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < file.len() {
        let length_bytes = &file[at..at + 8];
        let length = u64::from_le_bytes(length_bytes.try_into().expect("8 bytes")) as usize;
        let length_crc = u32::from_le_bytes(file[at + 8..at + 12].try_into().expect("4"));
        assert_eq!(
            length_crc,
            masked_crc32c(length_bytes),
            "length CRC at {at}"
        );
        let payload = &file[at + 12..at + 12 + length];
        let payload_crc = u32::from_le_bytes(
            file[at + 12 + length..at + 16 + length]
                .try_into()
                .expect("4"),
        );
        assert_eq!(payload_crc, masked_crc32c(payload), "payload CRC at {at}");
        out.push(&file[at..at + 16 + length]);
        at += 16 + length;
    }
    out
}

/// What an `Event` says, as far as scalars go.
#[derive(Debug, PartialEq)]
struct Event {
    wall_time: f64,
    step: i64,
    file_version: Option<String>,
    scalars: Vec<(String, f32)>,
}

fn decode_event(payload: &[u8]) -> Event {
    let mut event = Event {
        wall_time: 0.0,
        step: 0,
        file_version: None,
        scalars: Vec::new(),
    };
    for field in fields(payload) {
        match (field.number, field.value) {
            (1, FieldValue::Fixed64(b)) => event.wall_time = f64::from_le_bytes(b),
            (2, FieldValue::Varint(v)) => event.step = v as i64,
            (3, FieldValue::Bytes(b)) => {
                event.file_version = Some(String::from_utf8(b.to_vec()).expect("utf-8"))
            }
            (5, FieldValue::Bytes(summary)) => {
                for value in fields(summary) {
                    let FieldValue::Bytes(value) = value.value else {
                        panic!("Summary.value is a message");
                    };
                    let (mut tag, mut simple) = (String::new(), f32::NAN);
                    for part in fields(value) {
                        match (part.number, part.value) {
                            (1, FieldValue::Bytes(b)) => {
                                tag = String::from_utf8(b.to_vec()).expect("utf-8")
                            }
                            (2, FieldValue::Fixed32(b)) => simple = f32::from_le_bytes(b),
                            _ => {}
                        }
                    }
                    event.scalars.push((tag, simple));
                }
            }
            // Other fields (PyTorch's source_metadata, 10) say nothing about scalars.
            _ => {}
        }
    }
    event
}

fn payload(record: &[u8]) -> &[u8] {
    &record[12..record.len() - 4]
}

fn read_events(path: &Path) -> Vec<Event> {
    let bytes = std::fs::read(path).expect("event file");
    records(&bytes)
        .into_iter()
        .map(|r| decode_event(payload(r)))
        .collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tensorboard")
        .join(name)
}

/// The events `tools/make_tensorboard_fixture.py` asked PyTorch to write.
fn fixture_events() -> Vec<(f64, i64, String, f32)> {
    let text = std::fs::read_to_string(fixture("scalars.json")).expect("scalars.json");
    let meta: serde_json::Value = serde_json::from_str(&text).expect("json");
    meta["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["wall_time"].as_f64().expect("wall_time"),
                e["step"].as_i64().expect("step"),
                e["tag"].as_str().expect("tag").to_string(),
                e["value"].as_f64().expect("value") as f32,
            )
        })
        .collect()
}

#[test]
fn crc32c_known_answer() {
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(b""), 0);
}

#[test]
fn reader_decodes_the_file_pytorch_wrote() {
    let events = read_events(&fixture("events.out.tfevents.pytorch"));
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    assert!(events[0].wall_time > 1.6e9, "a real time stamp");
    let scalars: Vec<_> = events[1..]
        .iter()
        .map(|e| {
            assert_eq!(e.scalars.len(), 1);
            let (tag, value) = e.scalars[0].clone();
            (e.wall_time, e.step, tag, value)
        })
        .collect();
    assert_eq!(scalars, fixture_events());
}

#[test]
fn writer_encodes_pytorchs_records_byte_for_byte() {
    let bytes = std::fs::read(fixture("events.out.tfevents.pytorch")).expect("fixture");
    let records = records(&bytes);
    let expected = fixture_events();
    assert_eq!(records.len(), expected.len() + 1);
    for (record, (wall_time, step, tag, value)) in records[1..].iter().zip(&expected) {
        assert_eq!(
            tfrecord(&scalar_event(*wall_time, *step, tag, *value)),
            *record,
            "{tag} at step {step}"
        );
    }
    // PyTorch's first event also names its writer (source_metadata, field 10); krust's
    // carries the same wall_time and file_version and nothing else.
    let first = payload(records[0]);
    let without_source: Vec<u8> = fields(first)
        .iter()
        .filter(|f| f.number != 10)
        .flat_map(|f| f.raw.iter().copied())
        .collect();
    let wall_time = decode_event(first).wall_time;
    assert_eq!(
        tfrecord(&file_version_event(wall_time)),
        tfrecord(&without_source)
    );
}

fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krust-tensorboard-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn event_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .collect()
}

#[test]
fn event_writer_names_files_like_tensorflow_and_starts_with_the_version() {
    let dir = scratch_dir("writer");
    let mut writer = EventWriter::create(&dir).expect("create");
    writer.add_scalar("loss", 0.5, 3).expect("scalar");
    let name = writer.path().file_name().expect("name").to_string_lossy();
    let parts: Vec<&str> = name.split('.').collect();
    assert_eq!(&parts[..3], ["events", "out", "tfevents"]);
    assert!(parts[3].parse::<u64>().expect("unix seconds") > 1_600_000_000);
    assert_eq!(parts[parts.len() - 2], std::process::id().to_string());
    // Flushed at once: readable while the writer is still open.
    let events = read_events(writer.path());
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    assert_eq!(events[1].step, 3);
    assert_eq!(events[1].scalars, [("loss".to_string(), 0.5)]);
    // A second writer in the same directory opens a file of its own.
    let second = EventWriter::create(&dir).expect("second");
    assert_ne!(second.path(), writer.path());
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn event_writer_names_the_directory_it_cannot_create() {
    let dir = scratch_dir("blocked");
    std::fs::write(&dir, b"a file, not a directory").expect("file");
    let error = EventWriter::create(&dir.join("train"))
        .err()
        .expect("fails");
    assert!(
        error.to_string().contains(&*dir.to_string_lossy()),
        "{error}"
    );
    std::fs::remove_file(&dir).expect("clean up");
}

/// 24 points of two classes on a line, as floats.
fn points() -> Dataset {
    let x: Vec<f32> = (0..48).map(|i| (i as f32 / 47.0) - 0.5).collect();
    let labels = (0..24).map(|i| u32::from(i >= 12)).collect();
    let targets = Targets::Classes {
        labels,
        num_classes: 2,
    };
    Dataset::new("points", Samples::Floats(x), vec![2], targets, vec![]).expect("dataset")
}

/// Trains epochs `initial_epoch..epochs` of a 2 → 2 Dense model on 16 training points in
/// batches of 4 (4 steps an epoch), with 8 validation points and TensorBoard into `dir`.
fn train_with_tensorboard(dir: &Path, initial_epoch: usize, epochs: usize) -> krust_train::History {
    let (train, validation) = points().split_validation(1.0 / 3.0).expect("split");
    assert_eq!(train.len(), 16);
    let mut model = Sequential::new();
    model.add(Input::new(&[2])).expect("input");
    model.add(Dense::new(2)).expect("dense");
    let cfg = FitConfig {
        epochs,
        initial_epoch,
        batch_size: 4,
        shuffle: false,
        validation: Some(&validation),
        ..FitConfig::default()
    };
    let mut tensorboard = TensorBoard::new(dir).update_freq(3).steps_per_epoch(4);
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    fit(
        &model,
        &mut sgd,
        &loss,
        &train,
        &cfg,
        &mut [&mut tensorboard],
    )
    .expect("fit")
}

/// (tag, step, value) of every scalar in a run directory's event files, in the order they
/// were written (file names do not sort by it: their counters are shared across threads).
fn scalars(dir: &Path) -> Vec<(String, i64, f32)> {
    let mut events: Vec<Event> = event_files(dir)
        .iter()
        .flat_map(|path| read_events(path))
        .collect();
    events.sort_by(|a, b| a.wall_time.total_cmp(&b.wall_time));
    events
        .into_iter()
        .flat_map(|e| e.scalars.into_iter().map(move |(t, v)| (t, e.step, v)))
        .collect()
}

fn steps_of(scalars: &[(String, i64, f32)], tag: &str) -> Vec<i64> {
    scalars
        .iter()
        .filter(|(t, _, _)| t == tag)
        .map(|(_, s, _)| *s)
        .collect()
}

#[test]
fn fit_writes_keras_tags_and_steps_and_a_resumed_run_continues_them() {
    let dir = scratch_dir("fit");
    let history = train_with_tensorboard(&dir, 0, 2);
    let train = scalars(&dir.join("train"));
    let validation = scalars(&dir.join("validation"));
    for (epoch, stats) in history.epochs.iter().enumerate() {
        for (name, value) in &stats.logs.values {
            let (logged, tag) = match name.strip_prefix("val_") {
                Some(name) => (&validation, format!("epoch_{name}")),
                None => (&train, format!("epoch_{name}")),
            };
            let found = logged
                .iter()
                .find(|(t, s, _)| *t == tag && *s == epoch as i64)
                .unwrap_or_else(|| panic!("{tag} at step {epoch} missing for {name}"));
            assert_eq!(found.2, *value as f32, "{name}");
        }
    }
    assert_eq!(steps_of(&train, "epoch_learning_rate"), [0, 1]);
    assert_eq!(steps_of(&validation, "epoch_accuracy"), [0, 1]);
    assert!(steps_of(&validation, "epoch_learning_rate").is_empty());
    // 8 batches, every third one: steps 3 and 6 (batches trained so far).
    assert_eq!(steps_of(&train, "batch_loss"), [3, 6]);

    // Resume at epoch 2 into the same directory: a new file beside the old one, epoch
    // steps from 2 and batch steps from 2 * 4.
    train_with_tensorboard(&dir, 2, 3);
    assert_eq!(event_files(&dir.join("train")).len(), 2);
    assert_eq!(event_files(&dir.join("validation")).len(), 2);
    let train = scalars(&dir.join("train"));
    assert_eq!(steps_of(&train, "epoch_loss"), [0, 1, 2]);
    assert_eq!(steps_of(&train, "batch_loss"), [3, 6, 9, 12]);
    assert_eq!(
        steps_of(&scalars(&dir.join("validation")), "epoch_loss"),
        [0, 1, 2]
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}
