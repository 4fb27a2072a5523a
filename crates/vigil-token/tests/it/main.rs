//! vigil-token's integration tests, one test binary: the attack table, defaults and JWKS.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod attacks;
mod common;
mod defaults;
mod jwks;
