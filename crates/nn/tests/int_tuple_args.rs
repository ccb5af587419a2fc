//! Layers read "an int or a tuple of N ints" arguments through one reader
//! (`config::args::ints_from_json`): a malformed value is an error naming the argument, where some
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

/// Border arguments (ZeroPadding and Cropping, 1-D to 3-D) go through one reader too.
mod borders {
    use super::message;
    use krust_nn::layers::{Cropping1D, Cropping2D, Cropping3D, ZeroPadding1D, ZeroPadding2D};
    use serde_json::json;

    #[test]
    fn every_keras_form_reads() {
        let pad = |v| {
            ZeroPadding2D::from_config(&json!({ "padding": v }))
                .unwrap()
                .padding
        };
        assert_eq!(pad(json!(2)), ((2, 2), (2, 2)));
        assert_eq!(pad(json!([1, 3])), ((1, 1), (3, 3)));
        assert_eq!(pad(json!([[0, 1], [2, 3]])), ((0, 1), (2, 3)));
        assert_eq!(pad(json!([[0, 1], 4])), ((0, 1), (4, 4)));
        let pad1 = |v| {
            ZeroPadding1D::from_config(&json!({ "padding": v }))
                .unwrap()
                .padding
        };
        assert_eq!(pad1(json!([1, 2])), vec![(1, 2)]);
        assert_eq!(pad1(json!(3)), vec![(3, 3)]);
        let crop3 = |v| {
            Cropping3D::from_config(&json!({ "cropping": v }))
                .unwrap()
                .cropping
        };
        assert_eq!(crop3(json!([1, [2, 0], 3])), vec![(1, 1), (2, 0), (3, 3)]);
    }

    #[test]
    fn defaults_are_keras_defaults() {
        // Keras: ZeroPadding 1 everywhere; Cropping1D (1, 1), Cropping2D ((0, 0), (0, 0)),
        // Cropping3D ((1, 1), (1, 1), (1, 1)).
        assert_eq!(
            ZeroPadding2D::from_config(&json!({})).unwrap().padding,
            ((1, 1), (1, 1))
        );
        assert_eq!(
            Cropping2D::from_config(&json!({})).unwrap().cropping,
            ((0, 0), (0, 0))
        );
        let crop1 = Cropping1D::from_config(&json!({})).unwrap().cropping;
        assert_eq!(crop1, vec![(1, 1)]);
        let crop3 = Cropping3D::from_config(&json!({})).unwrap().cropping;
        assert_eq!(crop3, vec![(1, 1); 3]);
    }

    #[test]
    fn malformed_borders_name_the_argument() {
        for bad in [
            json!(-1),
            json!("1"),
            json!([1, 2, 3]),
            json!([[1, 2, 3], [1, 1]]),
            json!([[1, -2], [1, 1]]),
            json!(1.5),
            json!(1u64 << 40),
        ] {
            let e = message(ZeroPadding2D::from_config(&json!({ "padding": bad })));
            assert!(
                e.contains("ZeroPadding2D") && e.contains("`padding`"),
                "{bad}: {e}"
            );
        }
        let e = message(Cropping3D::from_config(
            &json!({"cropping": [[1, 1], [1, 1]]}),
        ));
        assert!(e.contains("Cropping3D") && e.contains("`cropping`"), "{e}");
        let e = message(ZeroPadding1D::from_config(&json!({"padding": [1, 2, 3]})));
        assert!(e.contains("`padding`"), "{e}");
    }
}
