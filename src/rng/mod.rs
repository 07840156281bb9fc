//! Random numbers: a seeded PCG stream per chain and a vectorised
//! standard-normal generator on top of it.

mod normal;
mod pcg;

pub use normal::{fill_normals, for_each_normal_block, NormalBlocks, NORMAL_BLOCK};
pub use pcg::Rng;
