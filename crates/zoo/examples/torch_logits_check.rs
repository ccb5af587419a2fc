//! Loads a torchvision state dict (one `.npy` per entry, as tools/zoo_torch_logits.py writes
//! them) into a zoo model by name and compares its logits with PyTorch's:
//! `torch_logits_check DIR MODEL HEIGHT WIDTH CLASSES`, DIR holding `weights/<key>.npy`,
//! `input.npy` (N, H, W, 3) and `logits.npy` (N, CLASSES). Prints the largest difference.

use krust_import::npy::read_f32;
use krust_nn::Module;
use std::path::Path;

fn run(args: &[String]) -> Result<(), String> {
    let [dir, model, h, w, classes] = args else {
        return Err("usage: torch_logits_check DIR MODEL HEIGHT WIDTH CLASSES".into());
    };
    let number = |s: &str| s.parse::<usize>().map_err(|e| format!("{s:?}: {e}"));
    let dir = Path::new(dir);
    let m = krust_zoo::build_model(model, &[number(h)?, number(w)?, 3], number(classes)?)
        .map_err(|e| e.to_string())?;
    let mut loaded = 0;
    for (name, var) in m.named_weights() {
        let (layer, weight) = name
            .rsplit_once('/')
            .ok_or_else(|| format!("weight name {name}"))?;
        let torch = match weight {
            "kernel" | "gamma" => "weight",
            "bias" | "beta" => "bias",
            "moving_mean" => "running_mean",
            "moving_variance" => "running_var",
            other => return Err(format!("unexpected weight {other} of {layer}")),
        };
        let path = dir.join("weights").join(format!("{layer}.{torch}.npy"));
        let t = read_f32(&path).map_err(|e| e.to_string())?;
        // PyTorch's (out, in, kh, kw) and (out, in) to krust's (kh, kw, in, out) and (in, out).
        let t = match t.shape().len() {
            4 => t.permute(&[2, 3, 1, 0]),
            2 => t.permute(&[1, 0]),
            _ => Ok(t),
        }
        .map_err(|e| e.to_string())?;
        var.set_value(t).map_err(|e| format!("{name}: {e}"))?;
        loaded += 1;
    }
    let x = read_f32(&dir.join("input.npy")).map_err(|e| e.to_string())?;
    let want = read_f32(&dir.join("logits.npy")).map_err(|e| e.to_string())?;
    let got = m.predict(&[x]).map_err(|e| e.to_string())?;
    if got[0].shape() != want.shape() {
        return Err(format!(
            "logits shape {:?}, PyTorch's {:?}",
            got[0].shape(),
            want.shape()
        ));
    }
    let scale = want.as_slice().iter().fold(0f32, |a, v| a.max(v.abs()));
    let diff = got[0]
        .as_slice()
        .iter()
        .zip(want.as_slice())
        .fold(0f32, |a, (g, w)| a.max((g - w).abs()));
    println!("{model} {h}x{w}: {loaded} weights loaded, max |logit difference| {diff:.3e} (largest |logit| {scale:.3e})");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
