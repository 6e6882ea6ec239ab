//! The `.net` scenario language.
