//! The C ABI (`rak_*`): argument checks, panic barrier, error mapping. No logic.
