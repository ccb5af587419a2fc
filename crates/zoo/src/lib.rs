//! krust-zoo: classic architectures, buildable for any input size and class count.
//!
//! Two kinds: krust's small Sequential models (`lenet5`, `small_cnn`, `mlp`, also built by
//! [`build`]), and torchvision's ImageNet architectures built with the functional API whose
//! weighted layers are named by their PyTorch module paths (`layer1.0.conv1`,
//! `features.denseblock1.denselayer1.conv1`, `classifier.6`, ...), so that torchvision state
//! dicts map onto them by name. All of them end in logits (no softmax).

mod alexnet;
mod blocks;
mod densenet;
mod depthwise_bn;
mod efficientnet_lite;
mod error;
mod googlenet;
pub mod gradcam;
mod imagenet;
mod lenet;
mod mlp;
mod mobilenet_v1;
mod mobilenet_v2;
pub mod preprocess;
pub mod pretrained;
mod resnet;
mod small_cnn;
mod squeezenet;
mod torch_weights;
mod vgg;

pub use error::ZooError;
pub use imagenet::imagenet_classes;
pub use lenet::lenet5;
pub use preprocess::Preprocessing;

use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::{Input, Layer};
use krust_nn::{AnyModel, NnError, Result, Sequential};

/// How an [`Architecture`] is put together.
#[derive(Clone, Copy)]
pub enum Builder {
    /// Appends the layers to a Sequential model that already has its input (and any
    /// preprocessing); the last argument is the number of outputs.
    Sequential(fn(&mut Sequential, usize) -> Result<()>),
    /// Maps the (preprocessed) input symbol to the logits for the given number of classes.
    Functional(fn(&Graph, &Symbol, usize) -> Result<Symbol>),
}

/// One buildable architecture of the zoo.
#[derive(Clone, Copy)]
pub struct Architecture {
    /// Canonical name, as [`canonical_name`] returns it.
    pub name: &'static str,
    /// Smallest (height, width) the architecture accepts.
    pub min_input: (usize, usize),
    /// The input (height, width, channels) it was designed for.
    pub default_input: (usize, usize, usize),
    /// Where the definition comes from: "krust", "torchvision" (0.29), "Keras applications"
    /// or "efficientnet-lite-pytorch 0.1.0".
    pub source: &'static str,
    pub builder: Builder,
}

impl Architecture {
    const fn krust(
        name: &'static str,
        min_input: (usize, usize),
        add_layers: fn(&mut Sequential, usize) -> Result<()>,
    ) -> Self {
        Architecture {
            name,
            min_input,
            default_input: (28, 28, 1),
            source: "krust",
            builder: Builder::Sequential(add_layers),
        }
    }

    const fn keras(
        name: &'static str,
        min_input: (usize, usize),
        build: fn(&Graph, &Symbol, usize) -> Result<Symbol>,
    ) -> Self {
        Architecture {
            source: "Keras applications",
            ..Architecture::torchvision(name, min_input, build)
        }
    }

    const fn efficientnet_lite_pytorch(
        name: &'static str,
        min_input: (usize, usize),
        build: fn(&Graph, &Symbol, usize) -> Result<Symbol>,
    ) -> Self {
        Architecture {
            source: "efficientnet-lite-pytorch 0.1.0",
            ..Architecture::torchvision(name, min_input, build)
        }
    }

    const fn torchvision(
        name: &'static str,
        min_input: (usize, usize),
        build: fn(&Graph, &Symbol, usize) -> Result<Symbol>,
    ) -> Self {
        Architecture {
            name,
            min_input,
            default_input: (224, 224, 3),
            source: "torchvision",
            builder: Builder::Functional(build),
        }
    }
}

/// Every architecture [`build_model`] knows, one line each. The smallest inputs are where
/// PyTorch's own module still runs (ResNet's stride-2 layers pad, so even 1x1 works).
pub const ARCHITECTURES: &[Architecture] = &[
    Architecture::krust("lenet5", (12, 12), lenet::add_lenet5_layers),
    Architecture::krust("small_cnn", (4, 4), small_cnn::add_small_cnn_layers),
    Architecture::krust("mlp", (1, 1), mlp::add_mlp_layers),
    Architecture::torchvision("alexnet", (63, 63), alexnet::alexnet),
    Architecture::torchvision("vgg11", (32, 32), vgg::vgg11),
    Architecture::torchvision("vgg16", (32, 32), vgg::vgg16),
    Architecture::torchvision("vgg19", (32, 32), vgg::vgg19),
    Architecture::torchvision("vgg11_bn", (32, 32), vgg::vgg11_bn),
    Architecture::torchvision("vgg16_bn", (32, 32), vgg::vgg16_bn),
    Architecture::torchvision("vgg19_bn", (32, 32), vgg::vgg19_bn),
    Architecture::torchvision("resnet18", (1, 1), resnet::resnet18),
    Architecture::torchvision("resnet34", (1, 1), resnet::resnet34),
    Architecture::torchvision("resnet50", (1, 1), resnet::resnet50),
    Architecture::torchvision("googlenet", (15, 15), googlenet::googlenet),
    Architecture::torchvision("squeezenet1_1", (17, 17), squeezenet::squeezenet1_1),
    Architecture::torchvision("densenet121", (29, 29), densenet::densenet121),
    Architecture::torchvision("mobilenet_v2", (1, 1), mobilenet_v2::mobilenet_v2),
    Architecture::keras("mobilenet_v1", (32, 32), mobilenet_v1::mobilenet_v1),
    Architecture::efficientnet_lite_pytorch(
        "efficientnet_lite0",
        (1, 1),
        efficientnet_lite::efficientnet_lite0,
    ),
];

/// Other names for an architecture, compared after [`canonical_name`]'s normalization.
const ALIASES: &[(&str, &str)] = &[("lenet", "lenet5"), ("inceptionv1", "googlenet")];

/// Names accepted by [`build`] (the Sequential models).
pub const MODEL_NAMES: &[&str] = &["lenet5", "small_cnn", "mlp"];

/// Lower case without '-', '_', '.' or spaces: "ResNet-18", "resnet_18" and "resnet18" agree.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn known_names() -> String {
    ARCHITECTURES
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The architecture called `name` in any spelling [`canonical_name`] accepts.
pub fn architecture(name: &str) -> Result<&'static Architecture> {
    let wanted = normalize(name);
    let wanted = ALIASES
        .iter()
        .find(|(alias, _)| *alias == wanted)
        .map_or(wanted.clone(), |(_, to)| to.to_string());
    ARCHITECTURES
        .iter()
        .find(|a| normalize(a.name) == wanted)
        .ok_or_else(|| {
            NnError::argument(
                "model",
                format!("unknown model {name:?} (known: {})", known_names()),
            )
        })
}

/// The canonical name of a model given as "ResNet18", "resnet-18", "vgg16-bn",
/// "squeezenet1-1", "LeNet-5", ...; an unknown name is an error listing the known ones.
pub fn canonical_name(name: &str) -> Result<&'static str> {
    architecture(name).map(|a| a.name)
}

/// Builds the architecture `name` for per-sample `input_shape` ((h, w, c) for images) with
/// `classes` outputs.
pub fn build_model(name: &str, input_shape: &[usize], classes: usize) -> Result<AnyModel> {
    build_model_with_preprocessing(name, input_shape, classes, Vec::new())
}

/// Like [`build_model`], with `preprocessing` layers (an input `Normalization`, say) placed
/// between the input and the architecture's first layer, so that they are saved with the
/// model and applied by `predict`.
pub fn build_model_with_preprocessing(
    name: &str,
    input_shape: &[usize],
    classes: usize,
    preprocessing: Vec<Box<dyn Layer>>,
) -> Result<AnyModel> {
    let arch = architecture(name)?;
    if classes == 0 {
        return Err(NnError::argument(
            "classes",
            format!("{} needs at least 1 class", arch.name),
        ));
    }
    match arch.builder {
        Builder::Sequential(add_layers) => {
            let mut model = Sequential::new();
            model.add(Input::new(input_shape))?;
            for layer in preprocessing {
                model.add_boxed(layer)?;
            }
            let shape = model.output_shape().unwrap_or(input_shape).to_vec();
            check_input(arch, &shape)?;
            add_layers(&mut model, classes)?;
            Ok(AnyModel::Sequential(model))
        }
        Builder::Functional(build) => {
            if input_shape.len() != 3 {
                return Err(NnError::argument(
                    "input_shape",
                    format!(
                        "{} takes images (height, width, channels), got {input_shape:?}",
                        arch.name
                    ),
                ));
            }
            let graph = Graph::new();
            let inputs = graph.input(input_shape);
            let mut x = inputs.clone();
            for layer in preprocessing {
                x = graph.layer_boxed(layer).call(&[&x])?;
            }
            check_input(arch, &x.shape())?;
            let logits = build(&graph, &x, classes)?;
            Ok(AnyModel::Functional(graph.model(&[&inputs], &[&logits])?))
        }
    }
}

/// Refuses images smaller than the architecture's minimum, naming it.
fn check_input(arch: &Architecture, shape: &[usize]) -> Result<()> {
    let (min_h, min_w) = arch.min_input;
    match shape {
        &[h, w, _] if h < min_h || w < min_w => Err(NnError::argument(
            "input_shape",
            format!(
                "{} needs inputs of at least {min_h}x{min_w} pixels (height x width), got {h}x{w}",
                arch.name
            ),
        )),
        _ => Ok(()),
    }
}

/// Builds a Sequential zoo model by name for per-sample `input_shape` (h, w, c) and `classes`
/// outputs (the functional architectures are built by [`build_model`]).
pub fn build(name: &str, input_shape: &[usize], classes: usize) -> Result<Sequential> {
    build_with_preprocessing(name, input_shape, classes, Vec::new())
}

/// Like [`build`], with `preprocessing` layers (such as an input `Normalization`) placed
/// between the input and the architecture's first layer, so that they are saved with the
/// model and applied by `predict`.
pub fn build_with_preprocessing(
    name: &str,
    input_shape: &[usize],
    classes: usize,
    preprocessing: Vec<Box<dyn Layer>>,
) -> Result<Sequential> {
    let add_layers = match name {
        "lenet5" | "lenet-5" | "lenet" => lenet::add_lenet5_layers,
        "small_cnn" | "small-cnn" => small_cnn::add_small_cnn_layers,
        "mlp" => mlp::add_mlp_layers,
        other => {
            let hint = match canonical_name(other) {
                Ok(known) => format!("; {known} is a functional model: use build_model"),
                Err(_) => String::new(),
            };
            return Err(NnError::argument(
                "model",
                format!(
                    "unknown model {other:?} (known: {}){hint}",
                    MODEL_NAMES.join(", ")
                ),
            ));
        }
    };
    let mut model = Sequential::new();
    model.add(Input::new(input_shape))?;
    for layer in preprocessing {
        model.add_boxed(layer)?;
    }
    add_layers(&mut model, classes)?;
    Ok(model)
}
