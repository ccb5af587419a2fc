//! Layers against Keras 3: each case in fixtures/keras/layers (made by
//! tools/make_keras_layer_fixtures.py) is checked by the layer harness's case for its class
//! (`check_keras_layer_cases_of`, in tests/harness.rs), so a failure names the layer. This file
//! checks that the fixtures are all there and that each belongs to a registered class, so no
//! case goes unchecked.

use krust_nn::layers::layer_classes;
mod keras_fixtures;

use keras_fixtures::{case_dirs, keras_layer_case_class};

#[test]
fn every_keras_layer_fixture_belongs_to_a_registered_class() {
    let dirs = case_dirs("layers");
    assert!(
        dirs.len() >= 80,
        "expected the Keras layer fixtures, found {}",
        dirs.len()
    );
    let classes: Vec<&str> = layer_classes().collect();
    for dir in dirs {
        let class = keras_layer_case_class(&dir);
        assert!(
            classes.contains(&class.as_str()),
            "{}: class {class} is not in the layer registry",
            dir.display()
        );
    }
}
