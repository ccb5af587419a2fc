//! Layers read "an int or a tuple of N ints" arguments through one reader
//! (`ConfigReader::ints_or`): a malformed value is an error naming the argument, where some
//! layers used to fall back silently to the default.

use krust_nn::layers::{Conv1D, Conv3D, MaxPooling1D, Pooling3D};
use serde_json::json;

fn message<T>(result: krust_nn::Result<T>) -> String {
    match result {
        Ok(_) => panic!("a malformed config was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn conv1d_rejects_a_two_element_kernel_size() {
    let e = message(Conv1D::from_config(
        &json!({"filters": 2, "kernel_size": [3, 3]}),
    ));
    assert!(e.contains("Conv1D") && e.contains("`kernel_size`"), "{e}");
}

#[test]
fn conv3d_rejects_a_negative_kernel_size() {
    let e = message(Conv3D::from_config(
        &json!({"filters": 2, "kernel_size": [3, -1, 3]}),
    ));
    assert!(e.contains("Conv3D") && e.contains("`kernel_size`"), "{e}");
}

#[test]
fn pooling_rejects_a_malformed_pool_size_instead_of_using_the_default() {
    let e = message(MaxPooling1D::from_config(&json!({"pool_size": "2"})));
    assert!(
        e.contains("MaxPooling1D") && e.contains("`pool_size`"),
        "{e}"
    );
    let e = message(MaxPooling1D::from_config(
        &json!({"pool_size": 2, "strides": 1.5}),
    ));
    assert!(e.contains("`strides`"), "{e}");
    let e = message(Pooling3D::from_config(
        "MaxPooling3D",
        &json!({"pool_size": [2, 2, 2], "strides": [2, 2]}),
    ));
    assert!(e.contains("MaxPooling3D") && e.contains("`strides`"), "{e}");
}

#[test]
fn valid_keras_forms_still_read() {
    assert!(Conv1D::from_config(&json!({"filters": 2, "kernel_size": [3]})).is_ok());
    assert!(Conv1D::from_config(&json!({"filters": 2, "kernel_size": 3})).is_ok());
    assert!(Conv3D::from_config(&json!({"filters": 2, "kernel_size": [1, 2, 3]})).is_ok());
    assert!(MaxPooling1D::from_config(&json!({"pool_size": [2], "strides": null})).is_ok());
}
