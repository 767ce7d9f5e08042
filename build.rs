fn main() {
  napi_build::setup();
  // mio's two "unsupported" backends are chosen with these cfg flags in
  // RUSTFLAGS (scripts/build.mjs, NODE_MIO_BACKEND); they reach this crate
  // too, which gates what the poll(2) selector lacks (see src-rs/backend.rs).
  println!("cargo::rustc-check-cfg=cfg(mio_unsupported_force_poll_poll)");
  println!("cargo::rustc-check-cfg=cfg(mio_unsupported_force_waker_pipe)");
}
