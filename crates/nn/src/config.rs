//! Layer configurations as Keras-style JSON: argument names, defaults and value shapes follow
//! Keras 3's `get_config()`, so krust's own files and Keras's `config.json` share one parser.
//! Reading is strict: an argument krust does not know, or a value it does not support, is
//! an error that names the layer and the argument, never silently ignored.

use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::{NnError, Result};
use krust_tensor::Padding;
use serde_json::{Map, Value};
use std::collections::HashSet;

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

    pub fn usize(&mut self, key: &str) -> Result<usize> {
        let v = self
            .get(key)
            .ok_or_else(|| self.error(key, "is required"))?;
        v.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| self.error(key, format!("expected a non-negative integer, got {v}")))
    }

    pub fn f32_or(&mut self, key: &str, default: f32) -> Result<f32> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .map(|x| x as f32)
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

    pub fn isize_or(&mut self, key: &str, default: isize) -> Result<isize> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .map(|n| n as isize)
                .ok_or_else(|| self.error(key, format!("expected an integer, got {v}"))),
        }
    }

    /// A list of non-negative integers (a shape).
    pub fn shape(&mut self, key: &str) -> Result<Vec<usize>> {
        let v = self
            .get(key)
            .ok_or_else(|| self.error(key, "is required"))?;
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("expected a list, got {v}")))?;
        items
            .iter()
            .map(|d| {
                d.as_u64().map(|n| n as usize).ok_or_else(|| {
                    self.error(key, format!("expected non-negative integers, got {v}"))
                })
            })
            .collect()
    }

    /// An integer or a pair of integers, as Keras accepts for kernel sizes and strides.
    pub fn pair_or(
        &mut self,
        key: &str,
        default: Option<(usize, usize)>,
    ) -> Result<(usize, usize)> {
        let Some(v) = self.get(key) else {
            return default.ok_or_else(|| self.error(key, "is required"));
        };
        let bad = || self.error(key, format!("expected an integer or two integers, got {v}"));
        if let Some(n) = v.as_u64() {
            return Ok((n as usize, n as usize));
        }
        match v
            .as_array()
            .map(|a| a.iter().map(|x| x.as_u64()).collect::<Option<Vec<_>>>())
        {
            Some(Some(p)) if p.len() == 2 => Ok((p[0] as usize, p[1] as usize)),
            _ => Err(bad()),
        }
    }

    pub fn padding_or(&mut self, key: &str, default: Padding) -> Result<Padding> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) if s == "valid" => Ok(Padding::Valid),
            Some(Value::String(s)) if s == "same" => Ok(Padding::Same),
            Some(v) => Err(self.error(key, format!("expected \"valid\" or \"same\", got {v}"))),
        }
    }

    pub fn activation_or(&mut self, key: &str, default: Activation) -> Result<Activation> {
        match self.get(key) {
            None => Ok(default),
            // A Keras name ("relu"), or krust's object form that keeps parameters.
            Some(v) => Activation::from_config(v).map_err(|e| self.error(key, e)),
        }
    }

    pub fn initializer_or(&mut self, key: &str, default: Initializer) -> Result<Initializer> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => initializer_from_json(v).map_err(|why| self.error(key, why)),
        }
    }

    /// Requires `key` to be absent or null (a Keras option krust does not implement yet).
    pub fn absent(&mut self, key: &str) -> Result<()> {
        match self.get(key) {
            None => Ok(()),
            Some(v) => Err(self.error(key, format!("{v} is not supported by krust yet"))),
        }
    }

    /// Requires `key` to be absent or equal to `expected`.
    pub fn only(&mut self, key: &str, expected: Value) -> Result<()> {
        match self.get(key) {
            None => Ok(()),
            Some(v) if *v == expected => Ok(()),
            Some(v) => Err(self.unsupported(key, v)),
        }
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

/// Keras 3's serialized form of an initializer: {"class_name": ..., "config": {...}}.
pub fn initializer_to_json(init: &Initializer) -> Value {
    init.to_keras_json()
}

/// Reads an initializer from its Keras form, or from a bare Keras name ("glorot_uniform").
pub fn initializer_from_json(v: &Value) -> std::result::Result<Initializer, String> {
    Initializer::from_keras_json(v).map_err(|e| e.to_string())
}
