//! Drawing into a temporary PNG next to the target and renaming it into place, so a reader
//! never sees a half-written plot.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font;
use crate::PlotError;

/// The drawing area every plot function draws on.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What drawing code returns: plotters' errors, boxed, since only their message is kept.
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Draws a `width × height` PNG with `draw` and moves it to `path`.
pub(crate) fn render(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Canvas<'_>) -> DrawResult,
) -> Result<(), PlotError> {
    font::register_bundled_fonts();
    let temporary = temporary_sibling(path)?;
    let drawn = {
        // The backend is dropped at the end of this block; its Drop would try to save again,
        // so the temporary file is only cleaned up after it.
        let root = BitMapBackend::new(&temporary, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Box::<dyn Error>::from)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Box::<dyn Error>::from))
    };
    if let Err(error) = drawn {
        let _ = fs::remove_file(&temporary);
        return Err(PlotError::Draw {
            path: path.to_path_buf(),
            message: error.to_string(),
        });
    }
    fs::rename(&temporary, path).map_err(|source| {
        let _ = fs::remove_file(&temporary);
        PlotError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// A unique hidden name in the target's directory (a rename is only atomic within one file
/// system). It ends in `.png` because the backend picks the encoder from the extension.
fn temporary_sibling(path: &Path) -> Result<PathBuf, PlotError> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let file_name = path
        .file_name()
        .ok_or_else(|| PlotError::invalid(path, "the path has no file name"))?;
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        ".{}.{}-{unique}.tmp.png",
        file_name.to_string_lossy(),
        std::process::id()
    );
    Ok(path.with_file_name(name))
}
