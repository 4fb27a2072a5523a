//! The `vigil` binary's integration tests, one test binary: each module drives the real binary
//! (`CARGO_BIN_EXE_vigil`) against real git repositories, servers and clients it starts itself.

#![allow(clippy::disallowed_methods)] // Tests and benchmarks write their fixtures directly.

mod common;
mod gw;

mod cli;
mod env;
mod gateway;
mod git;
mod git_cache;
mod git_trust;
mod gitleaks_config;
mod hooks;
mod lint;
mod memory;
mod redact;
mod scan;
mod scan_bb9;
mod scan_evasion;
mod scan_paths;
mod seal;
mod token;
