//! Random numbers: a seeded PCG stream per chain, SplitMix64 streams split
//! off it for bulk words, and a vectorised standard-normal generator on top.

mod normal;
mod pcg;
mod splitmix;

pub use normal::{fill_normals, for_each_normal_block, NormalBlocks, NORMAL_BLOCK};
pub use pcg::Rng;
pub use splitmix::WordBlocks;
