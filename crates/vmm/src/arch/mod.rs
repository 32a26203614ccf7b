//! Guest architecture support. Only x86_64 guests so far; aarch64 (for HVF) comes with that backend.

pub mod x86_64;
