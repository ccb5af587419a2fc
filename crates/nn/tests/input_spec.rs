//! The `inputs` entry of krust's model file: the description round-trips through a saved
//! model, files without it still load, and a corrupt or absurd entry is an error naming the
//! file and the key, never a panic or a huge allocation.

use krust_nn::layers::{Dense, Flatten, Input};
use krust_nn::saving::{
    load_model, load_model_with_inputs, save_model, save_model_with_inputs, to_safetensors,
    ColorMode, InputSpec, ValueScaling, INPUTS_KEY,
};
use krust_nn::{Activation, Sequential};
use std::collections::HashMap;
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krust-input-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn model() -> Sequential {
    krust_tensor::random::set_seed(3);
    let mut m = Sequential::new();
    m.add(Input::new(&[4, 5, 1])).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).with_activation(Activation::Relu))
        .unwrap();
    m
}

fn grey_spec() -> InputSpec {
    InputSpec::new(
        &[4, 5, 1],
        ValueScaling::DivideBy255,
        vec!["ankle boot".into(), "bag".into(), "coat".into()],
    )
}

#[test]
fn the_description_round_trips_through_a_model_file() {
    let path = temp("with-inputs.krust");
    let spec = grey_spec();
    assert_eq!(spec.image_dims(), Some((4, 5, 1)));
    assert_eq!(
        spec.image.as_ref().unwrap().color_mode,
        ColorMode::Grayscale
    );
    save_model_with_inputs(&model(), Some(&spec), &path).unwrap();
    let (loaded, inputs) = load_model_with_inputs(&path).unwrap();
    assert_eq!(inputs, Some(spec));
    assert_eq!(loaded.count_params(), model().count_params());
    // A reader that knows nothing of the entry still loads the model.
    load_model(&path).unwrap();
}

#[test]
fn float_inputs_are_not_described_as_images() {
    let spec = InputSpec::new(&[4, 5, 1], ValueScaling::None, vec![]);
    assert_eq!(spec.image_dims(), None);
    assert!(!spec.to_json().contains("class_names"));
    let rgb = InputSpec::new(&[8, 6, 3], ValueScaling::DivideBy255, vec![]);
    assert_eq!(rgb.image_dims(), Some((8, 6, 3)));
    let vector = InputSpec::new(&[10], ValueScaling::DivideBy255, vec![]);
    assert_eq!(vector.image_dims(), None);
}

#[test]
fn a_file_without_the_entry_loads_with_no_description() {
    let path = temp("old.krust");
    save_model(&model(), &path).unwrap();
    let (_, inputs) = load_model_with_inputs(&path).unwrap();
    assert_eq!(inputs, None);
}

/// A model file whose `inputs` entry is `entry`, written by hand as a damaged file would be.
fn file_with_entry(name: &str, entry: &str) -> PathBuf {
    let path = temp(name);
    let m = model();
    save_model(&m, &path).unwrap();
    let tensors: Vec<(String, krust_tensor::Tensor)> = m
        .named_weights()
        .into_iter()
        .map(|(n, v)| (format!("weights/{n}"), v.value()))
        .collect();
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), krust_nn::saving::FORMAT.to_string());
    metadata.insert("architecture".to_string(), m.to_config().to_string());
    metadata.insert(INPUTS_KEY.to_string(), entry.to_string());
    std::fs::write(&path, to_safetensors(&tensors, metadata).unwrap()).unwrap();
    path
}

#[test]
fn corrupt_entries_are_errors_naming_the_file_and_the_key() {
    let cases = [
        ("not-json.krust", "{not json", "key must be a string"),
        (
            "no-shape.krust",
            r#"{"version":1,"scaling":"none"}"#,
            "shape",
        ),
        (
            "future.krust",
            r#"{"version":99,"shape":[2],"scaling":"none"}"#,
            "version 99",
        ),
        (
            "huge.krust",
            r#"{"version":1,"shape":[100000,100000,3],"scaling":"none"}"#,
            "more than",
        ),
        (
            "overflow.krust",
            r#"{"version":1,"shape":[18446744073709551615,2],"scaling":"none"}"#,
            "more than",
        ),
        (
            "zero.krust",
            r#"{"version":1,"shape":[0,4],"scaling":"none"}"#,
            "no values",
        ),
        (
            "mode.krust",
            r#"{"version":1,"shape":[4,5,1],"scaling":"divide_by_255","image":{"height":4,"width":5,"color_mode":"sepia","resize":"bilinear"}}"#,
            "sepia",
        ),
        (
            "disagree.krust",
            r#"{"version":1,"shape":[4,5,1],"scaling":"divide_by_255","image":{"height":4,"width":5,"color_mode":"rgb","resize":"bilinear"}}"#,
            "disagrees",
        ),
        (
            "side.krust",
            r#"{"version":1,"shape":[5000,1,1],"scaling":"divide_by_255","image":{"height":5000,"width":1,"color_mode":"grayscale","resize":"bilinear"}}"#,
            "side over 4096",
        ),
    ];
    for (name, entry, why) in cases {
        let path = file_with_entry(name, entry);
        let Err(error) = load_model_with_inputs(&path) else {
            panic!("{name}: a corrupt entry loaded");
        };
        let message = error.to_string();
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains("\"inputs\""), "{name}: {message}");
        assert!(
            message.contains(why),
            "{name}: expected {why:?} in {message}"
        );
        // The model itself is intact: a reader that ignores the entry still loads it.
        load_model(&path).unwrap();
    }
}

#[test]
fn unknown_fields_from_a_later_writer_are_ignored() {
    let path = file_with_entry(
        "later.krust",
        r#"{"version":1,"shape":[3],"scaling":"none","class_names":["a","b","c"],"mean":[0.5]}"#,
    );
    let (_, inputs) = load_model_with_inputs(&path).unwrap();
    let inputs = inputs.unwrap();
    assert_eq!(inputs.shape, vec![3]);
    assert_eq!(inputs.class_names, vec!["a", "b", "c"]);
}
