//! Stored history read back.
