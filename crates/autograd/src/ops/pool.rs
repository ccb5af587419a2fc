//! Max and average pooling over 1, 2 or 3 spatial axes, one tape node each: max routes each
//! gradient to its window's winner, average shares it among the window's real cells.

use crate::{Result, Var};
use krust_tensor::pool::{avg_pool, avg_pool_backward, max_pool, max_pool_backward};
use krust_tensor::{Pool2dSpec, PoolSpec};

impl Var {
    /// Max pooling of (n, [d,] [h,] w, c) with one pool size and stride per spatial axis.
    pub fn max_pool(&self, spec: PoolSpec) -> Result<Var> {
        let x = self.value();
        let (y, argmax) = max_pool(&x, &spec)?;
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(max_pool_backward(&shape, &argmax, g)?)])),
        ))
    }

    /// Average pooling of (n, [d,] [h,] w, c); padded cells are not counted (Keras).
    pub fn avg_pool(&self, spec: PoolSpec) -> Result<Var> {
        let x = self.value();
        let y = avg_pool(&x, &spec)?;
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(avg_pool_backward(&shape, g, &spec)?)])),
        ))
    }

    /// `max_pool` of (n, h, w, c) with a 2-D spec.
    pub fn max_pool2d(&self, spec: Pool2dSpec) -> Result<Var> {
        self.max_pool(spec.into())
    }

    /// `avg_pool` of (n, h, w, c) with a 2-D spec.
    pub fn avg_pool2d(&self, spec: Pool2dSpec) -> Result<Var> {
        self.avg_pool(spec.into())
    }
}
