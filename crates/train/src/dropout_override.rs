//! `--dropout`: one rate for every Dropout layer of a model's Keras-style config.

use serde_json::{json, Value};

/// Sets `rate` in the config of every `Dropout` layer in `config` (nested models included)
/// and returns how many it changed; the caller rebuilds the model from the config.
pub fn set_dropout_rate(config: &mut Value, rate: f32) -> usize {
    match config {
        Value::Object(map) => {
            let mut changed = 0;
            if map.get("class_name").and_then(Value::as_str) == Some("Dropout") {
                if let Some(cfg) = map.get_mut("config").and_then(Value::as_object_mut) {
                    cfg.insert("rate".into(), json!(rate));
                    changed += 1;
                }
            }
            changed
                + map
                    .values_mut()
                    .map(|v| set_dropout_rate(v, rate))
                    .sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(|v| set_dropout_rate(v, rate)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dropout_layer_gets_the_rate_and_nothing_else_changes() {
        let mut config = json!({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "Dense", "config": {"units": 4}},
            {"class_name": "Dropout", "config": {"rate": 0.5, "seed": 3}},
            {"class_name": "Functional", "config": {"layers": [
                {"class_name": "Dropout", "config": {"rate": 0.1}}
            ]}}
        ]}});
        assert_eq!(set_dropout_rate(&mut config, 0.25), 2);
        let layers = &config["config"]["layers"];
        assert_eq!(layers[1]["config"], json!({"rate": 0.25, "seed": 3}));
        assert_eq!(
            layers[2]["config"]["layers"][0]["config"]["rate"],
            json!(0.25)
        );
        assert_eq!(layers[0]["config"], json!({"units": 4}));
        assert_eq!(
            set_dropout_rate(&mut json!({"class_name": "Dense"}), 0.2),
            0
        );
    }
}
