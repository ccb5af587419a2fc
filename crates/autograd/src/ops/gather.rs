//! Row gather (embedding lookup): out[i] = table[index[i]], whose backward scatter-adds each
//! output row's gradient back onto the row it came from.

use crate::{Result, Tensor, TensorError, Var};

impl Var {
    /// Rows of a (rows, width) table picked by `indices`, shaped `out_shape + [width]`.
    pub fn gather_rows(&self, indices: &[usize], out_shape: &[usize]) -> Result<Var> {
        let table = self.value();
        let &[rows, width] = table.shape() else {
            return Err(TensorError::invalid(
                "gather_rows",
                format!("expects a (rows, width) table, got {:?}", table.shape()),
            ));
        };
        if let Some((i, &bad)) = indices.iter().enumerate().find(|(_, &r)| r >= rows) {
            return Err(TensorError::invalid(
                "gather_rows",
                format!("index {bad} at position {i} is out of range for {rows} rows"),
            ));
        }
        let src = table.as_slice();
        let mut out = Vec::with_capacity(indices.len() * width);
        for &r in indices {
            out.extend_from_slice(&src[r * width..(r + 1) * width]);
        }
        let mut shape = out_shape.to_vec();
        shape.push(width);
        let y = Tensor::from_vec(shape, out)?;
        let indices = indices.to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| {
                let mut grad = vec![0.0; rows * width];
                for (i, &r) in indices.iter().enumerate() {
                    let row = &g.as_slice()[i * width..(i + 1) * width];
                    grad[r * width..(r + 1) * width]
                        .iter_mut()
                        .zip(row)
                        .for_each(|(d, v)| *d += v);
                }
                Ok(vec![Some(Tensor::from_vec([rows, width], grad)?)])
            }),
        ))
    }
}
