//! Prints the summary (layer names, output shapes, parameters) of a zoo model:
//! `cargo run --release -p krust-zoo --example zoo_summary -- resnet18 224 224 3 1000`.
//! tools/zoo_compare_layer_shapes.py compares its shapes with torchvision's layer by layer.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: zoo_summary MODEL [HEIGHT WIDTH CHANNELS CLASSES]";
    let Some(name) = args.first() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let numbers: Result<Vec<usize>, _> = args[1..].iter().map(|a| a.parse()).collect();
    let numbers = match numbers {
        Ok(n) if n.is_empty() => vec![224, 224, 3, 1000],
        Ok(n) if n.len() == 4 => n,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    match krust_zoo::build_model(name, &numbers[..3], numbers[3]) {
        Ok(model) => print!("{}", model.summary()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
