//! Grad-CAM (Selvaraju et al., 2017): where in an image a convolutional network looked when
//! it scored a class. With A the feature map of a convolutional layer (H'×W'×K, NHWC) and
//! y_c the class's score before softmax, each channel's weight is the spatial mean of
//! ∂y_c/∂A_k, and the map is ReLU(Σ_k α_k A_k), resized bilinearly to the input and scaled
//! to [0, 1].

use krust_autograd::Var;
use krust_nn::{AnyModel, Module, NnError};
use krust_tensor::Tensor;

/// The Grad-CAM heat map of `class` for one input `x` (shape `[1, H, W, C]`) at the layer
/// named `layer`: `H × W` values in `[0, 1]`, row-major (all zeros where no position
/// raises the class score). The model's output must be one row of class scores (logits);
/// a model ending in softmax gives the map of the probability instead.
///
/// The model's weights are left without gradients.
pub fn grad_cam(
    model: &AnyModel,
    x: &Tensor,
    class: usize,
    layer: &str,
) -> Result<Tensor, NnError> {
    let shape = x.shape().to_vec();
    if shape.len() != 4 || shape[0] != 1 {
        return Err(NnError::argument(
            "input",
            format!("Grad-CAM takes one image of shape [1, H, W, C], got {shape:?}"),
        ));
    }
    // The layer's output becomes a leaf of its own, so backward keeps its gradient.
    let mut feature: Option<Var> = None;
    let mut tap = |a: Var| {
        let leaf = Var::parameter(a.value());
        feature = Some(leaf.clone());
        leaf
    };
    let scores = model.forward_tapped(&Var::constant(x.clone()), false, layer, &mut tap)?;
    let score_shape = scores.shape();
    let classes = score_shape.iter().skip(1).product::<usize>();
    if score_shape.len() != 2 || class >= classes {
        return Err(NnError::argument(
            "class",
            format!("class {class} is not among the model's outputs (shape {score_shape:?})"),
        ));
    }
    let mut seed = vec![0.0; classes];
    seed[class] = 1.0;
    let backward = scores.backward_with(Tensor::from_vec(score_shape.clone(), seed)?);
    for p in model.parameters() {
        p.zero_grad();
    }
    backward?;
    let feature = feature.expect("forward_tapped calls the tap or fails");
    let a_shape = feature.shape();
    if a_shape.len() != 4 {
        return Err(NnError::argument(
            "layer",
            format!("layer {layer:?} outputs shape {a_shape:?}, not a feature map [1, H, W, K]"),
        ));
    }
    let (h, w, k) = (a_shape[1], a_shape[2], a_shape[3]);
    let activations = feature.value().to_vec();
    let gradients = feature
        .grad()
        .map_or_else(|| vec![0.0; activations.len()], |g| g.to_vec());
    let cam = class_activation_map(&activations, &gradients, h, w, k);
    let resized = resize_bilinear(&cam, h, w, shape[1], shape[2]);
    Ok(Tensor::from_vec([shape[1], shape[2]], normalize(resized))?)
}

/// Layers whose output is the image itself, prepared: a map over them says which pixels
/// matter, not what the network's features found, so Grad-CAM never picks them.
const INPUT_PREPARATION: &[&str] = &[
    "InputLayer",
    "Normalization",
    "Rescaling",
    "Resizing",
    "CenterCrop",
];

/// The layer Grad-CAM looks at by default: the last one whose output is still a feature
/// map (height × width × channels, larger than 1×1), i.e. the last convolutional stage
/// before global pooling. None for a model without one (an MLP, whose only maps are its
/// prepared inputs).
pub fn last_feature_map_layer(model: &AnyModel) -> Option<String> {
    model
        .layer_graph()
        .into_iter()
        .rev()
        .find(|node| {
            !INPUT_PREPARATION.contains(&node.class_name.as_str())
                && node.output_shape.len() == 3
                && node.output_shape[0] * node.output_shape[1] > 1
        })
        .map(|node| node.name)
}

/// ReLU(Σ_k α_k A_k) with α_k the mean of channel k's gradient, for an `h × w × k` map.
pub fn class_activation_map(
    activations: &[f32],
    gradients: &[f32],
    h: usize,
    w: usize,
    k: usize,
) -> Vec<f32> {
    let positions = (h * w) as f32;
    let mut alpha = vec![0.0f32; k];
    for (i, g) in gradients.iter().enumerate() {
        alpha[i % k] += g / positions;
    }
    activations
        .chunks(k)
        .map(|pixel| {
            pixel
                .iter()
                .zip(&alpha)
                .map(|(a, w)| a * w)
                .sum::<f32>()
                .max(0.0)
        })
        .collect()
}

/// Bilinear resize of an `h × w` map to `out_h × out_w` with half-pixel centres (PyTorch's
/// `interpolate(mode="bilinear", align_corners=False)`, OpenCV's `resize`).
pub fn resize_bilinear(map: &[f32], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<f32> {
    let source = |out: usize, scale: f32, size: usize| {
        let s = ((out as f32 + 0.5) * scale - 0.5).max(0.0);
        let low = (s.floor() as usize).min(size - 1);
        let high = (low + 1).min(size - 1);
        (low, high, s - low as f32)
    };
    let (sy, sx) = (h as f32 / out_h as f32, w as f32 / out_w as f32);
    let mut out = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let (y0, y1, fy) = source(y, sy, h);
        for x in 0..out_w {
            let (x0, x1, fx) = source(x, sx, w);
            let top = map[y0 * w + x0] * (1.0 - fx) + map[y0 * w + x1] * fx;
            let bottom = map[y1 * w + x0] * (1.0 - fx) + map[y1 * w + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Scales to [0, 1] by the maximum (the map is non-negative); an all-zero map stays zero.
fn normalize(mut map: Vec<f32>) -> Vec<f32> {
    let (low, high) = map
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let spread = high - low;
    for v in &mut map {
        *v = if spread > 0.0 {
            (*v - low) / spread
        } else {
            0.0
        };
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_weights_are_mean_gradients_and_negative_sums_are_cut() {
        // 1×2 map, 2 channels: α = (mean(1, 3), mean(-2, 0)) = (2, -1).
        let activations = [1.0, 1.0, 0.5, 2.0];
        let gradients = [1.0, -2.0, 3.0, 0.0];
        assert_eq!(
            class_activation_map(&activations, &gradients, 1, 2, 2),
            [1.0, 0.0]
        );
    }

    #[test]
    fn bilinear_resize_uses_half_pixel_centres() {
        // [0, 1] to width 4: centres at -0.25, 0.25, 0.75, 1.25 → clamped 0, .25, .75, 1.
        assert_eq!(
            resize_bilinear(&[0.0, 1.0], 1, 2, 1, 4),
            [0.0, 0.25, 0.75, 1.0]
        );
        assert_eq!(resize_bilinear(&[5.0], 1, 1, 2, 2), [5.0; 4]);
    }

    #[test]
    fn normalize_maps_to_the_unit_range() {
        assert_eq!(normalize(vec![1.0, 3.0, 2.0]), [0.0, 1.0, 0.5]);
        assert_eq!(normalize(vec![0.0, 0.0]), [0.0, 0.0]);
    }
}
