//! The modeled Linux network stack.
