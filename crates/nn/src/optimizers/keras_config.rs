//! Reading and writing the Keras-style JSON configs of optimizers, schedules and initializers:
//! Keras 3's argument names, `null` for "use the default", and an error for any argument krust
//! does not know, never a silent ignore.

use crate::{NnError, Result};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;

/// A float32 as the JSON number with the fewest digits that reads back to the same float32
/// (0.001, not 0.0010000000474974513).
pub(crate) fn json_f32(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

pub(crate) fn json_option_f32(x: Option<f32>) -> Value {
    x.map_or(Value::Null, json_f32)
}

/// Keras's serialized form of an object: `{"module", "class_name", "config", "registered_name"}`.
pub(crate) fn keras_object(module: &str, class_name: &str, config: Value) -> Value {
    serde_json::json!({
        "module": module,
        "class_name": class_name,
        "config": config,
        "registered_name": null,
    })
}

/// Splits a serialized Keras object (or a bare name such as `"adam"`) into its class name and
/// config (`{}` for a bare name).
pub(crate) fn class_and_config<'a>(what: &str, value: &'a Value) -> Result<(&'a str, Value)> {
    match value {
        Value::String(name) => Ok((name.as_str(), Value::Object(Map::new()))),
        Value::Object(map) => {
            let class = map
                .get("class_name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    NnError::argument(what, format!("expected a \"class_name\" in {value}"))
                })?;
            let config = match map.get("config") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(config) => config.clone(),
            };
            Ok((class, config))
        }
        _ => Err(NnError::argument(
            what,
            format!("expected a name or a {{\"class_name\", \"config\"}} object, got {value}"),
        )),
    }
}

/// Reads one object's config, remembering the keys it used so that [`ConfigReader::finish`]
/// rejects the rest. A `null` value means "the default", as in Keras.
pub(crate) struct ConfigReader<'a> {
    what: String,
    map: &'a Map<String, Value>,
    used: HashSet<&'static str>,
}

impl<'a> ConfigReader<'a> {
    /// `class_name` names the object in errors ("invalid Adam config: ...").
    pub fn new(class_name: &str, config: &'a Value) -> Result<Self> {
        let what = format!("{class_name} config");
        let map = config.as_object().ok_or_else(|| {
            NnError::argument(&what, format!("expected a JSON object, got {config}"))
        })?;
        Ok(ConfigReader {
            what,
            map,
            used: HashSet::new(),
        })
    }

    pub fn error(&self, key: &str, why: impl std::fmt::Display) -> NnError {
        NnError::argument(&self.what, format!("`{key}` {why}"))
    }

    /// The value of `key`, or None when it is absent or null.
    pub fn value(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.insert(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Marks `key` as understood without reading it (Keras's instance `name`).
    pub fn ignore(&mut self, key: &'static str) {
        self.used.insert(key);
    }

    pub fn f32(&mut self, key: &'static str) -> Result<f32> {
        self.f32_option(key)?
            .ok_or_else(|| self.error(key, "is required"))
    }

    pub fn f32_or(&mut self, key: &'static str, default: f32) -> Result<f32> {
        Ok(self.f32_option(key)?.unwrap_or(default))
    }

    pub fn f32_option(&mut self, key: &'static str) -> Result<Option<f32>> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(|x| Some(x as f32))
                .ok_or_else(|| self.error(key, format!("must be a number, got {v}"))),
        }
    }

    pub fn bool_or(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.error(key, format!("must be true or false, got {v}"))),
        }
    }

    /// A step count; Keras configs may write it as a float (`1000.0`), which is accepted when
    /// it is a whole number.
    pub fn steps(&mut self, key: &'static str) -> Result<u64> {
        match self.value(key) {
            None => Err(self.error(key, "is required")),
            Some(v) => self.as_steps(key, v),
        }
    }

    pub fn steps_or(&mut self, key: &'static str, default: u64) -> Result<u64> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => self.as_steps(key, v),
        }
    }

    fn as_steps(&self, key: &str, v: &Value) -> Result<u64> {
        if let Some(n) = v.as_u64() {
            return Ok(n);
        }
        match v.as_f64() {
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) => Ok(x as u64),
            _ => Err(self.error(key, format!("must be a whole number of steps, got {v}"))),
        }
    }

    pub fn steps_list(&mut self, key: &'static str) -> Result<Vec<u64>> {
        let v = self
            .value(key)
            .ok_or_else(|| self.error(key, "is required"))?;
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("must be a list, got {v}")))?;
        items.iter().map(|x| self.as_steps(key, x)).collect()
    }

    pub fn f32_list(&mut self, key: &'static str) -> Result<Vec<f32>> {
        let v = self
            .value(key)
            .ok_or_else(|| self.error(key, "is required"))?;
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("must be a list, got {v}")))?;
        items
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|x| x as f32)
                    .ok_or_else(|| self.error(key, format!("must hold numbers, got {x}")))
            })
            .collect()
    }

    pub fn string_or(&mut self, key: &'static str, default: &'a str) -> Result<&'a str> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .ok_or_else(|| self.error(key, format!("must be a string, got {v}"))),
        }
    }

    /// Accepts `key` only when it is absent, null or equal to `default`: a Keras option whose
    /// other values krust does not implement.
    pub fn only_default(&mut self, key: &'static str, default: Value) -> Result<()> {
        match self.value(key) {
            Some(v) if *v != default => Err(self.error(
                key,
                format!("= {v} is not supported by krust (only {default})"),
            )),
            _ => Ok(()),
        }
    }

    /// Fails on any key that no read used.
    pub fn finish(self) -> Result<()> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.used.contains(k.as_str()))
            .collect();
        unknown.sort();
        match unknown.is_empty() {
            true => Ok(()),
            false => Err(NnError::argument(
                &self.what,
                format!("argument(s) not recognized: {unknown:?}"),
            )),
        }
    }
}
