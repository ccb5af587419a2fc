//! Layer configurations as Keras-style JSON: argument names, defaults and value shapes follow
//! Keras 3's `get_config()`, so krust's own files and Keras's `config.json` share one parser.
//! Reading is strict: an argument krust does not know, or a value it does not support, is
//! an error that names the layer and the argument, never silently ignored.

use crate::{NnError, Result};
use krust_tensor::Padding;
use serde_json::{Map, Value};
use std::collections::HashSet;

pub mod args;

/// Largest value `ConfigReader::ints_opt` accepts: far beyond any real kernel, stride or
/// upsampling factor, and small enough that products of a few of them cannot overflow
/// a shape computation.
pub const MAX_INT_ARG: u64 = 1 << 24;

/// Reads one layer's config, remembering which keys were used so that `finish` can reject
/// the rest.
pub struct ConfigReader<'a> {
    layer: &'a str,
    map: &'a Map<String, Value>,
    used: HashSet<String>,
}

impl<'a> ConfigReader<'a> {
    pub fn new(layer: &'a str, config: &'a Value) -> Result<Self> {
        let map = config.as_object().ok_or_else(|| {
            NnError::layer(layer, format!("config must be a JSON object, got {config}"))
        })?;
        let mut reader = ConfigReader {
            layer,
            map,
            used: HashSet::new(),
        };
        // Keys every Keras layer carries; krust supports only their default meaning.
        reader.used.insert("name".to_string());
        if let Some(t) = reader.map.get("trainable") {
            if t != &Value::Bool(true) {
                return Err(reader.unsupported("trainable", t));
            }
        }
        reader.used.insert("trainable".to_string());
        if let Some(d) = reader.map.get("dtype") {
            let is_f32 =
                d == "float32" || d.pointer("/config/name").is_some_and(|n| n == "float32");
            if !(d.is_null() || is_f32) {
                return Err(reader.unsupported("dtype", d));
            }
        }
        reader.used.insert("dtype".to_string());
        // Arguments Keras 3 writes into configs of many classes whose neutral values mean
        // exactly what krust does (an input that must be fed, no quantization, no LoRA).
        for (key, neutral) in [
            ("optional", Value::Bool(false)),
            ("quantization_config", Value::Null),
            ("lora_rank", Value::Null),
            ("lora_alpha", Value::Null),
        ] {
            if let Some(v) = reader.map.get(key) {
                if *v != neutral {
                    return Err(reader.unsupported(key, v));
                }
            }
            reader.used.insert(key.to_string());
        }
        {
            let key = "data_format";
            if let Some(v) = reader.map.get(key) {
                if v != "channels_last" && !v.is_null() {
                    return Err(reader.unsupported(key, v));
                }
            }
            reader.used.insert(key.to_string());
        }
        Ok(reader)
    }

    fn error(&self, key: &str, why: impl std::fmt::Display) -> NnError {
        NnError::layer(self.layer, format!("argument `{key}`: {why}"))
    }

    fn unsupported(&self, key: &str, value: &Value) -> NnError {
        self.error(key, format!("value {value} is not supported by krust"))
    }

    fn get(&mut self, key: &str) -> Option<&'a Value> {
        self.used.insert(key.to_string());
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The raw value of `key` (None when absent or null).
    pub fn value(&mut self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    pub fn f32_or(&mut self, key: &str, default: f32) -> Result<f32> {
        Ok(self.f32_opt(key)?.unwrap_or(default))
    }

    /// A number, None when absent or null (an optional limit such as ReLU's `max_value`).
    pub fn f32_opt(&mut self, key: &str) -> Result<Option<f32>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(|x| Some(x as f32))
                .ok_or_else(|| self.error(key, format!("expected a number, got {v}"))),
        }
    }

    pub fn bool_or(&mut self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.error(key, format!("expected true or false, got {v}"))),
        }
    }

    /// An integer or a list of exactly `N` integers, as Keras accepts for kernel sizes,
    /// strides, dilation rates, pool sizes and upsampling factors (an int means the same
    /// value on every axis). None when absent or null. This is the one reader for every
    /// "int or tuple" argument, so all layers accept and reject the same values.
    pub fn ints_opt<const N: usize>(&mut self, key: &str) -> Result<Option<[usize; N]>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = args::ints_from_json(v, N).map_err(|why| self.error(key, why))?;
        let mut out = [0; N];
        out.copy_from_slice(&items);
        Ok(Some(out))
    }

    /// `ints_opt` with a default for an absent argument.
    pub fn ints_or<const N: usize>(
        &mut self,
        key: &str,
        default: [usize; N],
    ) -> Result<[usize; N]> {
        Ok(self.ints_opt(key)?.unwrap_or(default))
    }

    /// `ints_opt` for a required argument.
    pub fn ints<const N: usize>(&mut self, key: &str) -> Result<[usize; N]> {
        self.ints_opt(key)?
            .ok_or_else(|| self.error(key, "is required"))
    }

    /// The arguments no reader call used, nulls included: what a layer's serde fields read
    /// (see [`args::read`], which takes a null as the default of an argument the layer has,
    /// and refuses it for any other key, as `finish` does).
    pub fn into_arguments(self) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !self.used.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Fails on any key that no reader call used.
    pub fn finish(self) -> Result<()> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.used.contains(k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(k) => Err(NnError::layer(
                self.layer,
                format!("argument `{k}` is not supported by krust"),
            )),
        }
    }
}

pub fn padding_name(p: Padding) -> &'static str {
    match p {
        Padding::Valid => "valid",
        Padding::Same => "same",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads `kernel_size` of `config` as three ints, or the error's text.
    fn read3(config: Value) -> std::result::Result<[usize; 3], String> {
        let mut c = ConfigReader::new("Conv3D", &config).map_err(|e| e.to_string())?;
        c.ints_or("kernel_size", [1, 1, 1])
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_int_is_repeated_on_every_axis() {
        assert_eq!(read3(json!({"kernel_size": 3})), Ok([3, 3, 3]));
    }

    #[test]
    fn a_tuple_of_n_ints_is_read_in_order() {
        assert_eq!(read3(json!({"kernel_size": [1, 2, 3]})), Ok([1, 2, 3]));
    }

    #[test]
    fn absent_or_null_gives_the_default_and_required_names_the_key() {
        assert_eq!(read3(json!({})), Ok([1, 1, 1]));
        assert_eq!(read3(json!({"kernel_size": null})), Ok([1, 1, 1]));
        let config = json!({});
        let mut c = ConfigReader::new("Conv1D", &config).unwrap();
        let e = c.ints::<1>("kernel_size").unwrap_err().to_string();
        assert!(e.contains("Conv1D") && e.contains("`kernel_size`") && e.contains("required"));
    }

    #[test]
    fn malformed_values_are_rejected_naming_layer_key_and_expectation() {
        for bad in [
            json!([1, 2]),
            json!([1, 2, 3, 4]),
            json!([]),
            json!(-1),
            json!([1, -2, 3]),
            json!(2.5),
            json!([1.0, 2, 3]),
            json!("3"),
            json!(["3", 3, 3]),
            json!(MAX_INT_ARG + 1),
            json!([1, u64::MAX, 1]),
            json!({"value": 3}),
        ] {
            let e = read3(json!({ "kernel_size": bad })).unwrap_err();
            assert!(e.contains("Conv3D"), "{e}");
            assert!(e.contains("`kernel_size`"), "{e}");
            assert!(e.contains("an integer or a list of 3 integers"), "{e}");
        }
    }

    #[test]
    fn the_bound_itself_is_accepted() {
        let max = MAX_INT_ARG as usize;
        assert_eq!(read3(json!({ "kernel_size": MAX_INT_ARG })), Ok([max; 3]));
    }
}
