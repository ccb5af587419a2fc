//! The README's "How to add a layer" quotes `RepeatVector` as it is in the tree: the quoted
//! code must be the file's, line for line.

#[test]
fn the_readme_quotes_repeat_vector_as_it_is() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let file =
        std::fs::read_to_string(format!("{root}/crates/nn/src/layers/repeat_vector.rs")).unwrap();
    let from = file.find("/// Keras's `RepeatVector(n)`").unwrap();
    // The README indents the block by three spaces (it sits in a numbered list).
    let quoted: String = file[from..]
        .trim_end()
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_string()
            } else {
                format!("   {line}\n")
            }
        })
        .collect();
    let block = format!("   ```rust\n{quoted}   ```\n");
    assert!(
        readme.contains(&block),
        "README.md's RepeatVector block differs from repeat_vector.rs; expected:\n{block}"
    );
}
