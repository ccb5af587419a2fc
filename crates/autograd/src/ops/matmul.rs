//! Matrix product and the fused dense (x·W + b) op.

use crate::{Result, Var};

impl Var {
    /// `(..., k) · (k, n)`: dA = g·Bᵀ, dB = Aᵀ·g (leading axes of A folded into rows).
    pub fn matmul(&self, w: &Var) -> Result<Var> {
        self.dense(w, None)
    }

    /// `x·W + b` in one node, so the bias gradient is a column sum of g.
    pub fn dense(&self, w: &Var, b: Option<&Var>) -> Result<Var> {
        let (x, wv) = (self.value(), w.value());
        let mut y = x.matmul(&wv)?;
        if let Some(b) = b {
            y = y.add(&b.value_ref())?;
        }
        let (need_x, need_w) = (self.requires_grad(), w.requires_grad());
        let has_b = b.is_some();
        let mut parents = vec![self, w];
        if let Some(b) = b {
            parents.push(b);
        }
        Ok(Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let k = wv.shape()[0];
                let n = wv.shape()[1];
                let g2 = g.reshape([g.numel() / n.max(1), n])?;
                let dx = if need_x {
                    Some(g.matmul_ex(false, &wv, true)?.reshape(x.shape().to_vec())?)
                } else {
                    None
                };
                let dw = if need_w {
                    let x2 = x.reshape([x.numel() / k.max(1), k])?;
                    Some(x2.matmul_ex(true, &g2, false)?)
                } else {
                    None
                };
                let mut out = vec![dx, dw];
                if has_b {
                    out.push(Some(g2.column_sums()?));
                }
                Ok(out)
            }),
        ))
    }
}
