//! PyTorch-style poolings against PyTorch itself (fixtures/torch/pooling.json, made by
//! tools/make_torch_pool_fixtures.py): max and average pooling with explicit padding and
//! ceil_mode, and adaptive average pooling, through the layers' forward passes.

use krust_autograd::Var;
use krust_nn::layers::{AdaptiveAveragePooling2D, AveragePooling2D, Layer, MaxPooling2D};
use krust_tensor::Tensor;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/torch/pooling.json"
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["cases"].as_array().unwrap().clone()
}

fn numbers(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn sizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn layer_of(case: &Value) -> Box<dyn Layer> {
    let int = |k: &str| case[k].as_u64().unwrap() as usize;
    match case["op"].as_str().unwrap() {
        "adaptive_avg" => {
            let o = sizes(&case["output_size"]);
            Box::new(AdaptiveAveragePooling2D::new((o[0], o[1])))
        }
        op => {
            let (k, s, p) = (int("kernel"), int("stride"), int("padding"));
            let ceil = case["ceil_mode"].as_bool().unwrap();
            if op == "max" {
                Box::new(
                    MaxPooling2D::new((k, k))
                        .with_strides((s, s))
                        .with_explicit_padding(((p, p), (p, p)))
                        .with_ceil_mode(ceil),
                )
            } else {
                Box::new(
                    AveragePooling2D::new((k, k))
                        .with_strides((s, s))
                        .with_explicit_padding(((p, p), (p, p)))
                        .with_ceil_mode(ceil),
                )
            }
        }
    }
}

#[test]
fn torch_style_poolings_equal_pytorch_output_for_output() {
    let cases = cases();
    assert_eq!(cases.len(), 13);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let shape = sizes(&case["input_shape"]);
        let x = Tensor::from_vec(shape.clone(), numbers(&case["input"])).unwrap();
        let mut layer = layer_of(&case);
        let built = layer.build(&shape[1..]).unwrap();
        let want_shape = sizes(&case["output_shape"]);
        assert_eq!(built, want_shape[1..], "{name}: inferred shape");
        let y = layer.forward(&Var::constant(x), false).unwrap().value();
        assert_eq!(y.shape(), want_shape.as_slice(), "{name}: output shape");
        for (i, (a, b)) in y.to_vec().iter().zip(numbers(&case["output"])).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{name}: [{i}] {a} vs {b}"
            );
        }
    }
}

#[test]
fn torch_pooling_options_are_written_only_when_set() {
    let plain = MaxPooling2D::new((3, 3)).with_strides((2, 2));
    let c = plain.config();
    assert!(c.get("explicit_padding").is_none() && c.get("ceil_mode").is_none());
    let torch = plain
        .with_explicit_padding(((1, 1), (0, 2)))
        .with_ceil_mode(true);
    let c = torch.config();
    assert_eq!(c["explicit_padding"], serde_json::json!([[1, 1], [0, 2]]));
    assert_eq!(c["ceil_mode"], Value::Bool(true));
    let back = MaxPooling2D::from_config(&c).unwrap();
    assert_eq!(back.explicit_padding, Some(((1, 1), (0, 2))));
    assert!(back.ceil_mode);
}

#[test]
fn impossible_torch_poolings_are_refused_at_build_with_the_reason() {
    // A side padded by the whole window would hold windows without a real cell.
    let mut too_wide = MaxPooling2D::new((2, 2)).with_explicit_padding(((2, 0), (0, 0)));
    let err = too_wide.build(&[5, 5, 1]).unwrap_err().to_string();
    assert!(err.contains("smaller than the window"), "{err}");
    let mut same_ceil = MaxPooling2D::new((3, 3))
        .with_padding(krust_tensor::Padding::Same)
        .with_ceil_mode(true);
    let err = same_ceil.build(&[5, 5, 1]).unwrap_err().to_string();
    assert!(err.contains("ceil_mode"), "{err}");
    let bad = serde_json::json!({"pool_size": [2, 2], "explicit_padding": [1, 2]});
    let err = MaxPooling2D::from_config(&bad).unwrap_err().to_string();
    assert!(err.contains("explicit_padding"), "{err}");
}
