//! A model file is input krust does not trust: every number in every fixture model's config is
//! replaced, one at a time, by a hostile value (huge, negative, zero, fractional, mistyped,
//! missing), and the architecture reader must answer with a model or a one-line error — never
//! a panic, an allocation abort or an overflowed shape.

use krust_import::load_model;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keras/models")
}

/// Every `.keras` fixture, by name, with its parsed `config.json`.
fn keras_configs() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_str()?.to_string();
            name.ends_with(".keras").then_some(name)
        })
        .map(|name| {
            let file = std::fs::File::open(fixtures().join(&name)).unwrap();
            let mut archive = zip::ZipArchive::new(file).unwrap();
            let mut text = String::new();
            archive
                .by_name("config.json")
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// JSON pointers to every number in `v`.
fn number_paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                number_paths(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                number_paths(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

fn hostile_values() -> Vec<Value> {
    vec![
        json!(4_000_000_000u64),
        json!(u64::MAX),
        json!(-1),
        json!(0),
        json!(2.5),
        json!("7"),
        Value::Null,
    ]
}

#[test]
fn every_number_in_every_fixture_config_mutated_never_panics_or_aborts() {
    let (mut tried, mut refused) = (0, 0);
    let mut panics = Vec::new();
    for (name, config) in keras_configs() {
        let mut paths = Vec::new();
        number_paths(&config, String::new(), &mut paths);
        for path in &paths {
            for value in hostile_values() {
                let mut mutated = config.clone();
                *mutated.pointer_mut(path).unwrap() = value.clone();
                tried += 1;
                let result = std::panic::catch_unwind(|| {
                    krust_nn::model_from_config(&mutated).map(|m| m.count_params())
                });
                match result {
                    Err(_) => panics.push(format!("{name}{path} = {value}")),
                    Ok(Err(e)) => {
                        refused += 1;
                        let text = e.to_string();
                        assert!(!text.is_empty() && text.lines().count() == 1, "{text}");
                    }
                    Ok(Ok(params)) => assert!(
                        params <= 4 * krust_nn::initializers::MAX_WEIGHT_ELEMENTS,
                        "{name}{path} = {value} built {params} parameters"
                    ),
                }
            }
        }
    }
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    // Many numbers take any value (seeds, epsilons, penalties, shapes Keras records but krust
    // recomputes), but a large share must be refused.
    assert!(tried > 5000 && refused * 3 > tried, "{refused} of {tried}");
}

/// `name`'s `.keras` file with `config.json` replaced by `config`, written to a scratch path.
fn keras_with_config(name: &str, config: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krust-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut source =
        zip::ZipArchive::new(std::fs::File::open(fixtures().join(name)).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if entry_name == "config.json" {
            bytes = serde_json::to_vec(config).unwrap();
        }
        out.start_file(entry_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
    path
}

/// Sets `key` to `value` in the config of every layer of class `class`.
fn set_in_class(v: &mut Value, class: &str, key: &str, value: &Value) {
    match v {
        Value::Object(map) => {
            if map.get("class_name") == Some(&json!(class)) {
                if let Some(Value::Object(config)) = map.get_mut("config") {
                    config.insert(key.to_string(), value.clone());
                }
            }
            map.values_mut()
                .for_each(|item| set_in_class(item, class, key, value));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| set_in_class(item, class, key, value)),
        _ => {}
    }
}

#[test]
fn a_dense_layer_of_four_billion_units_is_refused_naming_the_layer_and_the_size() {
    let (_, mut config) = keras_configs()
        .into_iter()
        .find(|(name, _)| name == "activations.keras")
        .unwrap();
    set_in_class(&mut config, "Dense", "units", &json!(4_000_000_000u64));
    let path = keras_with_config("activations.keras", &config);
    let err = load_model(&path).err().expect("refused").to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("dense"), "names the layer: {err}");
    assert!(err.contains("4000000000"), "names the size: {err}");
    assert!(err.contains("GiB"), "says how much memory: {err}");
}

#[test]
fn a_per_sample_shape_that_overflows_or_passes_8_gib_is_refused_where_it_is_declared() {
    for shape in [[1usize << 40, 1 << 30], [1 << 20, 1 << 12]] {
        let mut model = krust_nn::Sequential::new();
        let err = model
            .add(krust_nn::layers::Input::new(&shape))
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("per-sample shape"), "{err}");
    }
    // The largest shape allowed builds, and a layer that would grow it past the limit is
    // refused by name.
    let mut model = krust_nn::Sequential::new();
    model
        .add(krust_nn::layers::Input::new(&[1 << 15, 1 << 15, 2]))
        .unwrap();
    let err = model
        .add(krust_nn::layers::UpSampling2D::new((2, 2)))
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("UpSampling2D") && err.contains("per-sample shape"),
        "{err}"
    );
}
