//! Ensembles: members' seeds, data and optimizers, averaging their outputs and scoring the
//! average.

use krust_data::{Dataset, Samples, Targets};
use krust_train::{
    average_outputs, bootstrap_indices, bootstrap_sample, member_optimizer, member_seed,
    score_ensemble, EnsembleMode, EnsembleScore, TrainError, ENSEMBLE_OPTIMIZERS,
};

/// `n` one-value samples whose value is their index, labelled by index modulo 3.
fn numbered(n: usize) -> Dataset {
    Dataset::new(
        "numbered",
        Samples::Floats((0..n).map(|i| i as f32).collect()),
        vec![1],
        Targets::Classes {
            labels: (0..n).map(|i| (i % 3) as u32).collect(),
            num_classes: 3,
        },
        vec![],
    )
    .unwrap()
}

/// The sample values of a one-value-per-sample float dataset, in order.
fn values(data: &Dataset) -> Vec<f32> {
    match data.samples() {
        Samples::Floats(values) => values.clone(),
        Samples::Bytes(_) => panic!("float samples expected"),
    }
}

#[test]
fn a_bootstrap_sample_is_as_large_as_the_set_and_repeats_for_a_seed() {
    let train = numbered(200);
    let a = bootstrap_sample(&train, 7);
    assert_eq!(a.len(), train.len());
    assert_eq!(a, bootstrap_sample(&train, 7), "same seed, same resample");
    assert_ne!(a, bootstrap_sample(&train, 8), "another seed draws another");

    // Drawn with replacement: some samples repeat, so some are left out (about 37% of them).
    let drawn = values(&a);
    let mut distinct = drawn.clone();
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    assert!(
        distinct.len() < drawn.len(),
        "no sample was drawn twice: {drawn:?}"
    );
    assert!(
        (100..=160).contains(&distinct.len()),
        "{} distinct samples of 200",
        distinct.len()
    );
    // Each sample keeps its own label.
    let labels = a.labels().unwrap();
    for (value, &label) in drawn.iter().zip(labels) {
        assert_eq!(label, (*value as u32) % 3);
    }
}

#[test]
fn bootstrap_indices_stay_in_range_and_an_empty_set_draws_nothing() {
    let picks = bootstrap_indices(50, 3);
    assert_eq!(picks.len(), 50);
    assert!(picks.iter().all(|&i| i < 50), "{picks:?}");
    assert_eq!(picks, bootstrap_indices(50, 3));
    assert!(bootstrap_indices(0, 3).is_empty());
}

#[test]
fn only_bootstrap_ensembles_of_several_members_resample() {
    let train = numbered(30);
    assert_eq!(
        EnsembleMode::Bootstrap.training_set(&train, 5, 3),
        bootstrap_sample(&train, 5)
    );
    // One model trains on everything, whatever the mode.
    assert_eq!(EnsembleMode::Bootstrap.training_set(&train, 5, 1), train);
    assert_eq!(EnsembleMode::Seeds.training_set(&train, 5, 3), train);
    assert_eq!(EnsembleMode::Optimizers.training_set(&train, 5, 3), train);
}

#[test]
fn members_are_seeded_from_the_base_seed_on() {
    assert_eq!(member_seed(0, 0), 0);
    assert_eq!(
        member_seed(42, 0),
        42,
        "a first member shares the run's seed"
    );
    assert_eq!(member_seed(42, 3), 45);
    assert_eq!(member_seed(u64::MAX, 1), 0, "wraps instead of overflowing");
}

#[test]
fn the_optimizers_mode_cycles_through_five_optimizers() {
    let names: Vec<&str> = (0..7).map(member_optimizer).collect();
    assert_eq!(
        names,
        ["adam", "sgd", "rmsprop", "adamw", "nadam", "adam", "sgd"]
    );
    assert_eq!(ENSEMBLE_OPTIMIZERS.len(), 5);
    assert_eq!(EnsembleMode::Optimizers.optimizer(6), Some("sgd"));
    assert_eq!(EnsembleMode::Seeds.optimizer(1), None);
    assert_eq!(EnsembleMode::Bootstrap.optimizer(1), None);
}

#[test]
fn modes_parse_from_their_names_and_an_unknown_one_lists_them() {
    for mode in EnsembleMode::ALL {
        assert_eq!(mode.name().parse::<EnsembleMode>().unwrap(), mode);
        assert_eq!(mode.to_string(), mode.name());
    }
    assert_eq!(
        " Seeds ".parse::<EnsembleMode>().unwrap(),
        EnsembleMode::Seeds
    );
    let err = "bagging".parse::<EnsembleMode>().unwrap_err().to_string();
    assert!(
        err.contains("bagging") && err.contains("bootstrap, seeds, optimizers"),
        "{err}"
    );
}

#[test]
fn averaging_is_the_element_wise_mean() {
    let members = vec![vec![0.2, 0.8, 1.0], vec![0.6, 0.4, 3.0]];
    let mean = average_outputs(&members).unwrap();
    for (got, want) in mean.iter().zip([0.4, 0.6, 2.0]) {
        assert!((got - want).abs() < 1e-6, "{mean:?}");
    }
    // One member is its own average.
    assert_eq!(
        average_outputs(&[vec![1.5, -2.0]]).unwrap(),
        vec![1.5, -2.0]
    );
}

#[test]
fn mismatched_or_missing_members_are_errors() {
    let err = average_outputs(&[vec![1.0, 2.0], vec![1.0, 2.0], vec![1.0]]).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::EnsembleOutputs {
                member: 3,
                got: 1,
                expected: 2
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("member 3"), "{err}");
    assert!(matches!(
        average_outputs(&[]).unwrap_err(),
        TrainError::EmptyEnsemble
    ));
}

#[test]
fn averaged_probabilities_are_scored_by_their_arg_max() {
    let test = numbered(3); // labels 0, 1, 2
    let members = vec![
        vec![0.9, 0.1, 0.0, 0.2, 0.7, 0.1, 0.5, 0.4, 0.1],
        vec![0.5, 0.3, 0.2, 0.6, 0.3, 0.1, 0.1, 0.1, 0.8],
    ];
    // Averaged rows: [0.7 0.2 0.1] -> 0, [0.4 0.5 0.1] -> 1, [0.3 0.25 0.45] -> 2.
    let averaged = average_outputs(&members).unwrap();
    match score_ensemble(&averaged, &test).unwrap() {
        EnsembleScore::Classification(matrix) => assert_eq!(matrix.accuracy(), 1.0),
        other => panic!("{other:?}"),
    }
    // The second member alone gets the second sample wrong.
    match score_ensemble(&members[1], &test).unwrap() {
        EnsembleScore::Classification(matrix) => {
            assert!((matrix.accuracy() - 2.0 / 3.0).abs() < 1e-9)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn averaged_values_are_scored_by_mean_absolute_error() {
    let test = Dataset::new(
        "values",
        Samples::Floats(vec![0.0; 2]),
        vec![1],
        Targets::Values {
            values: vec![10.0, 20.0],
            width: 1,
        },
        vec![],
    )
    .unwrap();
    let averaged = average_outputs(&[vec![9.0, 22.0], vec![11.0, 20.0]]).unwrap();
    match score_ensemble(&averaged, &test).unwrap() {
        EnsembleScore::Regression {
            mean_absolute_error,
        } => assert!((mean_absolute_error - 0.5).abs() < 1e-9),
        other => panic!("{other:?}"),
    }
    // Outputs that do not match the targets are an error, not a panic.
    assert!(score_ensemble(&[1.0], &test).is_err());
}
