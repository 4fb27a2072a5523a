//! vigil-memory's integration tests, one test binary: the attack suite and the stdio line transport.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod attacks;
mod lines;
