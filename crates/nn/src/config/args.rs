//! Layer arguments declared once, as serde fields. A layer derives `Serialize` and
//! `Deserialize` on its own struct: each Keras argument is a public field with its doc comment
//! stating the default, the defaults themselves are written once in the function named by
//! `#[serde(default = "...")]` (which the layer's constructor also starts from), and the
//! run-time state (weights, random streams, recorded losses) is `#[serde(skip)]`.
//! [`read`] and [`write`] then give the Keras config in both directions:
//!
//! - the keys every Keras layer carries (`name`, `trainable`, `dtype`, ...) are checked by
//!   [`ConfigReader::new`]; a `null` value means the default, as in Keras, for an argument
//!   the layer has (any other null is refused, as an unknown argument is);
//! - a missing required argument ([`KerasArgs::REQUIRED`]), an argument the class does not take
//!   ([`KerasArgs::NOT_TAKEN`]), an unknown argument (`deny_unknown_fields`) or a malformed
//!   value is an error naming the layer and argument;
//! - `*_regularizer`, `*_constraint` and `activity_regularizer` go to the layer's
//!   [`WeightPenalties`], which knows its weights.
//!
//! The field helpers below (`activation`, `initializer`, `padding`, [`ints`], [`axes`],
//! [`positive`], [`borders`], `seed`, ...) are the one reader for each kind of value.

use super::{ConfigReader, MAX_INT_ARG};
use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{NnError, Result};
use krust_tensor::Padding;
use serde::de::{DeserializeOwned, Error as _, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A layer whose Keras arguments are its serde fields.
pub trait KerasArgs: Serialize + DeserializeOwned {
    /// Arguments without a default: the constructor's parameters.
    const REQUIRED: &'static [&'static str] = &[];

    /// Fields that this Keras class does not take, where one struct serves several classes
    /// (Conv2D has no `depth_multiplier`, InstanceNormalization no `groups`): refused when
    /// read, even as null, and left out of the config.
    const NOT_TAKEN: &'static [&'static str] = &[];

    /// The layer's regularizers and constraints, if it has weights that take them.
    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        None
    }

    /// The same, to read them into.
    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        None
    }

    /// Checks that involve several arguments, run after reading (a single value's checks
    /// belong to its field's reader).
    fn check_args(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Reads a layer of Keras class `class` from its config.
pub fn read<T: KerasArgs>(class: &str, config: &Value) -> Result<T> {
    if let Some(key) = T::NOT_TAKEN.iter().find(|k| config.get(**k).is_some()) {
        return Err(NnError::layer(
            class,
            format!("argument `{key}` is not supported by {class}"),
        ));
    }
    let arguments = ConfigReader::new(class, config)?.into_arguments();
    let fields = field_names::<T>();
    let mut plain = Map::new();
    let mut penalties = Map::new();
    for (key, value) in arguments {
        let is_field = fields.contains(&key.as_str());
        if !is_field && (key.ends_with("_regularizer") || key.ends_with("_constraint")) {
            penalties.insert(key, value);
        } else if !value.is_null() {
            plain.insert(key, value);
        } else if !is_field {
            // A null means the default, which only an argument the layer has can take.
            return Err(NnError::layer(
                class,
                format!("argument `{key}` is not supported by krust"),
            ));
        }
    }
    for key in T::REQUIRED {
        if !plain.contains_key(*key) {
            return Err(NnError::layer(
                class,
                format!("argument `{key}` is required"),
            ));
        }
    }
    let mut layer: T = serde_path_to_error::deserialize(Value::Object(plain)).map_err(|e| {
        let path = e.path().to_string();
        let why = e.into_inner();
        if path == "." {
            NnError::layer(class, format!("{why}"))
        } else {
            NnError::layer(class, format!("argument `{path}`: {why}"))
        }
    })?;
    let penalties = Value::Object(penalties);
    let mut c = ConfigReader::new(class, &penalties)?;
    if let Some(p) = layer.weight_penalties_mut() {
        p.read(&mut c)?;
    }
    c.finish()?;
    layer.check_args()?;
    Ok(layer)
}

/// A layer's Keras config: its argument fields, then its regularizers and constraints.
pub fn write<T: KerasArgs>(layer: &T) -> Value {
    // Serializing plain fields into a JSON value cannot fail: every key is a string.
    let mut config = serde_json::to_value(layer).unwrap_or_else(|_| Value::Object(Map::new()));
    if let Some(map) = config.as_object_mut() {
        for key in T::NOT_TAKEN {
            map.remove(*key);
        }
    }
    if let Some(p) = layer.weight_penalties() {
        p.write(&mut config);
    }
    config
}

/// Keras's int-or-tuple argument (kernel sizes, strides, dilation rates, pool sizes,
/// upsampling factors): an integer means the same value on each of the `n` axes, else a
/// list of exactly `n` integers, each from 0 to `MAX_INT_ARG`.
pub fn ints_from_json(v: &Value, n: usize) -> std::result::Result<Vec<usize>, String> {
    let expected = if n == 1 {
        "an integer or a list of one integer".to_string()
    } else {
        format!("an integer or a list of {n} integers")
    };
    let bad = || format!("expected {expected}, each from 0 to {MAX_INT_ARG}, got {v}");
    let one = |x: &Value| x.as_u64().filter(|&k| k <= MAX_INT_ARG).map(|k| k as usize);
    if let Some(k) = one(v) {
        return Ok(vec![k; n]);
    }
    let items = v.as_array().filter(|a| a.len() == n).ok_or_else(bad)?;
    items.iter().map(|x| one(x).ok_or_else(bad)).collect()
}

/// The field reader for an int-or-tuple argument of fixed length `N` (`[usize; N]`).
pub fn ints<'de, D: Deserializer<'de>, const N: usize>(
    d: D,
) -> std::result::Result<[usize; N], D::Error> {
    let v = Value::deserialize(d)?;
    let items = ints_from_json(&v, N).map_err(D::Error::custom)?;
    let mut out = [0; N];
    out.copy_from_slice(&items);
    Ok(out)
}

/// A type that knows a layer's number of spatial axes (a convolution or pooling class).
pub trait SpatialRank {
    const RANK: usize;
}

/// The field reader for an int-or-tuple argument with one entry per spatial axis of `R`
/// (`axes::<C, _>` in a generic layer).
pub fn axes<'de, R: SpatialRank, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<usize>, D::Error> {
    let v = Value::deserialize(d)?;
    ints_from_json(&v, R::RANK).map_err(D::Error::custom)
}

/// `axes` for an optional argument (Keras's `output_padding=None`).
pub fn axes_opt<'de, R: SpatialRank, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<usize>>, D::Error> {
    axes::<R, D>(d).map(Some)
}

/// The field reader for a positive integer such as `groups` or `depth_multiplier`: zero,
/// negative, fractional and non-numeric values are errors, never the default.
pub fn positive<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    let v = Value::deserialize(d)?;
    v.as_u64()
        .filter(|&n| n > 0 && n <= MAX_INT_ARG)
        .map(|n| n as usize)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "expected a positive integer up to {MAX_INT_ARG}, got {v}"
            ))
        })
}

/// Activations as Keras writes them: a name ("relu"), or krust's object form that keeps
/// parameters.
pub mod activation {
    use super::*;

    pub fn serialize<S: Serializer>(a: &Activation, s: S) -> std::result::Result<S::Ok, S::Error> {
        a.to_config().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Activation, D::Error> {
        let v = Value::deserialize(d)?;
        Activation::from_config(&v).map_err(D::Error::custom)
    }
}

/// Initializers in Keras 3's form, `{"class_name": ..., "config": {...}}`, or a bare name.
pub mod initializer {
    use super::*;

    pub fn serialize<S: Serializer>(
        init: &Initializer,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        init.to_keras_json().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Initializer, D::Error> {
        let v = Value::deserialize(d)?;
        Initializer::from_keras_json(&v).map_err(D::Error::custom)
    }
}

/// `"valid"` or `"same"`.
pub mod padding {
    use super::*;

    pub fn serialize<S: Serializer>(p: &Padding, s: S) -> std::result::Result<S::Ok, S::Error> {
        super::super::padding_name(*p).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Padding, D::Error> {
        let v = Value::deserialize(d)?;
        match v.as_str() {
            Some("valid") => Ok(Padding::Valid),
            Some("same") => Ok(Padding::Same),
            _ => Err(D::Error::custom(format!(
                "expected \"valid\" or \"same\", got {v}"
            ))),
        }
    }
}

// Readers of list, axis, number, name, border and seed arguments.

/// The field reader for a list-valued argument (a shape, `dims`, `noise_shape`): the list is
/// read as one value, so an error names the argument rather than one of its entries, and
/// shows the value given.
pub fn whole<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> std::result::Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    T::deserialize(&v).map_err(|e| D::Error::custom(format!("{e}, got {v}")))
}

/// `positive` for an optional argument (GroupNormalization's `groups`).
pub fn positive_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<usize>, D::Error> {
    positive(d).map(Some)
}

/// The field reader for an argument that names one of a few options (an enum deriving
/// `Deserialize` under Keras's names): a string only, not serde's other forms of an enum.
pub fn name<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> std::result::Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    if !v.is_string() {
        return Err(D::Error::custom(format!("expected a name, got {v}")));
    }
    T::deserialize(&v).map_err(D::Error::custom)
}

/// Keras's `axis` that takes one axis or several: an integer or a list of integers, counted
/// with the batch axis (negative from the end).
pub fn axis_list(v: &Value) -> Option<Vec<isize>> {
    if let Some(n) = v.as_i64() {
        return Some(vec![n as isize]);
    }
    v.as_array()?
        .iter()
        .map(|a| a.as_i64().map(|n| n as isize))
        .collect()
}

/// The field reader for such an `axis` (see [`axis_list`]); it is written as a list.
pub fn axis<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<isize>, D::Error> {
    let v = Value::deserialize(d)?;
    axis_list(&v).ok_or_else(|| {
        D::Error::custom(format!(
            "expected an integer or a list of integers, got {v}"
        ))
    })
}

/// The field reader for an optional number-or-list-of-numbers argument (Normalization's
/// `mean` and `variance`): a number is a list of one.
pub fn numbers_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<f32>>, D::Error> {
    let v = Value::deserialize(d)?;
    let numbers = match v.as_f64() {
        Some(x) => Some(vec![x as f32]),
        None => v.as_array().and_then(|a| {
            a.iter()
                .map(|x| x.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<f32>>>()
        }),
    };
    numbers
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a number or a list of numbers, got {v}")))
}

/// Keras's border argument for `n` spatial axes (ZeroPadding and Cropping): an int (the
/// same on both sides of every axis), `n` ints (symmetric per axis), or `n` entries each an
/// int or a (before, after) pair; with one axis, a bare pair is (before, after). Each value
/// from 0 to `MAX_INT_ARG`. This is the one reader for every border argument.
pub fn borders_from_json(v: &Value, n: usize) -> std::result::Result<Vec<(usize, usize)>, String> {
    let bad = || {
        format!(
            "expected an integer, {n} integers or {n} (before, after) pairs, \
             each from 0 to {MAX_INT_ARG}, got {v}"
        )
    };
    let one = |x: &Value| x.as_u64().filter(|&k| k <= MAX_INT_ARG).map(|k| k as usize);
    let pair = |x: &Value| -> Option<(usize, usize)> {
        if let Some(k) = one(x) {
            return Some((k, k));
        }
        match x.as_array()?.as_slice() {
            [a, b] => Some((one(a)?, one(b)?)),
            _ => None,
        }
    };
    if let Some(k) = one(v) {
        return Ok(vec![(k, k); n]);
    }
    let items = v.as_array().ok_or_else(bad)?;
    if n == 1 && items.len() == 2 {
        return pair(v).map(|both| vec![both]).ok_or_else(bad);
    }
    if items.len() != n {
        return Err(bad());
    }
    items.iter().map(|x| pair(x).ok_or_else(bad)).collect()
}

/// The field reader for a border argument with one (before, after) pair per spatial axis of
/// `R` (see [`borders_from_json`]).
pub fn borders<'de, R: SpatialRank, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<(usize, usize)>, D::Error> {
    let v = Value::deserialize(d)?;
    borders_from_json(&v, R::RANK).map_err(D::Error::custom)
}

/// A layer's random stream under Keras's `seed` argument: written as the stream's seed (null
/// for a stream keyed by the thread's generator); a seed read makes a stream of its own
/// (`RandomStream::seeded`).
pub mod seed {
    use super::*;
    use krust_tensor::random::RandomStream;

    pub fn serialize<S: Serializer>(
        stream: &RandomStream,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        stream.seed().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<RandomStream, D::Error> {
        u64::deserialize(d).map(RandomStream::seeded)
    }
}

// Arguments krust supports at one value only, and a few more readers.

/// Declares the type of a Keras argument that krust supports at one value only: it is written
/// as that value, and reading any other value is an error naming the argument.
macro_rules! one_value_argument {
    ($(#[$doc:meta])* $name:ident = $value:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                $value.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let v = Value::deserialize(d)?;
                if serde_json::to_value($value).is_ok_and(|supported| supported == v) {
                    Ok($name)
                } else {
                    Err(D::Error::custom(format!("value {v} is not supported by krust")))
                }
            }
        }
    };
}

one_value_argument!(
    /// Keras's `data_format` as krust's layers take their inputs, `"channels_last"` (the
    /// other value is refused when the config is read, see [`ConfigReader::new`]).
    ChannelsLast = "channels_last"
);
one_value_argument!(
    /// `false`: a Keras flag whose `true` krust does not implement (`mask_zero`, `renorm`,
    /// `sparse`, ...).
    False = false
);
one_value_argument!(
    /// `-1`, the last axis: the only `axis` of a layer that works on the last axis alone.
    LastAxis = -1
);
one_value_argument!(
    /// `null`: a Keras option krust does not implement (`renorm_clipping`, `input_length`).
    Unset = ()
);

/// An int-or-tuple argument of sizes that must be at least 1 (`[usize; N]`).
pub fn sizes<'de, D: Deserializer<'de>, const N: usize>(
    d: D,
) -> std::result::Result<[usize; N], D::Error> {
    let items: [usize; N] = ints(d)?;
    if items.contains(&0) {
        return Err(D::Error::custom(format!(
            "must be at least 1, got {items:?}"
        )));
    }
    Ok(items)
}

/// An optional list of non-negative axes such as PReLU's `shared_axes`: one integer or a
/// list of them; none, the empty list, is written as `null`.
pub mod nonnegative_axes {
    use super::*;

    pub fn serialize<S: Serializer>(axes: &[usize], s: S) -> std::result::Result<S::Ok, S::Error> {
        if axes.is_empty() {
            s.serialize_none()
        } else {
            axes.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<usize>, D::Error> {
        let v = Value::deserialize(d)?;
        let one = |x: &Value| x.as_u64().map(|n| n as usize);
        match (one(&v), v.as_array()) {
            (Some(a), _) => Some(vec![a]),
            (None, Some(items)) => items.iter().map(one).collect(),
            (None, None) => None,
        }
        .ok_or_else(|| D::Error::custom(format!("expected integers, got {v}")))
    }
}

/// Keras's `batch_shape`, one sample's shape after the batch axis: written `[null, d1, ...]`;
/// read from a list whose first entry (the batch size, usually null) is ignored.
pub mod batch_shape {
    use super::*;

    pub fn serialize<S: Serializer>(shape: &[usize], s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut batch_shape = vec![Value::Null];
        batch_shape.extend(shape.iter().map(|&d| Value::from(d)));
        batch_shape.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<usize>, D::Error> {
        let v = Value::deserialize(d)?;
        v.as_array()
            .and_then(|dims| dims.split_first())
            .and_then(|(_batch, dims)| {
                dims.iter()
                    .map(|d| d.as_u64().map(|n| n as usize))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "expected a batch shape like [null, 28, 28, 1], got {v}"
                ))
            })
    }
}

/// The argument names `T` reads, its serde field names and aliases: serde's derive hands
/// them to the deserializer, so a probe that records them and reads nothing finds them.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe(&'static [&'static str]);

    impl<'de> Deserializer<'de> for &mut Probe {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(
            self,
            _visitor: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            Err(Self::Error::custom("the probe reads structs only"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            self.0 = fields;
            self.deserialize_any(visitor)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut probe = Probe(&[]);
    // The probe always fails, after recording the names.
    let _ = T::deserialize(&mut probe);
    probe.0
}

#[cfg(test)]
mod tests {
    use crate::layers::{Conv2D, Dense, DepthwiseConv2D, Layer, MaxPooling1D};
    use serde_json::json;

    fn dense_error(config: serde_json::Value) -> String {
        Dense::from_config(&config).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_layer_and_the_argument() {
        let e = dense_error(json!({"units": 4, "unit": 3}));
        assert!(e.contains("Dense") && e.contains("`unit`"), "{e}");
        let e = dense_error(json!({"activation": "relu"}));
        assert!(
            e.contains("Dense") && e.contains("`units`") && e.contains("required"),
            "{e}"
        );
        let e = dense_error(json!({"units": "four"}));
        assert!(e.contains("Dense") && e.contains("`units`"), "{e}");
        let e = dense_error(json!({"units": 4, "use_bias": 1}));
        assert!(e.contains("`use_bias`"), "{e}");
        let e = dense_error(json!({"units": 4, "kernel_initializer": "no_such_init"}));
        assert!(e.contains("`kernel_initializer`"), "{e}");
        let e = dense_error(json!({"units": 4, "gamma_regularizer": "l2"}));
        assert!(e.contains("`gamma_regularizer`"), "{e}");
    }

    #[test]
    fn null_means_the_default_and_the_round_trip_is_exact() {
        let layer = Dense::from_config(&json!({"units": 3, "activation": null})).unwrap();
        assert_eq!(layer.activation, crate::Activation::Linear);
        let written = layer.config();
        let again = Dense::from_config(&written).unwrap().config();
        assert_eq!(written, again);
        assert_eq!(written["units"], 3);
        assert_eq!(written["kernel_regularizer"], serde_json::Value::Null);
    }

    #[test]
    fn one_struct_for_several_classes_refuses_what_its_class_does_not_take() {
        let e = DepthwiseConv2D::from_config(&json!({"kernel_size": 3, "filters": 4}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DepthwiseConv2D") && e.contains("`filters`"),
            "{e}"
        );
        let written = Conv2D::new(4, (3, 3)).config();
        assert!(written.get("depth_multiplier").is_none() && written["groups"] == 1);
        let pool = MaxPooling1D::from_config(&json!({"pool_size": 3})).unwrap();
        assert_eq!(pool.strides, vec![3], "strides default to the pool size");
    }
}
