//! Row gather (embedding lookup): out[i] = table[index[i]], whose backward scatter-adds each
//! output row's gradient back onto the row it came from.

use crate::{Result, Var};

impl Var {
    /// Rows of a (rows, width) table picked by `indices`, shaped `out_shape + [width]`.
    pub fn gather_rows(&self, indices: &[usize], out_shape: &[usize]) -> Result<Var> {
        let table = self.value();
        let picked = table.gather_rows(indices)?;
        let (rows, width) = (table.shape()[0], table.shape()[1]);
        let mut shape = out_shape.to_vec();
        shape.push(width);
        let y = picked.reshape(shape)?;
        let indices = indices.to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| {
                let g = g.reshape([indices.len(), width])?;
                Ok(vec![Some(g.scatter_add_rows(&indices, rows)?)])
            }),
        ))
    }
}
