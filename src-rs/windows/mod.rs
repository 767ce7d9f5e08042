//! `mio::windows`: named pipes.

pub mod named_pipe;
