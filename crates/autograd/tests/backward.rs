//! How the backward pass treats the graph: gradient accumulation and `zero_grad`, `no_grad`,
//! errors for non-scalar or constant roots, variables used more than once, tie and kink
//! conventions, and the consumed-graph rule (a second backward through the same nodes is an
//! error, never a silent loss of gradient). Values are hand-computed; no fixtures are read.

use krust_autograd::{is_grad_enabled, no_grad, Tensor, Var};

fn tensor(shape: &[usize], values: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), values.to_vec()).unwrap()
}

fn grad_of(v: &Var) -> Vec<f32> {
    v.grad().expect("variable has no gradient").to_vec()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

#[test]
fn gradients_accumulate_across_backward_passes_until_zero_grad() {
    let w = Var::parameter(tensor(&[3], &[1.0, -2.0, 0.5]));
    let x = Var::constant(tensor(&[3], &[3.0, 4.0, -1.0]));
    let step = || w.mul(&x).unwrap().sum().unwrap().backward().unwrap();
    step();
    assert_eq!(grad_of(&w), vec![3.0, 4.0, -1.0]);
    step();
    assert_eq!(
        grad_of(&w),
        vec![6.0, 8.0, -2.0],
        "second pass adds to the first"
    );
    w.zero_grad();
    assert!(w.grad().is_none(), "zero_grad clears the gradient");
    step();
    assert_eq!(
        grad_of(&w),
        vec![3.0, 4.0, -1.0],
        "after zero_grad only the new pass counts"
    );
}

#[test]
fn constants_receive_no_gradient() {
    let w = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    let c = Var::constant(tensor(&[2], &[5.0, 6.0]));
    w.mul(&c).unwrap().sum().unwrap().backward().unwrap();
    assert!(!c.requires_grad());
    assert!(c.grad().is_none());
    assert_eq!(grad_of(&w), vec![5.0, 6.0]);
}

#[test]
fn no_grad_records_nothing_and_restores_recording() {
    let w = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    let y = no_grad(|| {
        assert!(!is_grad_enabled());
        let inner = no_grad(|| w.square());
        assert!(
            !is_grad_enabled(),
            "a nested no_grad must not re-enable recording on exit"
        );
        assert!(!inner.requires_grad());
        w.exp().mul(&w).unwrap().sum().unwrap()
    });
    assert!(is_grad_enabled(), "recording resumes after no_grad");
    assert!(
        !y.requires_grad(),
        "a result computed under no_grad is a constant"
    );
    assert_close(
        &y.value().to_vec(),
        &[1f32.exp() + 2.0 * 2f32.exp()],
        "value is still computed",
    );
    assert!(
        y.backward().is_err(),
        "backward from a no_grad result must fail"
    );
    assert!(w.grad().is_none());
    // Outside no_grad the same op is recorded again.
    assert!(w.square().requires_grad());
}

#[test]
fn backward_on_a_non_scalar_is_an_error() {
    let w = Var::parameter(tensor(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let y = w.mul_scalar(2.0);
    assert!(
        y.backward().is_err(),
        "backward() needs a one-element result"
    );
    assert!(
        w.grad().is_none(),
        "a rejected backward touches no gradient"
    );
    assert!(
        y.backward_with(Tensor::ones([3, 2])).is_err(),
        "seed gradient of the wrong shape"
    );
    y.backward_with(Tensor::ones([2, 3])).unwrap();
    assert_eq!(grad_of(&w), vec![2.0; 6]);
}

#[test]
fn backward_on_a_one_element_non_scalar_is_allowed() {
    let w = Var::parameter(tensor(&[1, 1], &[3.0]));
    w.square().backward().unwrap();
    assert_eq!(grad_of(&w), vec![6.0]);
}

#[test]
fn backward_from_a_constant_is_an_error() {
    let c = Var::constant(Tensor::scalar(1.0));
    assert!(c.backward().is_err());
}

#[test]
fn a_var_used_twice_gets_the_summed_gradient() {
    let x = Var::parameter(tensor(&[3], &[1.0, -2.0, 0.5]));
    x.mul(&x).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(grad_of(&x), vec![2.0, -4.0, 1.0], "d(x*x)/dx = 2x");

    x.zero_grad();
    x.add(&x).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(grad_of(&x), vec![2.0; 3], "d(x+x)/dx = 2");

    // Diamond: y = exp(x) feeds two branches that meet again; d(y*y + y)/dx = (2y + 1) y.
    x.zero_grad();
    let y = x.exp();
    y.mul(&y)
        .unwrap()
        .add(&y)
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    let want: Vec<f32> = [1.0f32, -2.0, 0.5]
        .iter()
        .map(|v| (2.0 * v.exp() + 1.0) * v.exp())
        .collect();
    assert_close(&grad_of(&x), &want, "diamond");
}

#[test]
fn interior_nodes_keep_no_gradient_after_backward() {
    let x = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    let y = x.mul_scalar(3.0);
    y.sum().unwrap().backward().unwrap();
    assert!(y.grad().is_none(), "interior nodes hand their gradient on");
    assert_eq!(grad_of(&x), vec![3.0, 3.0]);
}

#[test]
fn second_backward_from_the_same_loss_is_an_error_and_changes_nothing() {
    let x = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    let loss = x.square().sum().unwrap();
    loss.backward().unwrap();
    assert_eq!(grad_of(&x), vec![2.0, 4.0]);
    let err = loss
        .backward()
        .expect_err("the graph was consumed by the first backward");
    assert!(
        err.to_string().contains("consumed"),
        "unhelpful error: {err}"
    );
    assert_eq!(grad_of(&x), vec![2.0, 4.0], "no double counting");
    assert!(
        loss.grad().is_none(),
        "the failed call left no stray gradient on the loss"
    );
}

#[test]
fn losses_sharing_a_consumed_subgraph_error_instead_of_dropping_gradients() {
    let x = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    let y = x.exp();
    let first = y.sum().unwrap();
    let second = y.mul_scalar(3.0).sum().unwrap();
    first.backward().unwrap();
    // `second` reaches y, whose rule `first` consumed: continuing would give x only the
    // gradient of `first`, so this must fail.
    assert!(second.backward().is_err());
    assert_close(
        &grad_of(&x),
        &[1f32.exp(), 2f32.exp()],
        "only the first loss counted",
    );

    // The supported way: add the losses and run one backward.
    let x = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    let y = x.exp();
    let total = y
        .sum()
        .unwrap()
        .add(&y.mul_scalar(3.0).sum().unwrap())
        .unwrap();
    total.backward().unwrap();
    assert_close(
        &grad_of(&x),
        &[4.0 * 1f32.exp(), 4.0 * 2f32.exp()],
        "summed losses",
    );
}

#[test]
fn rebuilding_the_forward_pass_allows_another_backward() {
    let x = Var::parameter(tensor(&[2], &[1.0, 2.0]));
    for _ in 0..3 {
        x.square().sum().unwrap().backward().unwrap();
    }
    assert_eq!(grad_of(&x), vec![6.0, 12.0]);
}

#[test]
fn backward_from_a_parameter_seeds_its_own_gradient() {
    let w = Var::parameter(Tensor::scalar(4.0));
    w.backward().unwrap();
    w.backward().unwrap();
    assert_eq!(
        grad_of(&w),
        vec![2.0],
        "a leaf has no graph to consume; seeds accumulate"
    );
}

#[test]
fn max_axes_splits_the_gradient_equally_among_ties() {
    let x = Var::parameter(tensor(&[2, 4], &[1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, -1.0]));
    x.max_axes(&[1], false)
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    let third = 1.0 / 3.0;
    assert_close(
        &grad_of(&x),
        &[0.0, 0.5, 0.5, 0.0, third, third, third, 0.0],
        "ties",
    );
}

#[test]
fn maximum_and_minimum_send_a_tie_gradient_to_the_first_operand() {
    let a = Var::parameter(tensor(&[3], &[1.0, 2.0, 3.0]));
    let b = Var::parameter(tensor(&[3], &[1.0, 5.0, 0.0]));
    a.maximum(&b).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(grad_of(&a), vec![1.0, 0.0, 1.0]);
    assert_eq!(grad_of(&b), vec![0.0, 1.0, 0.0]);
    a.zero_grad();
    b.zero_grad();
    a.minimum(&b).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(grad_of(&a), vec![1.0, 1.0, 0.0]);
    assert_eq!(grad_of(&b), vec![0.0, 0.0, 1.0]);
}

#[test]
fn relu_and_abs_have_zero_gradient_at_zero() {
    let x = Var::parameter(tensor(&[3], &[-1.0, 0.0, 2.0]));
    x.relu().sum().unwrap().backward().unwrap();
    assert_eq!(grad_of(&x), vec![0.0, 0.0, 1.0]);
    x.zero_grad();
    x.abs().sum().unwrap().backward().unwrap();
    assert_eq!(grad_of(&x), vec![-1.0, 0.0, 1.0]);
}

#[test]
fn max_pool2d_routes_each_gradient_to_its_window_winner() {
    // One 3x3 channel, pool 2 stride 1: the 9 (centre) wins all four windows.
    let x = Var::parameter(tensor(
        &[1, 3, 3, 1],
        &[1.0, 2.0, 3.0, 4.0, 9.0, 5.0, 6.0, 7.0, 8.0],
    ));
    let spec = krust_tensor::Pool2dSpec {
        pool_size: (2, 2),
        strides: (1, 1),
        padding: krust_tensor::Padding::Valid,
        explicit_padding: None,
        ceil_mode: false,
    };
    x.max_pool2d(spec)
        .unwrap()
        .sum()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(
        grad_of(&x),
        vec![0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn sum_over_an_empty_axis_is_zero_and_differentiable() {
    let x = Var::parameter(Tensor::zeros([2, 0, 3]));
    let s = x.sum_axes(&[1], false).unwrap();
    assert_eq!(s.shape(), vec![2, 3]);
    assert_eq!(s.value().to_vec(), vec![0.0; 6]);
    s.sum().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().shape(), &[2, 0, 3]);
}

#[test]
fn softmax_cross_entropy_backward_scales_with_the_upstream_gradient() {
    let logits = Var::parameter(tensor(&[2, 3], &[0.0, 0.0, 0.0, 1.0, 2.0, 3.0]));
    let loss = logits.softmax_cross_entropy(&[2, 0]).unwrap();
    loss.mul_scalar(4.0).backward().unwrap();
    let p: Vec<f32> = [1.0f32, 2.0, 3.0]
        .iter()
        .map(|v| v.exp() / (1f32.exp() + 2f32.exp() + 3f32.exp()))
        .collect();
    let third = 1.0 / 3.0;
    // 4 * (softmax - onehot) / batch of 2.
    let want = [
        2.0 * third,
        2.0 * third,
        2.0 * (third - 1.0),
        2.0 * (p[0] - 1.0),
        2.0 * p[1],
        2.0 * p[2],
    ];
    assert_close(&grad_of(&logits), &want, "cross-entropy gradient");
}
