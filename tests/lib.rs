//! The end-to-end test crate: one binary with every suite as a module (it links once).

pub use nats_process as harness;

#[cfg(test)]
mod access;
#[cfg(test)]
mod analytics;
#[cfg(test)]
mod app;
#[cfg(test)]
mod backup;
#[cfg(test)]
mod cli;
#[cfg(test)]
mod cluster;
#[cfg(test)]
mod commands;
#[cfg(test)]
mod conformance;
#[cfg(test)]
mod dashboard;
#[cfg(test)]
mod e2e;
#[cfg(test)]
mod erasure;
#[cfg(test)]
mod exports;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod hygiene;
#[cfg(test)]
mod jetstream;
#[cfg(test)]
mod openapi;
#[cfg(test)]
mod pages;
#[cfg(test)]
mod problems;
#[cfg(test)]
mod projector;
#[cfg(test)]
mod receipts;
#[cfg(test)]
mod retro;
#[cfg(test)]
mod roles;
#[cfg(test)]
mod schemathesis;
#[cfg(test)]
mod security;
#[cfg(test)]
mod served_schema;
#[cfg(test)]
mod signing;
#[cfg(test)]
mod stream;
#[cfg(test)]
mod tamper;
#[cfg(test)]
mod tls;
