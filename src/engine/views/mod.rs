//! What the app and the CLI show, each built from the quantizer, statistics and observers: one
//! tensor's analysis ([`analysis`]), the Explorer's view and session ([`explore`]), observer
//! dynamics over batches ([`dynamics`]), the layer table ([`inspect`]), exports ([`export`]), and
//! the resumable jobs that compute them in bounded steps ([`jobs`]).

pub mod analysis;
pub mod dynamics;
pub mod explore;
pub mod formats;
pub mod export;
pub mod inspect;
pub mod jobs;
