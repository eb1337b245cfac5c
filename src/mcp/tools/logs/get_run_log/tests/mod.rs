//! Reads against the simulated KubeSphere.

mod read;
mod upstream;
