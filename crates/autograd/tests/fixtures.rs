//! Forward and backward passes of conv2d, max/avg pooling, dense and softmax cross-entropy
//! against the PyTorch reference arrays in `fixtures/` (written by tools/make_fixtures.py, which
//! computes in float64 and stores float32; see fixtures/README.md). Each case runs the krust op
//! through `Var` on the stored inputs, compares `y`, then calls `backward_with(dy)` (or
//! `backward()` for the loss) and compares `dx`, `dw` and `db`. Per-case parameters are read
//! from fixtures/meta.json, so they cannot drift from what the script used.
//!
//! Tolerance: max |krust - reference| <= 1e-5 * max(1, max |reference|).

use krust_autograd::{Tensor, Var};
use krust_tensor::{Conv2dSpec, Padding, Pool2dSpec};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Allowed error relative to the reference's largest magnitude (at least 1).
const RELATIVE_TOLERANCE: f32 = 1e-5;

/// Every case directory under fixtures/, each with a `<case>_matches_pytorch` test below.
const CASES: &[&str] = &[
    "avgpool_same_pool2_stride1",
    "avgpool_same_stride2",
    "avgpool_valid_pool3_stride2",
    "conv2d_dilation2",
    "conv2d_dilation2_same",
    "conv2d_same_stride2",
    "conv2d_same_stride2_k4",
    "conv2d_valid",
    "dense",
    "maxpool_same_stride2",
    "maxpool_valid_pool2",
    "maxpool_valid_pool3_stride2",
    "softmax_cross_entropy",
];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

/// Just enough JSON for meta.json: objects keep their key order, numbers are f64.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut parser = JsonParser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value();
        parser.skip_whitespace();
        assert_eq!(
            parser.at,
            parser.bytes.len(),
            "trailing characters after the JSON value"
        );
        value
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn field(&self, key: &str) -> &Json {
        self.get(key)
            .unwrap_or_else(|| panic!("meta.json: missing key {key:?}"))
    }

    fn as_str(&self) -> &str {
        match self {
            Json::String(s) => s,
            other => panic!("meta.json: expected a string, got {other:?}"),
        }
    }

    fn as_usizes(&self) -> Vec<usize> {
        match self {
            Json::Array(items) => items
                .iter()
                .map(|v| match v {
                    Json::Number(n) if *n >= 0.0 && n.fract() == 0.0 => *n as usize,
                    other => panic!("meta.json: expected a non-negative integer, got {other:?}"),
                })
                .collect(),
            other => panic!("meta.json: expected an array, got {other:?}"),
        }
    }

    fn as_pair(&self) -> (usize, usize) {
        match self.as_usizes()[..] {
            [a, b] => (a, b),
            ref other => panic!("meta.json: expected two integers, got {other:?}"),
        }
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn skip_whitespace(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) {
        self.skip_whitespace();
        assert_eq!(
            self.bytes.get(self.at),
            Some(&byte),
            "meta.json: expected {:?} at byte {}",
            byte as char,
            self.at
        );
        self.at += 1;
    }

    fn value(&mut self) -> Json {
        self.skip_whitespace();
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                while !self.eat_closing(b'}') {
                    let key = self.string();
                    self.expect(b':');
                    fields.push((key, self.value()));
                }
                Json::Object(fields)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                while !self.eat_closing(b']') {
                    items.push(self.value());
                }
                Json::Array(items)
            }
            Some(b'"') => Json::String(self.string()),
            _ => self.literal(),
        }
    }

    /// Consumes `close` (true) or the comma before the next element (false).
    fn eat_closing(&mut self, close: u8) -> bool {
        self.skip_whitespace();
        match self.bytes.get(self.at) {
            Some(&b) if b == close => {
                self.at += 1;
                true
            }
            Some(b',') => {
                self.at += 1;
                false
            }
            _ => false,
        }
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = String::new();
        loop {
            let c = self.bytes[self.at];
            self.at += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.bytes[self.at];
                    self.at += 1;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b't' => '\t',
                        other => panic!("meta.json: unsupported escape \\{}", other as char),
                    });
                }
                _ => {
                    // Copy a whole UTF-8 sequence at once.
                    let start = self.at - 1;
                    let len = match c {
                        0..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    self.at = start + len;
                    out.push_str(
                        std::str::from_utf8(&self.bytes[start..self.at])
                            .expect("meta.json is UTF-8"),
                    );
                }
            }
        }
    }

    fn literal(&mut self) -> Json {
        let start = self.at;
        while self.at < self.bytes.len() && !b",]} \t\r\n".contains(&self.bytes[self.at]) {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.bytes[start..self.at]).unwrap();
        match word {
            "null" => Json::Null,
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => Json::Number(
                word.parse()
                    .unwrap_or_else(|_| panic!("meta.json: bad literal {word:?}")),
            ),
        }
    }
}

fn meta() -> &'static Json {
    static META: OnceLock<Json> = OnceLock::new();
    META.get_or_init(|| {
        let path = fixtures_dir().join("meta.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Json::parse(&text)
    })
}

/// One fixture case: its meta.json entry and its directory of .npy files.
struct Case {
    name: &'static str,
    meta: &'static Json,
}

impl Case {
    fn new(name: &'static str) -> Case {
        Case {
            name,
            meta: meta().field("cases").field(name),
        }
    }

    /// Reads `<case>/<array>.npy` and checks its shape against meta.json.
    fn npy(&self, array: &str) -> npyz::NpyFile<std::io::Cursor<Vec<u8>>> {
        let path = fixtures_dir().join(self.name).join(format!("{array}.npy"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = npyz::NpyFile::new(std::io::Cursor::new(bytes))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
        if let Some(want) = self.meta.field("shapes").get(array) {
            assert_eq!(
                shape,
                want.as_usizes(),
                "{}: shape disagrees with meta.json",
                path.display()
            );
        }
        file
    }

    fn tensor(&self, array: &str) -> Tensor {
        let file = self.npy(array);
        let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
        let data = file
            .into_vec::<f32>()
            .unwrap_or_else(|e| panic!("{}/{array}.npy: {e}", self.name));
        Tensor::from_vec(shape, data).unwrap()
    }

    fn labels(&self, array: &str) -> Vec<u32> {
        let data = self
            .npy(array)
            .into_vec::<i64>()
            .unwrap_or_else(|e| panic!("{}/{array}.npy: {e}", self.name));
        data.into_iter()
            .map(|l| u32::try_from(l).expect("labels are small non-negative integers"))
            .collect()
    }

    fn padding(&self) -> Padding {
        match self.meta.field("padding").as_str() {
            "valid" => Padding::Valid,
            "same" => Padding::Same,
            other => panic!("{}: unknown padding {other:?}", self.name),
        }
    }

    fn use_bias(&self) -> bool {
        self.meta
            .get("use_bias")
            .is_none_or(|v| *v == Json::Bool(true))
    }

    fn pool_spec(&self) -> Pool2dSpec {
        Pool2dSpec {
            pool_size: self.meta.field("pool_size").as_pair(),
            strides: self.meta.field("strides").as_pair(),
            padding: self.padding(),
            explicit_padding: None,
            ceil_mode: false,
        }
    }
}

/// The comparisons of one case: (array name, worst error relative to max(1, max |reference|)).
struct Report {
    case: &'static str,
    errors: Vec<(&'static str, f32)>,
}

impl Report {
    fn new(case: &'static str) -> Report {
        Report {
            case,
            errors: Vec::new(),
        }
    }

    /// Compares `got` with the reference `want`, asserting the relative tolerance.
    fn compare(&mut self, array: &'static str, got: Option<Tensor>, want: &Tensor) {
        let case = self.case;
        let got = got.unwrap_or_else(|| panic!("{case}: krust produced no {array}"));
        assert_eq!(
            got.shape(),
            want.shape(),
            "{case}: {array} has the wrong shape"
        );
        assert!(
            !got.has_non_finite(),
            "{case}: {array} has NaN or infinite values"
        );
        let (mut worst, mut at) = (0.0f32, 0);
        for (i, (a, b)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
            if (a - b).abs() > worst {
                (worst, at) = ((a - b).abs(), i);
            }
        }
        let scale = want.to_vec().iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let relative = worst / scale;
        assert!(
            relative <= RELATIVE_TOLERANCE,
            "{case}: {array} differs from PyTorch by {worst:e} at flat index {at} (krust {}, PyTorch {}); \
             relative error {relative:e} exceeds {RELATIVE_TOLERANCE:e}",
            got.to_vec()[at],
            want.to_vec()[at],
        );
        self.errors.push((array, relative));
    }

    /// Prints the worst errors (visible with `cargo test -- --nocapture`).
    fn print(&self) {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|(a, e)| format!("{a} {e:.2e}"))
            .collect();
        println!("{}: worst relative error {}", self.case, parts.join(", "));
    }
}

fn run_conv2d(case: &Case, report: &mut Report) {
    let spec = Conv2dSpec {
        strides: case.meta.field("strides").as_pair(),
        padding: case.padding(),
        dilation: case.meta.field("dilation").as_pair(),
    };
    let x = Var::parameter(case.tensor("x"));
    let w = Var::parameter(case.tensor("w"));
    let b = case.use_bias().then(|| Var::parameter(case.tensor("b")));
    let y = x.conv2d(&w, b.as_ref(), spec).unwrap();
    report.compare("y", Some(y.value()), &case.tensor("y"));
    y.backward_with(case.tensor("dy")).unwrap();
    report.compare("dx", x.grad(), &case.tensor("dx"));
    report.compare("dw", w.grad(), &case.tensor("dw"));
    if let Some(b) = b {
        report.compare("db", b.grad(), &case.tensor("db"));
    }
}

fn run_pool(case: &Case, report: &mut Report, max: bool) {
    let spec = case.pool_spec();
    let x = Var::parameter(case.tensor("x"));
    let y = if max {
        x.max_pool2d(spec)
    } else {
        x.avg_pool2d(spec)
    }
    .unwrap();
    report.compare("y", Some(y.value()), &case.tensor("y"));
    y.backward_with(case.tensor("dy")).unwrap();
    report.compare("dx", x.grad(), &case.tensor("dx"));
}

fn run_dense(case: &Case, report: &mut Report) {
    let x = Var::parameter(case.tensor("x"));
    let w = Var::parameter(case.tensor("w"));
    let b = case.use_bias().then(|| Var::parameter(case.tensor("b")));
    let y = x.dense(&w, b.as_ref()).unwrap();
    report.compare("y", Some(y.value()), &case.tensor("y"));
    y.backward_with(case.tensor("dy")).unwrap();
    report.compare("dx", x.grad(), &case.tensor("dx"));
    report.compare("dw", w.grad(), &case.tensor("dw"));
    if let Some(b) = b {
        report.compare("db", b.grad(), &case.tensor("db"));
    }
}

fn run_softmax_cross_entropy(case: &Case, report: &mut Report) {
    let logits = Var::parameter(case.tensor("x"));
    let loss = logits
        .softmax_cross_entropy(&case.labels("labels"))
        .unwrap();
    report.compare("loss", Some(loss.value()), &case.tensor("loss"));
    loss.backward().unwrap();
    report.compare("dx", logits.grad(), &case.tensor("dx"));
}

/// Runs one case forward and backward and checks every stored array.
fn check_case(name: &'static str) {
    let case = Case::new(name);
    let mut report = Report::new(name);
    match case.meta.field("op").as_str() {
        "conv2d" => run_conv2d(&case, &mut report),
        "max_pool2d" => run_pool(&case, &mut report, true),
        "avg_pool2d" => run_pool(&case, &mut report, false),
        "dense" => run_dense(&case, &mut report),
        "softmax_cross_entropy" => run_softmax_cross_entropy(&case, &mut report),
        other => panic!("{name}: no runner for op {other:?}"),
    }
    report.print();
}

#[test]
fn every_fixture_case_has_a_test() {
    let Json::Object(cases) = meta().field("cases") else {
        panic!("meta.json: \"cases\" is not an object");
    };
    let mut in_meta: Vec<&str> = cases.iter().map(|(k, _)| k.as_str()).collect();
    in_meta.sort_unstable();
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // fixtures/keras/, torch/, zoo/, pretrained/ and tensorboard/ hold Keras, PyTorch
        // and TensorBoard references made by their own tools/ scripts.
        .filter(|name| {
            !matches!(
                name.as_str(),
                "keras" | "torch" | "zoo" | "pretrained" | "tensorboard"
            )
        })
        .collect();
    on_disk.sort_unstable();
    assert_eq!(
        in_meta, CASES,
        "meta.json cases and the tested CASES differ"
    );
    assert_eq!(
        on_disk, CASES,
        "fixture directories and the tested CASES differ"
    );
    assert_eq!(meta().field("generator").as_str(), "tools/make_fixtures.py");
}

#[test]
fn conv2d_valid_matches_pytorch() {
    check_case("conv2d_valid");
}

#[test]
fn conv2d_same_stride2_matches_pytorch() {
    check_case("conv2d_same_stride2");
}

#[test]
fn conv2d_same_stride2_k4_matches_pytorch() {
    check_case("conv2d_same_stride2_k4");
}

#[test]
fn conv2d_dilation2_matches_pytorch() {
    check_case("conv2d_dilation2");
}

#[test]
fn conv2d_dilation2_same_matches_pytorch() {
    check_case("conv2d_dilation2_same");
}

#[test]
fn maxpool_same_stride2_matches_pytorch() {
    check_case("maxpool_same_stride2");
}

#[test]
fn maxpool_valid_pool2_matches_pytorch() {
    check_case("maxpool_valid_pool2");
}

#[test]
fn maxpool_valid_pool3_stride2_matches_pytorch() {
    check_case("maxpool_valid_pool3_stride2");
}

#[test]
fn avgpool_same_stride2_matches_pytorch() {
    check_case("avgpool_same_stride2");
}

#[test]
fn avgpool_same_pool2_stride1_matches_pytorch() {
    check_case("avgpool_same_pool2_stride1");
}

#[test]
fn avgpool_valid_pool3_stride2_matches_pytorch() {
    check_case("avgpool_valid_pool3_stride2");
}

#[test]
fn dense_matches_pytorch() {
    check_case("dense");
}

#[test]
fn softmax_cross_entropy_matches_pytorch() {
    check_case("softmax_cross_entropy");
}
