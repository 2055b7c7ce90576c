//! The suites. Each is written once for both protocol versions.

pub mod attack;
pub mod behaviour;
pub mod corpus;
pub mod load;
