//! `groups` and `depth_multiplier` are read by one reader (`config::args::positive`) for
//! every convolution class: a negative, zero, fractional or string value, or groups that do
//! not divide the channels, is an error naming the argument, where some layers used to fall
//! back silently to 1.

mod malformed;

use krust_nn::layers::{
    layer_from_config, Conv1D, Conv2D, Conv3D, DepthwiseConv2D, Layer, SeparableConv1D,
    SeparableConv2D,
};
use malformed::{message, with};
use serde_json::{json, Value};

const MALFORMED: [&str; 5] = ["-1", "0", "1.5", "\"2\"", "[2]"];

#[test]
fn malformed_groups_name_the_argument_in_every_regular_convolution() {
    for (class, base) in [
        ("Conv1D", json!({"filters": 4, "kernel_size": 3})),
        ("Conv2D", json!({"filters": 4, "kernel_size": 3})),
        ("Conv3D", json!({"filters": 4, "kernel_size": 2})),
    ] {
        for value in MALFORMED {
            let what = format!("{class} groups {value}");
            let e = message(
                &what,
                layer_from_config(class, &with(&base, "groups", value)),
            );
            assert!(e.contains(class) && e.contains("`groups`"), "{what}: {e}");
        }
    }
}

#[test]
fn malformed_depth_multipliers_name_the_argument_in_every_depthwise_convolution() {
    for (class, base) in [
        ("DepthwiseConv2D", json!({"kernel_size": 3})),
        ("SeparableConv1D", json!({"filters": 4, "kernel_size": 3})),
        ("SeparableConv2D", json!({"filters": 4, "kernel_size": 3})),
    ] {
        for value in MALFORMED {
            let what = format!("{class} depth_multiplier {value}");
            let config = with(&base, "depth_multiplier", value);
            let e = message(&what, layer_from_config(class, &config));
            assert!(
                e.contains(class) && e.contains("`depth_multiplier`"),
                "{what}: {e}"
            );
        }
    }
}

#[test]
fn groups_that_do_not_divide_the_channels_or_filters_fail_at_build_naming_groups() {
    let cases: [(&str, Value, &[usize]); 4] = [
        (
            "Conv2D",
            json!({"filters": 6, "kernel_size": 3, "groups": 4}),
            &[5, 5, 4 * 2],
        ),
        (
            "Conv2D",
            json!({"filters": 6, "kernel_size": 3, "groups": 3}),
            &[5, 5, 4],
        ),
        (
            "Conv1D",
            json!({"filters": 4, "kernel_size": 2, "groups": 3}),
            &[5, 3],
        ),
        (
            "Conv3D",
            json!({"filters": 4, "kernel_size": 2, "groups": 2}),
            &[3, 3, 3, 3],
        ),
    ];
    for (class, config, input) in cases {
        let mut layer = layer_from_config(class, &config).unwrap();
        let what = format!("{class} {config} on {input:?}");
        let e = message(&what, layer.build(input));
        assert!(e.contains(class) && e.contains("`groups`"), "{what}: {e}");
    }
}

#[test]
fn builder_made_zero_groups_and_multipliers_fail_at_build_naming_the_argument() {
    let e = message(
        "groups 0",
        Conv2D::new(4, (3, 3)).with_groups(0).build(&[5, 5, 4]),
    );
    assert!(e.contains("`groups`"), "{e}");
    let e = message(
        "Conv1D groups 0",
        Conv1D::new(4, 3).with_groups(0).build(&[5, 4]),
    );
    assert!(e.contains("`groups`"), "{e}");
    let e = message(
        "Conv3D groups 0",
        Conv3D::new(4, [2, 2, 2])
            .with_groups(0)
            .build(&[3, 3, 3, 4]),
    );
    assert!(e.contains("`groups`"), "{e}");
    let e = message(
        "DepthwiseConv2D multiplier 0",
        DepthwiseConv2D::new((3, 3), 0).build(&[5, 5, 2]),
    );
    assert!(e.contains("`depth_multiplier`"), "{e}");
    let e = message(
        "SeparableConv1D multiplier 0",
        SeparableConv1D::new(2, 3)
            .with_depth_multiplier(0)
            .build(&[5, 2]),
    );
    assert!(e.contains("`depth_multiplier`"), "{e}");
}

#[test]
fn transposed_convolutions_take_no_groups_and_say_so() {
    let config = json!({"filters": 2, "kernel_size": 3, "groups": 2});
    let e = message(
        "Conv2DTranspose groups",
        layer_from_config("Conv2DTranspose", &config),
    );
    assert!(e.contains("`groups`"), "{e}");
}

#[test]
fn well_formed_groups_and_multipliers_still_read_and_round_trip() {
    let conv = layer_from_config(
        "Conv2D",
        &json!({"filters": 6, "kernel_size": 3, "groups": 3}),
    )
    .unwrap();
    assert_eq!(conv.config()["groups"], 3);
    let mut sep = SeparableConv2D::from_config(
        &json!({"filters": 4, "kernel_size": 3, "depth_multiplier": 2}),
    )
    .unwrap();
    assert_eq!(sep.config()["depth_multiplier"], 2);
    assert_eq!(sep.build(&[5, 5, 3]).unwrap(), vec![3, 3, 4]);
    let absent = DepthwiseConv2D::from_config(&json!({"kernel_size": 3})).unwrap();
    assert_eq!(absent.config()["depth_multiplier"], 1);
}

#[test]
fn forward_on_an_input_of_the_wrong_rank_is_an_error_naming_the_layer() {
    use krust_autograd::Var;
    use krust_nn::layers::{Conv1D, Conv3D, Layer};
    use krust_tensor::Tensor;
    let mut conv1d = Conv1D::new(2, 3);
    conv1d.build(&[5, 4]).unwrap();
    let e = conv1d
        .forward(&Var::constant(Tensor::zeros([2, 4])), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Conv1D") && e.contains("[2, 4]"), "{e}");
    let mut conv3d = Conv3D::new(2, [1, 1, 1]);
    conv3d.build(&[3, 3, 3, 2]).unwrap();
    let e = conv3d
        .forward(&Var::constant(Tensor::zeros([1, 3, 3, 2])), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Conv3D"), "{e}");
}
