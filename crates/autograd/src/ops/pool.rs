//! 2-D max and average pooling: max routes each gradient to its window's winner, average
//! shares it among the window's real cells.

use crate::{Result, Var};
use krust_tensor::pool::{avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward};
use krust_tensor::Pool2dSpec;

impl Var {
    pub fn max_pool2d(&self, spec: Pool2dSpec) -> Result<Var> {
        let x = self.value();
        let (y, argmax) = max_pool2d(&x, &spec)?;
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(max_pool2d_backward(&shape, &argmax, g)?)])),
        ))
    }

    pub fn avg_pool2d(&self, spec: Pool2dSpec) -> Result<Var> {
        let x = self.value();
        let y = avg_pool2d(&x, &spec)?;
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(avg_pool2d_backward(&shape, g, &spec)?)])),
        ))
    }
}
