//! Number formats beside the integer grid: the element types of FP8, FP6 and FP4
//! ([`minifloat`]), on which the block formats (MX, NVFP4) and the other formats people quantize
//! language models to build. Each is checked bit for bit against its reference
//! (tests/golden/formats/).

pub mod minifloat;
